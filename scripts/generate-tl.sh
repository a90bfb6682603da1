#!/usr/bin/env bash
# Regenerates the Swift TL types (committed) from the schema fetched by fetch-tl-schema.sh:
# TelegramAPI from main_api.tl (layer 201), MTProtoTL from the service schema, and the random-value
# support of the round-trip property tests.
set -euo pipefail
cd "$(dirname "$0")/../plugins/telegram"
swift build --product tl-gen
gen="$(swift build --show-bin-path)/tl-gen"
"$gen" --root Api --module TelegramAPI --output Sources/TelegramAPI/Generated \
  --random-output Tests/TLTests/Generated/Api schema/main_api.tl
"$gen" --root MT --module MTProtoTL --output Sources/MTProtoTL/Generated \
  --random-output Tests/TLTests/Generated/MT schema/auth_key.tl schema/sys_msgs.tl TL/future_salts.tl
