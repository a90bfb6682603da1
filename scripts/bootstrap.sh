#!/usr/bin/env bash
# Installs the system packages the build and the tests need (Debian). As root it installs what
# is missing; otherwise it prints the exact apt-get line and fails.
set -euo pipefail

packages=(
  libsqlite3-dev   # embedded store
  libssl-dev       # MTProto crypto (Telegram plugin)
  zlib1g-dev       # gzip_packed, permessage-deflate
  gcc              # the C example plugin and the test plugins compiled by the tests
  python3 python3-pip python3-venv  # independent real clients in the tests (python-socketio, schemathesis, Telethon)
  wrk              # HTTP load generator for `make bench`
  sqlite3          # inspecting the store by hand
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "bootstrap: missing system packages; run:"
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
  exit 1
fi
