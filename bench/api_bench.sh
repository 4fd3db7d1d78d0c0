#!/usr/bin/env bash
# The services under load: wrk against folio-server's create-revenue and P&L-report endpoints,
# beside pgbench running the same SQL (bench/api/*.sql, one pipeline per request like the
# repositories) directly against PgBouncer, in the same run on the same data, after a full
# cutover (routing on the partitioned tables, the sync still on). Reports requests/s, the
# ratios (targets: writes >= 0.7, uncached reads >= 0.8) and the server's peak RSS
# (target <= 100 MB).
#
#   bench/api_bench.sh [--orgs N] [--connections C] [--seconds S] [--workers W]
#
# C is the server's pool size (per worker) and pgbench's client count; wrk keeps 2*C
# connections open. Uses the stack in $FOLIO_STACK_DIR when set (its folio database is
# re-seeded!), otherwise starts one in a temporary directory and stops it afterwards. Needs
# a release build (cmake --preset release && cmake --build --preset release).
set -euo pipefail
cd "$(dirname "$0")/.."

orgs=2000 connections=16 seconds=20 workers=1
while [ $# -gt 0 ]; do
  case $1 in
    --orgs) orgs=$2; shift 2 ;;
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

bench_stack_up
work=$(mktemp -d /tmp/folio-api-bench.XXXXXX)
server_pid=""
cleanup() {
  [ -z "$server_pid" ] || { kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
  rm -rf "$work"
  bench_stack_down
}
trap cleanup EXIT

echo "== data: $orgs organizations, 20 rows each over 12 months; full cutover" >&2
bench_reseed "$orgs"
scripts/switchover_to_partitioned.sh --yes --folioctl "$folioctl" \
  --database-url "$DATABASE_DIRECT_URL" >"$work/switchover.log" 2>&1 ||
  { cat "$work/switchover.log" >&2; exit 1; }
psql "$DATABASE_DIRECT_URL" -XqAt -c "VACUUM ANALYZE" >/dev/null

token=$("$folioctl" token create --admin --label bench --database-url "$DATABASE_DIRECT_URL")
# The primary only and no cache: this measures the uncached path (bench/cache_bench.sh has
# the replicas and the cache).
bench_start_server "$work/server.log" --pool-size "$connections" --workers "$workers" || exit 1

# wrk: requests/s; non-2xx responses count as failures.
run_wrk() {
  BENCH_ORGS=$orgs BENCH_TOKEN=$token wrk -t2 -c$((connections * 2)) -d"${seconds}s" \
    -s "bench/api/$1.lua" "http://127.0.0.1:$port" >"$work/wrk-$1.txt"
  if grep -q 'Non-2xx' "$work/wrk-$1.txt"; then
    echo "wrk $1: $(grep 'Non-2xx' "$work/wrk-$1.txt")" >&2
    cat "$work/server.log" | tail -n 5 >&2
  fi
  awk '/^Requests\/sec/ {print $2}' "$work/wrk-$1.txt"
}
# pgbench through PgBouncer, the same statements in one pipeline per transaction.
run_pgbench() {
  pgbench -n -M extended -c "$connections" -j 2 -T "$seconds" -D orgs="$orgs" \
    -f "bench/api/$1.sql" "$DATABASE_URL" 2>&1 | tee "$work/pgbench-$1.txt" |
    awk '/^tps = / {print $3; exit}'
}

declare -A folio baseline
for what in create_revenue pnl_report; do
  echo "== $what: folio-server (wrk), then pgbench, ${seconds}s each" >&2
  folio[$what]=$(run_wrk "$what")
  baseline[$what]=$(run_pgbench "$what")
done
rss_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status")

printf '\n%-16s %12s %12s %7s %s\n' path folio_rps pgbench_tps ratio target
for what in create_revenue pnl_report; do
  target=$([ "$what" = create_revenue ] && echo ">= 0.7" || echo ">= 0.8")
  awk -v p="$what" -v f="${folio[$what]}" -v b="${baseline[$what]}" -v t="$target" \
    'BEGIN {printf "%-16s %12.0f %12.0f %7.2f %s\n", p, f, b, (b > 0 ? f / b : 0), t}'
done
awk -v kb="$rss_kb" 'BEGIN {printf "folio-server peak RSS: %.1f MB (target <= 100 MB)\n", kb / 1024}'
