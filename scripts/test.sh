#!/usr/bin/env bash
# `make test`: ASan+UBSan build (with the layering check), clang-tidy on changed files, every ctest suite against SQLite and a throwaway PostgreSQL
# (started here, so the PostgreSQL tests can never be skipped), then a fuzz smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

cmake --preset ci >/dev/null
cmake --build --preset ci -j "$(nproc)"
scripts/tidy.sh build/ci

pgdir=$(mktemp -d /tmp/portline-pg-XXXXXX)
trap 'scripts/pg-test.sh stop "$pgdir"' EXIT
PORTLINE_TEST_PG_DSN=$(scripts/pg-test.sh start "$pgdir")
export PORTLINE_TEST_PG_DSN PORTLINE_REQUIRE_PG=1
echo "test: PostgreSQL at $PORTLINE_TEST_PG_DSN"

ctest --preset ci
scripts/tsan.sh

scripts/fuzz.sh --smoke "${PORTLINE_FUZZ_SECONDS:-10}"
echo "test: all suites passed in $(( $(date +%s) - start )) s"
