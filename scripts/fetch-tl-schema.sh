#!/usr/bin/env bash
# Fetches Telegram's TL schema at layer 201 (main_api.tl) and the MTProto service schema
# (auth_key.tl, sys_msgs.tl) from the kurigram 2.2.0 source package on PyPI, checks the package's
# sha256, and extracts the three files into plugins/telegram/schema/ (used by `make tl`).
set -euo pipefail
cd "$(dirname "$0")/.."

version=2.2.0
sha256=d644316ce64c7ecbca57052e646ae63a0ef251afc6957db767012456f040c02d
target=plugins/telegram/schema
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m pip download --quiet --no-deps --no-binary :all: "kurigram==$version" -d "$work"
archive="$work/kurigram-$version.tar.gz"
echo "$sha256  $archive" | sha256sum --check --quiet || {
  echo "fetch-tl-schema: $archive does not have the expected sha256 $sha256" >&2
  exit 1
}
mkdir -p "$target"
for file in main_api.tl auth_key.tl sys_msgs.tl; do
  tar -xzf "$archive" -O "kurigram-$version/compiler/api/source/$file" > "$target/$file"
done
echo "fetch-tl-schema: $(grep -c ';' "$target/main_api.tl") declarations of layer 201 in $target/main_api.tl"
