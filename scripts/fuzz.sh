#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (preset `fuzz`) and runs each one.
#   scripts/fuzz.sh --smoke SECONDS   each target for SECONDS (make test uses 10)
# The checked-in corpus seeds each run; new inputs go to a scratch copy, not the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=20
if [ "${1:-}" = "--smoke" ]; then
  seconds=${2:-20}
fi
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
# One target: seeds from the checked-in corpus, new inputs to a scratch copy.
fuzz_one() {
  local target=$1 seconds=$2 scratch
  scratch=$(mktemp -d /tmp/portline-fuzz-XXXXXX)
  cp -r "tests/fuzz/corpus/${target%_fuzz}/." "$scratch/"
  if ! "build/fuzz/tests/fuzz/$target" -max_total_time="$seconds" -max_len=65536 \
    -rss_limit_mb=2048 -print_final_stats=1 "$scratch" 2>"$scratch.log"; then
    tail -n 60 "$scratch.log"
    echo "fuzz: $target FAILED"
    return 1
  fi
  echo "fuzz: $target for ${seconds}s, $(grep -oP '^stat::number_of_executed_units: \K[0-9]+' \
    "$scratch.log") inputs"
  rm -rf "$scratch" "$scratch.log"
}
export -f fuzz_one
# As many targets at once as there are cores.
printf '%s\n' http_request_fuzz destination_fuzz sip_message_fuzz sip_uri_fuzz sdp_fuzz upload_fuzz \
  webhook_response_fuzz smtp_reply_fuzz lnp_csv_fuzz |
  xargs -P "$(nproc)" -I{} bash -c 'fuzz_one "$1" "$2"' _ {} "$seconds"
