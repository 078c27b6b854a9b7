#!/usr/bin/env bash
# `make bench`: HTTP throughput and latency of the release binary, with the physical floor
# measured in the same run. Server pinned to CPU 0, load generator to CPU 1 (2-core box).
# Writes build/bench/results.md (copy the numbers into docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-64}
cmake --build --preset release -j "$(nproc)" --target epoll_floor fixed_rate lnp_bench port_bench sip_bench webhook_bench portline >/dev/null
bin=build/portline
floor=build/release/bench/epoll_floor
fixed=build/release/bench/fixed_rate
mkdir -p build/bench
out=build/bench/results.md
work=$(mktemp -d /tmp/portline-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${pgdir:-}" ] && scripts/pg-test.sh stop "$pgdir"
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wrk_rps() {  # wrk_rps PORT PATH [HEADER] -> "rps p50 p99"
  local port=$1 path=$2 header=${3:-}
  local args=(-t1 -c"$conns" -d"${secs}s" --latency)
  [ -n "$header" ] && args+=(-H "$header")
  taskset -c 1 wrk "${args[@]}" "http://127.0.0.1:$port$path" >"$work/wrk.txt"
  if grep -q "Non-2xx" "$work/wrk.txt"; then echo "wrk saw errors:" >&2; cat "$work/wrk.txt" >&2; exit 1; fi
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$work/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/wrk.txt")
  echo "$rps $p50 $p99"
}
start_portline() {  # start_portline NAME [ENV...] -> sets port
  local name=$1; shift
  env "$@" PORTLINE_RATE_LIMIT_PER_SECOND=0 PORTLINE_LOG_LEVEL=warn \
    taskset -c 0 "$bin" serve --listen 127.0.0.1:0 >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 1 100); do
    grep -q "listening on" "$work/$name.out" 2>/dev/null && break
    sleep 0.1
  done
  port=$(sed -n 's/.*127.0.0.1:\([0-9]*\)$/\1/p' "$work/$name.out")
  [ -n "$port" ] || { cat "$work/$name.err" >&2; exit 1; }
}

echo "bench: floor"
fport=$(free_port)
taskset -c 0 "$floor" "$fport" & pids+=($!)
sleep 0.3
read -r floor_rps floor_p50 floor_p99 <<<"$(wrk_rps "$fport" /)"
floor_fixed=$(taskset -c 1 "$fixed" "$fport" 10000 "$secs" 32 /)

echo "bench: portline (SQLite)"
data="$work/data"
start_portline sqlite PORTLINE_DATA_DIR="$data" PORTLINE_ACCESS_LOG=false
key=$(PORTLINE_DATA_DIR="$data" "$bin" key create --org default --name bench)
auth="Authorization: Bearer $key"
read -r hz_rps hz_p50 hz_p99 <<<"$(wrk_rps "$port" /healthz)"
read -r db_rps db_p50 db_p99 <<<"$(wrk_rps "$port" /v1/organization "$auth")"
hz_fixed=$(taskset -c 1 "$fixed" "$port" 10000 "$secs" 32 /healthz)
db_fixed=$(taskset -c 1 "$fixed" "$port" 10000 "$secs" 32 /v1/organization "$auth")
sqlite_port=$port

echo "bench: portability check of 10,000 numbers over HTTP"
/usr/bin/python3 -c '
import json, random
random.seed(7)
nums = ["+1%d%d%04d" % (random.choice([212, 310, 415, 604, 646, 718, 917]), random.randint(200, 999), random.randint(0, 9999)) for _ in range(10000)]
print(json.dumps({"phone_numbers": nums}))' > "$work/check10k.json"
check_times=()
for _ in $(seq 1 30); do
  t=$(curl -s -o "$work/check.out" -w '%{time_total}' -X POST "http://127.0.0.1:$port/v1/sip/port/check" \
      -H "$auth" -H 'Content-Type: application/json' --data-binary @"$work/check10k.json")
  check_times+=("$t")
done
grep -q '"total":10000' "$work/check.out" || { echo "check failed" >&2; head -c 300 "$work/check.out" >&2; exit 1; }
check_line=$(printf '%s\n' "${check_times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "p50 %.1f ms, p99 (max of 30) %.1f ms", a[int(NR*0.5)]*1000, a[NR]*1000}')

echo "bench: portline with access log on"
start_portline logged PORTLINE_DATA_DIR="$work/data2" PORTLINE_ACCESS_LOG=true
read -r log_rps log_p50 log_p99 <<<"$(wrk_rps "$port" /healthz)"
kill "${pids[-1]}"

pg_line="| GET /v1/organization, PostgreSQL (auth + 2 reads) | not run (no PostgreSQL) | | | |"
if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
  echo "bench: portline (PostgreSQL)"
  pgdir=$(mktemp -d /tmp/portline-bench-pg-XXXXXX)
  dsn=$(scripts/pg-test.sh start "$pgdir")
  start_portline pg PORTLINE_DATABASE_URL="$dsn" PORTLINE_ACCESS_LOG=false
  pkey=$(PORTLINE_DATABASE_URL="$dsn" "$bin" key create --org default --name bench)
  read -r pg_rps pg_p50 pg_p99 <<<"$(wrk_rps "$port" /v1/organization "Authorization: Bearer $pkey")"
  pg_line="| GET /v1/organization, PostgreSQL (auth + 2 reads; PG unpinned) | $pg_rps | $pg_p50 | $pg_p99 | $(awk -v a="$pg_rps" -v b="$floor_rps" 'BEGIN{printf "%.2f", a/b}') |"
fi

ratio() { awk -v a="$1" -v b="$floor_rps" 'BEGIN{printf "%.2f", a/b}'; }
{
  echo "Run: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(uname -r), $(g++ --version | head -1)"
  echo "CPU: $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //'), $(nproc) cores; server on CPU 0, load on CPU 1; wrk -t1 -c$conns -d${secs}s"
  echo
  echo "| Peak (wrk) | req/s | p50 | p99 | × floor |"
  echo "|---|---|---|---|---|"
  echo "| epoll floor (same body as /healthz) | $floor_rps | $floor_p50 | $floor_p99 | 1.00 |"
  echo "| GET /healthz | $hz_rps | $hz_p50 | $hz_p99 | $(ratio "$hz_rps") |"
  echo "| GET /healthz, access log on | $log_rps | $log_p50 | $log_p99 | $(ratio "$log_rps") |"
  echo "| GET /v1/organization, SQLite (auth + 2 reads) | $db_rps | $db_p50 | $db_p99 | $(ratio "$db_rps") |"
  echo "$pg_line"
  echo
  echo "Fixed rate (bench/fixed_rate, 32 connections, latency from each request's due time):"
  echo
  echo "- epoll floor: $floor_fixed"
  echo "- GET /healthz: $hz_fixed"
  echo "- GET /v1/organization (SQLite): $db_fixed"
  echo
  echo "POST /v1/sip/port/check with 10,000 numbers (30 sequential requests, curl time_total): $check_line (goal <= 50 ms p99)"
  echo
  echo "LNP engine (bench/lnp_bench, 100M ported numbers):"
  echo
  echo '```'
  taskset -c 0 build/release/bench/lnp_bench "${LNP_BENCH_NUMBERS:-100000000}"
  echo '```'
  echo
  echo "Port requests (bench/port_bench; PostgreSQL when it could be started):"
  echo
  bench_pg=""
  if [ -n "${dsn:-}" ]; then
    /usr/bin/psql "$dsn" -qc "CREATE DATABASE portbench" >/dev/null 2>&1 || true
    bench_pg="${dsn%/*}/portbench"
  fi
  PORTLINE_BENCH_PG_DSN="$bench_pg" PORTLINE_LOG_LEVEL=warn \
    build/release/bench/port_bench "${PORT_BENCH_REQUESTS:-1000000}" 2>/dev/null
  echo
  echo "SIP (bench/sip_bench; responder on CPU 0, client on CPU 1):"
  echo
  build/release/bench/sip_bench "${SIP_BENCH_SECONDS:-5}"
  echo
  bench_pg=""
  if [ -n "${dsn:-}" ]; then
    /usr/bin/psql "$dsn" -qc "CREATE DATABASE whbench" >/dev/null 2>&1 || true
    bench_pg="${dsn%/*}/whbench"
  fi
  PORTLINE_BENCH_PG_DSN="$bench_pg" build/release/bench/webhook_bench "${WEBHOOK_BENCH_SECONDS:-5}" 2>/dev/null
} | tee "$out"
