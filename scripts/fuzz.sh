#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (preset `fuzz`) and runs each one.
#   scripts/fuzz.sh --smoke SECONDS   each target for SECONDS (make test uses 15)
# The checked-in corpus seeds each run; new inputs go to a scratch copy, not the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=20
if [ "${1:-}" = "--smoke" ]; then
  seconds=${2:-20}
fi
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
for target in http_request_fuzz destination_fuzz sip_message_fuzz sip_uri_fuzz sdp_fuzz upload_fuzz \
  webhook_response_fuzz smtp_reply_fuzz lnp_csv_fuzz; do
  scratch=$(mktemp -d /tmp/portline-fuzz-XXXXXX)
  cp -r "tests/fuzz/corpus/${target%_fuzz}/." "$scratch/"
  echo "fuzz: $target for ${seconds}s"
  "build/fuzz/tests/fuzz/$target" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
    -print_final_stats=1 "$scratch" 2>"$scratch.log" || { tail -n 60 "$scratch.log"; exit 1; }
  grep -E '^stat::number_of_executed_units' "$scratch.log" || true
  rm -rf "$scratch" "$scratch.log"
done
