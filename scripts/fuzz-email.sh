#!/usr/bin/env bash
# Fuzzes the email plugin's MIME parsing (libetpan through plugins/email's CEmail) with libFuzzer
# and AddressSanitizer for a bounded time (default 60 s), seeded with plugins/email/Fuzz/seeds
# (which include an input that made libetpan read past a buffer before CEmail padded it). Fails
# on any crash, memory error, single input over 10 s, or more than 2 GB.
set -euo pipefail
seconds=${1:-60}
cd "$(dirname "$0")/../plugins/email"
mkdir -p .build-fuzz
clang -g -O1 -fsanitize=fuzzer,address -I Sources/CEmail/include Fuzz/mime_fuzz.c Sources/CEmail/mime.c \
  -letpan -o .build-fuzz/mime-fuzz 2> >(grep -v "Cannot export local symbol" >&2)
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp Fuzz/seeds/* "$corpus/"
.build-fuzz/mime-fuzz -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$corpus"
