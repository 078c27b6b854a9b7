#!/usr/bin/env bash
# ThreadSanitizer over the concurrency-heavy suites (part of `make test`): the SIP endpoint, the
# webhook dispatcher and outbox, and the porting workflow (shards on two threads, two nodes on
# one database). Any report fails the run. Cases that start the `portline` binary are left to
# the ASan run, so this tree builds the libraries and these three tests only.
# PORTLINE_TEST_PG_DSN, when set, runs the PostgreSQL cases too.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$(nproc)" --target sip_endpoint_test webhooks_test \
  port_lifecycle_test
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
run() {
  local t=$1 filter=$2 start
  start=$(date +%s)
  "build/tsan/tests/$t" --gtest_filter="$filter" --gtest_brief=1 >"build/tsan/$t.log" 2>&1 || {
    tail -n 80 "build/tsan/$t.log"
    echo "tsan: $t failed (build/tsan/$t.log)"
    exit 1
  }
  echo "tsan: $t passed in $(($(date +%s) - start)) s"
}
run sip_endpoint_test '*'
run webhooks_test '*-*Cli*:WebhooksServer.*'
run port_lifecycle_test '*'
