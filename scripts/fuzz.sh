#!/usr/bin/env bash
# Fuzzes the TL deserializer and the transport/session/handshake decoders with libFuzzer for a
# bounded time (default 60 s): builds plugins/telegram's mtproto-fuzz with -sanitize=fuzzer in
# its own build folder, seeds one input per decoder, and fails on any crash, leak of time (a
# single input over 10 s) or memory (over 2 GB).
set -euo pipefail
seconds=${1:-60}
cd "$(dirname "$0")/../plugins/telegram"
swift build --scratch-path .build-fuzz --product mtproto-fuzz \
  -Xswiftc -sanitize=fuzzer -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
for selector in 0 1 2 3 4 5 6 7; do printf "\\x0$selector" > "$corpus/seed-$selector"; done
.build-fuzz/debug/mtproto-fuzz -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$corpus"
