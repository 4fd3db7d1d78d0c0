#!/usr/bin/env bash
# Verification benchmark: `folioctl switchover verify` against its baseline, plain
# whole-table checksum scans (`SELECT count(*), sum(hashtextextended(t::text, 0)) FROM t t`,
# jit off, parallel workers as PostgreSQL chooses) of both sides of every table, in the same
# run on the same data. Prints both rates (rows of both sides per second) and their ratio
# (target: folio >= 0.7 x the raw scans), verify's peak RSS, and whether its chunk scans use
# index or bitmap scans only.
#
#   bench/verify_bench.sh [--orgs N] [--rows-per-org R] [--months M] [--workers W] [--keep-db]
#
# Seeds a fresh database, then prepare, sync-on and backfill (`folioctl switchover backfill`,
# or one INSERT ... SELECT per table with the sync guard on where that command is missing).
# Uses the stack in $FOLIO_STACK_DIR when set, otherwise starts one (shared_buffers 2GB like
# docs/benchmarks.md's reference runs) in a temporary directory and stops it afterwards.
# Needs a release build: cmake --preset release && cmake --build --preset release (or point
# FOLIOCTL at another optimised folioctl).
set -euo pipefail
cd "$(dirname "$0")/.."

orgs=20000 rows=20 months=24 workers=2 keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --orgs) orgs=$2; shift 2 ;;
    --rows-per-org) rows=$2; shift 2 ;;
    --months) months=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --keep-db) keep=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_folioctl

bench_stack_up
work=$(mktemp -d /tmp/folio-verify-bench.XXXXXX)
db=folio_bench_verify
cleanup() {
  rm -rf "$work"
  [ "$keep" = 1 ] || psql "$DATABASE_DIRECT_URL" -XqAt -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
  bench_stack_down
}
trap cleanup EXIT

base=${DATABASE_DIRECT_URL%/*}
url=$base/$db
now() { date +%s.%N; }
sql() { psql "$url" -XqAt -v ON_ERROR_STOP=1 "$@"; }

echo "verify benchmark: $orgs orgs x $rows rows, $months months, $workers workers; $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB" >&2
psql "$DATABASE_DIRECT_URL" -XqAt -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
"$folioctl" migrate --database-url "$url" >/dev/null 2>&1
echo "seeding..." >&2
"$folioctl" seed --orgs "$orgs" --rows-per-org "$rows" --months "$months" --seed 1 --until 2026-10 \
  --database-url "$url" >/dev/null 2>&1
echo "prepare, sync-on, backfill..." >&2
"$folioctl" switchover prepare --database-url "$url" --audit-stats none >/dev/null 2>&1
"$folioctl" switchover sync-on --database-url "$url" --audit-stats none >/dev/null 2>&1
if ! { "$folioctl" switchover backfill --help >/dev/null 2>&1 &&
        "$folioctl" switchover backfill --database-url "$url" --audit-stats none >/dev/null 2>&1; }; then
  echo "(no working backfill command: copying with INSERT ... SELECT)" >&2
  for t in revenues expenses balances; do
    sql -c "BEGIN" -c "SELECT set_config('folio.sync_guard', 'on', true)" \
        -c "INSERT INTO ${t}_partitioned SELECT * FROM $t ON CONFLICT DO NOTHING" -c "COMMIT" >/dev/null
  done
fi
sql -c "VACUUM ANALYZE" >/dev/null

tables="revenues revenues_partitioned expenses expenses_partitioned balances balances_partitioned"
total_rows=0
for t in $tables; do
  total_rows=$((total_rows + $(sql -c "SELECT count(*) FROM $t")))
done
# The baseline: one checksum scan per table and side; a first untimed round warms the cache
# for both contenders alike.
scan_all() {
  for t in $tables; do
    sql -c "SET jit = off" -c "SET TimeZone = 'UTC'" \
        -c "SELECT count(*), sum(hashtextextended(t::text, 0)) FROM $t t" >/dev/null
  done
}
scan_all
t0=$(now); scan_all; t1=$(now)

# The chunk scans must reach their rows through the org_id indexes.
"$folioctl" switchover verify --database-url "$url" --explain >"$work/plans" 2>&1
plans_ok=$(grep -q "Seq Scan" "$work/plans" && echo NO || echo yes)

t2=$(now)
status=0
/usr/bin/time -f '%M' -o "$work/rss" "$folioctl" switchover verify --database-url "$url" \
  --workers "$workers" --audit-stats none --report-file "$work/report.json" >/dev/null 2>"$work/stderr" || status=$?
t3=$(now)
[ "$status" = 0 ] || { echo "verify exited $status" >&2; tail -5 "$work/stderr" >&2; }
verify_rows=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(sum(t['rows_legacy']+t['rows_partitioned'] for t in r['tables']))" "$work/report.json")
clean=$(python3 -c "import json,sys; print('yes' if json.load(open(sys.argv[1]))['clean'] else 'NO')" "$work/report.json")
chunks=$(python3 -c "import json,sys; print(sum(t['chunks'] for t in json.load(open(sys.argv[1]))['tables']))" "$work/report.json")

awk -v br="$total_rows" -v bt="$(echo "$t1 - $t0" | bc)" -v fr="$verify_rows" -v ft="$(echo "$t3 - $t2" | bc)" \
    -v rss="$(cat "$work/rss")" -v clean="$clean" -v plans="$plans_ok" -v chunks="$chunks" 'BEGIN {
  printf "%-36s %12s %10s %12s\n", "check", "rows", "seconds", "rows/s"
  printf "%-36s %12d %10.2f %12.0f\n", "checksum scans, both sides (baseline)", br, bt, br / bt
  printf "%-36s %12d %10.2f %12.0f\n", "folioctl switchover verify", fr, ft, fr / ft
  printf "ratio verify/scans: %.2f (target >= 0.70)   verify peak RSS: %.1f MiB   chunks: %d   clean: %s   index/bitmap scans only: %s\n",
         (fr / ft) / (br / bt), rss / 1024, chunks, clean, plans
}'
[ "$clean" = yes ] && [ "$plans_ok" = yes ] && [ "$verify_rows" = "$total_rows" ]
