#!/usr/bin/env bash
# The Redis cache and the read replica under load, each against its baseline in the same run
# on the same stack and data:
#   - cached P&L reports (wrk, a hot set of organizations, all hits after a warm-up) against
#     the same requests uncached, and against redis-benchmark GET on the same Redis (TLS,
#     same client count). Target: cached >= 0.5 x redis-benchmark GET.
#   - uncached P&L reports served by the streaming replica (through PgBouncer) against the
#     same requests served by the primary.
#
#   bench/cache_bench.sh [--orgs N] [--hot-orgs H] [--connections C] [--seconds S] [--workers W]
#
# Uses the stack in $FOLIO_STACK_DIR when set (its folio database is re-seeded!), otherwise
# starts one in a temporary directory and stops it afterwards. Needs a release build.
set -euo pipefail
cd "$(dirname "$0")/.."

orgs=2000 hot=100 connections=50 seconds=15 workers=1
while [ $# -gt 0 ]; do
  case $1 in
    --orgs) orgs=$2; shift 2 ;;
    --hot-orgs) hot=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_folioctl
bench_server
command -v redis-benchmark >/dev/null || { echo "redis-benchmark (redis-tools) is missing" >&2; exit 1; }

bench_stack_up
work=$(mktemp -d /tmp/folio-cache-bench.XXXXXX)
server_pid=""
stop_server() {
  [ -z "$server_pid" ] || { kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
  server_pid=""
}
cleanup() {
  stop_server
  rm -rf "$work"
  bench_stack_down
}
trap cleanup EXIT

echo "== data: $orgs organizations, 20 rows each over 12 months (legacy tables)" >&2
bench_reseed "$orgs"
psql "$DATABASE_DIRECT_URL" -XqAt -c "VACUUM ANALYZE" >/dev/null
token=$("$folioctl" token create --admin --label bench --database-url "$DATABASE_DIRECT_URL")
port=$(bench_free_port)

# start_server REPLICA_URLS REDIS_URL: folio-server on the stack, waiting until it is ready
# (and, with replicas, until the replica is in rotation).
start_server() {
  REPLICA_URLS=$1 REPLICA_HEALTH_URLS=$([ -n "$1" ] && echo "$REPLICA_HEALTH_URLS") REDIS_URL=$2 \
    "$server_bin" --listen "127.0.0.1:$port" --workers "$workers" --pool-size 16 \
    --log-level warn >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/readyz" >"$work/ready.json" 2>/dev/null &&
      { [ -z "$1" ] || grep -q '"replicas_in_rotation":1' "$work/ready.json"; }; then
      return 0
    fi
    sleep 0.2
  done
  cat "$work/server.log" >&2
  exit 1
}

# run_wrk SCRIPT ORGS: requests/s of folio-server; non-2xx responses are reported.
run_wrk() {
  BENCH_ORGS=$2 BENCH_TOKEN=$token wrk -t2 -c"$connections" -d"${seconds}s" \
    -s "bench/api/$1.lua" "http://127.0.0.1:$port" >"$work/wrk.txt"
  if grep -q 'Non-2xx' "$work/wrk.txt"; then echo "wrk $1: $(grep 'Non-2xx' "$work/wrk.txt")" >&2; fi
  awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt"
}
metric() { curl -fsS "http://127.0.0.1:$port/metrics" | awk -v s="$1" '$1 == s {print $2}'; }

echo "== redis-benchmark GET, $connections clients, TLS" >&2
redis-benchmark --tls --cacert "$REDIS_CA_FILE" -h 127.0.0.1 -p "$REDIS_PORT" -a "$REDIS_PASSWORD" \
  -t set,get -c "$connections" -n 300000 -d 400 -q 2>/dev/null | tr '\r' '\n' >"$work/redis.txt"
redis_rps=$(awk '/^GET:/ {print $2}' "$work/redis.txt" | tail -n 1)

echo "== cached P&L: folio-server with Redis, $hot hot organizations" >&2
start_server "" "$REDIS_URL"
BENCH_ORGS=$hot BENCH_TOKEN=$token wrk -t1 -c4 -d2s -s bench/api/pnl_report.lua \
  "http://127.0.0.1:$port" >/dev/null
cached=$(run_wrk pnl_report "$hot")
hits=$(metric 'folio_cache_requests_total{kind="pnl",result="hit"}')
misses=$(metric 'folio_cache_requests_total{kind="pnl",result="miss"}')
rss_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status")
stop_server

echo "== uncached P&L: the same requests, no Redis, primary only" >&2
start_server "" ""
uncached=$(run_wrk pnl_report "$hot")
echo "== uncached P&L over all $orgs organizations: primary" >&2
primary=$(run_wrk pnl_report "$orgs")
stop_server

echo "== uncached P&L over all $orgs organizations: replica in rotation" >&2
start_server "$REPLICA_URLS" ""
replica=$(run_wrk pnl_report "$orgs")
replica_reads=$(metric 'folio_db_reads_total{target="replica"}')
primary_reads=$(metric 'folio_db_reads_total{target="primary"}')
stop_server

printf '\n%-34s %12s\n' path requests/s
printf '%-34s %12.0f\n' "redis-benchmark GET" "$redis_rps" "cached P&L (hot set)" "$cached" \
  "uncached P&L (hot set)" "$uncached" "uncached P&L, primary" "$primary" \
  "uncached P&L, replica" "$replica"
awk -v c="$cached" -v r="$redis_rps" -v u="$uncached" -v p="$primary" -v q="$replica" 'BEGIN {
  printf "cached / redis-benchmark GET: %.2f (target >= 0.5)\n", c / r
  printf "cached / uncached:            %.2f\n", c / u
  printf "replica / primary:            %.2f\n", q / p }'
echo "cache hits $hits, misses $misses; replica run: reads on replica $replica_reads, on primary ${primary_reads:-0}"
awk -v kb="$rss_kb" 'BEGIN {printf "folio-server peak RSS (cached run): %.1f MB\n", kb / 1024}'
