#!/usr/bin/env bash
# Installs the system packages the build and the tests need (Debian). As root it installs what
# is missing; otherwise it prints the exact apt-get line and fails.
set -euo pipefail

packages=(
  libsqlite3-dev   # embedded store
  postgresql       # the PostgreSQL store's tests start a throwaway server (initdb + pg_ctl; Debian 12: 15)
  libssl-dev       # MTProto crypto (Telegram plugin)
  zlib1g-dev       # gzip_packed, permessage-deflate
  libetpan-dev libcurl4-gnutls-dev   # email plugin: IMAP and MIME (libetpan), SMTP (libcurl; libetpan-dev needs its GnuTLS flavour)
  dovecot-imapd    # the email tests' IMAP server (started by Tests/email with its own config)
  gcc              # the C example plugin and the test plugins compiled by the tests
  wrk              # HTTP load generator for `make bench`
  sqlite3          # inspecting the store by hand
  libqrencode-dev  # QR codes for Telegram QR login in the console
  redis-server libhiredis-dev   # the hub's Redis adapter (cluster mode) and its tests
  rabbitmq-server librabbitmq-dev   # RabbitMQ publishing of events (librabbitmq) and its tests' broker
  chromium chromium-driver   # the console's browser tests (Tests/console)
  tesseract-ocr tesseract-ocr-eng zbar-tools fonts-dejavu-core   # reading their screenshots back
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

# Independent real clients in the tests (python-socketio, schemathesis) run on any Python 3.
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-pip)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)

if ((${#missing[@]} > 0)); then
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
fi

# Python clients used by the tests and benchmarks (PyPI), installed once per requirements change.
cd "$(dirname "$0")/.."
mkdir -p .build
requirements=$( (cat Tests/*/requirements.txt Benchmarks/*/requirements.txt 2>/dev/null || true) | (grep -v '^#' || true) | sort -u)
stamp=.build/python-requirements.installed
if [[ -n "$requirements" ]] && [[ "$(cat "$stamp" 2>/dev/null)" != "$requirements" ]]; then
  echo "bootstrap: installing Python test clients"
  printf '%s\n' "$requirements" > .build/python-requirements.txt
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -r .build/python-requirements.txt
  printf '%s' "$requirements" > "$stamp"
fi
exit 0
