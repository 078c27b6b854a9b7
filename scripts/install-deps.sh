#!/usr/bin/env bash
# Installs every Debian package Portline needs to build, test and benchmark. Idempotent: when all
# packages are already present it does nothing (no apt-get update, no network).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache git clang libclang-rt-14-dev
  clang-format clang-tidy
  # libraries (Boost 1.81 conflicts with 1.74: never add libphonenumber-dev)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libpq-dev libssl-dev libsodium-dev libexpected-dev
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # real parts used by tests and benchmarks
  postgresql postgresql-contrib sqlite3 curl wrk python3 python3-phonenumbers procps util-linux
  # SIP: c-ares for RFC 3263; real peers and a DNS server for the interop tests
  libc-ares-dev openssl sip-tester kamailio kamailio-tls-modules dnsmasq-base
  # documents: LOA PDFs, zlib for uploaded PDFs' object streams, pdftotext to check them in tests
  libhpdf-dev poppler-utils zlib1g-dev
  # mail tests: a real SMTP server on loopback
  python3-aiosmtpd
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
