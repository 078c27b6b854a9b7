#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on 127.0.0.1 for tests and benchmarks.
#   scripts/pg-test.sh start DIR   -> starts it, prints the DSN (postgres://…) on stdout
#   scripts/pg-test.sh stop DIR    -> stops it and removes DIR
#   scripts/pg-test.sh pause DIR   -> stops the server, keeps its data (outage tests; a fast
#                                     shutdown, so commits made with synchronous_commit=off survive)
#   scripts/pg-test.sh resume DIR  -> starts it again on the same port
# Works as root (runs the server as the 'postgres' user, which initdb requires) or as a user.
set -euo pipefail
cmd=${1:?usage: pg-test.sh start|stop|pause|resume DIR}
dir=${2:?usage: pg-test.sh start|stop|pause|resume DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "pg-test: PostgreSQL server binaries not found" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    echo "$port" > "$dir/port"
    "$0" resume "$dir"
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  resume)
    port=$(cat "$dir/port")
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    ;;
  pause)
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  stop)
    if [ -d "$dir/data" ]; then
      as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg-test.sh start|stop|pause|resume DIR" >&2
    exit 2
    ;;
esac
