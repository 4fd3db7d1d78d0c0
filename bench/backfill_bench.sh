#!/usr/bin/env bash
# Backfill benchmark, folio beside its baselines in the same run on the same server:
#  1. throughput: `folioctl switchover backfill` of revenues and expenses (1 worker, then 2)
#     against one bulk `INSERT ... SELECT ... ON CONFLICT (org_id, occurred_at, id) DO UPDATE`
#     per table of the same rows into the same, freshly truncated, partitioned tables.
#     Target: folio >= 0.8 x the bulk upsert with 1 worker, >= 1.0 x with 2 workers.
#  2. live writes: p99 latency of single-row inserts into legacy revenues (sync triggers
#     on) at a fixed rate with pgbench, without a backfill and while one runs.
#     Target: p99 during / p99 without <= 2.
#
#   bench/backfill_bench.sh [--orgs N] [--rows-per-org R] [--months M]
#                           [--latency-seconds S] [--write-rate TPS] [--repeat N]
#                           [--duty-cycle D]   (the backfill's --duty-cycle in part 2)
#
# Uses the stack in $FOLIO_STACK_DIR when set, otherwise starts one (shared_buffers 2GB) in
# a temporary directory and stops it afterwards. Needs a release build of folioctl
# (cmake --preset release && cmake --build --preset release), or FOLIOCTL=path.
set -euo pipefail
cd "$(dirname "$0")/.."

orgs=20000 rows=20 months=24 latency_seconds=20 write_rate=200 repeat=2 duty=1
while [ $# -gt 0 ]; do
  case $1 in
    --orgs) orgs=$2; shift 2 ;;
    --rows-per-org) rows=$2; shift 2 ;;
    --months) months=$2; shift 2 ;;
    --latency-seconds) latency_seconds=$2; shift 2 ;;
    --write-rate) write_rate=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --duty-cycle) duty=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_folioctl
command -v pgbench >/dev/null || { echo "pgbench is needed (postgresql-client)" >&2; exit 1; }

bench_stack_up
work=$(mktemp -d /tmp/folio-backfill-bench.XXXXXX)
db=folio_bench_backfill
backfill_pid=""
cleanup() {
  [ -z "$backfill_pid" ] || kill "$backfill_pid" 2>/dev/null || true
  rm -rf "$work"
  psql "$DATABASE_DIRECT_URL" -XqAt -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
  bench_stack_down
}
trap cleanup EXIT

psql "$DATABASE_DIRECT_URL" -XqAt -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
url="${DATABASE_DIRECT_URL%/*}/$db"
sql() { psql "$url" -XqAt -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
quiet() { "$@" >"$work/last.out" 2>&1 || { cat "$work/last.out" >&2; return 1; }; }
settle() { sql -c "VACUUM ANALYZE revenues, expenses" -c "CHECKPOINT" >/dev/null 2>&1 || true; }

echo "backfill benchmark: $orgs orgs x $rows rows, $months months; $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB" >&2
quiet "$folioctl" migrate --database-url "$url"
quiet "$folioctl" seed --orgs "$orgs" --rows-per-org "$rows" --months "$months" --seed 1 \
  --until 2026-10 --database-url "$url"
quiet "$folioctl" switchover prepare --audit-stats none --database-url "$url"
rows_copied=$(sql -c "SELECT (SELECT count(*) FROM revenues) + (SELECT count(*) FROM expenses)")

# The baseline: one bulk upsert per table, timed; the copy is truncated afterwards.
upsert() {  # table partitioned_key -> seconds
  local cols updates
  cols=$(sql -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                 WHERE attrelid = '$1'::regclass AND attnum > 0 AND NOT attisdropped")
  updates=$(sql -c "SELECT string_agg(format('%1\$I = EXCLUDED.%1\$I', attname), ', ' ORDER BY attnum)
                    FROM pg_attribute WHERE attrelid = '$1'::regclass AND attnum > 0
                    AND NOT attisdropped AND attname NOT IN ('org_id', 'occurred_at', 'id')")
  sql >/dev/null <<SQL
BEGIN;
SET LOCAL TimeZone = 'UTC'; SET LOCAL jit = off;
SELECT set_config('folio.sync_guard', 'on', true);
INSERT INTO ${1}_partitioned ($cols) SELECT $cols FROM $1
    ON CONFLICT (org_id, occurred_at, id) DO UPDATE SET $updates;
COMMIT;
SQL
}
upsert_all() { upsert revenues; upsert expenses; }
reset_copy() { sql -c "TRUNCATE revenues_partitioned, expenses_partitioned" -c "DELETE FROM backfill_progress" >/dev/null; }
timed() {  # command... -> seconds on stdout
  local t0 t1
  t0=$(now); "$@"; t1=$(now)
  echo "$t1 - $t0" | bc
}

min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
copied() { sql -c "SELECT (SELECT count(*) FROM revenues_partitioned) + (SELECT count(*) FROM expenses_partitioned)"; }
backfill() { quiet "$folioctl" switchover backfill --tables revenues,expenses --audit-stats none \
               --database-url "$url" "$@"; }

# Every measurement runs --repeat times, interleaved; the best time of each counts (shared
# machines: other load only ever slows a run down).
raw_s="" base_s="" w1_s="" w2_s="" w1_rows=0 w2_rows=0
for ((r = 1; r <= repeat; r++)); do
  echo "round $r/$repeat: bulk upsert without triggers..." >&2
  settle; raw_s=$(min "$(timed upsert_all)" "$raw_s"); reset_copy
done
quiet "$folioctl" switchover sync-on --audit-stats none --database-url "$url"
for ((r = 1; r <= repeat; r++)); do
  echo "round $r/$repeat: bulk upsert with the sync triggers on (baseline)..." >&2
  settle; base_s=$(min "$(timed upsert_all)" "$base_s"); reset_copy
  echo "round $r/$repeat: folioctl switchover backfill, 1 worker..." >&2
  settle; w1_s=$(min "$(timed backfill --workers 1)" "$w1_s"); w1_rows=$(copied); reset_copy
  echo "round $r/$repeat: folioctl switchover backfill, 2 workers..." >&2
  settle; w2_s=$(min "$(timed backfill --workers 2)" "$w2_s"); w2_rows=$(copied); reset_copy
done

# Live writes: single-row inserts through legacy (mirrored by the triggers) at a fixed rate.
org_lo=$(sql -c "SELECT min(id) FROM organizations")
org_hi=$(sql -c "SELECT max(id) FROM organizations")
cat >"$work/insert.sql" <<'SQL'
\set org random(:org_lo, :org_hi)
INSERT INTO revenues (org_id, category, amount_cents, currency, occurred_at) VALUES (:org, 'other', 100, 'EUR', now());
SQL
pgbench_run() {  # log prefix
  pgbench -n -c 2 -j 2 -R "$write_rate" -T "$latency_seconds" -f "$work/insert.sql" \
    -D org_lo="$org_lo" -D org_hi="$org_hi" --log --log-prefix="$work/$1" "$url" >"$work/pgbench-$1.txt" 2>&1
}
# p99 (ms) and count of the transactions of the logs matching a glob that finished in
# [from, to] (epoch seconds).
p99() {  # log-file-glob from to
  # shellcheck disable=SC2086
  cat "$work"/$1 | awk -v from="$2" -v to="$3" '{t = $5 + $6 / 1e6} t >= from && t <= to {print $3}' |
    sort -n | awk '{a[NR] = $1} END {i = int(NR * 0.99); if (i < 1) i = 1; printf "%.2f %d\n", a[i] / 1000, NR}'
}

# Without a backfill: one window before and one after the busy one, pooled.
echo "write latency without a backfill (${latency_seconds} s at ${write_rate} tps)..." >&2
settle
pgbench_run idle

echo "write latency during a backfill of all tables (1 worker, duty cycle $duty)..." >&2
settle
pgbench_run busy &
bench_pid=$!
sleep 1
bf_start=$(now)
"$folioctl" switchover backfill --audit-stats none --duty-cycle "$duty" --database-url "$url" \
  >"$work/busy-backfill.out" 2>&1 &
backfill_pid=$!
wait "$backfill_pid"
backfill_pid=""
bf_end=$(now)
wait "$bench_pid"
read -r busy_p99 busy_n <<<"$(p99 'busy.*' "$bf_start" "$bf_end")"
bf_seconds=$(echo "$bf_end - $bf_start" | bc)

echo "write latency without a backfill, again..." >&2
settle
pgbench_run idle2
read -r idle_p99 idle_n <<<"$(p99 'idle*.*' 0 1e12)"

# The copies must equal their sources, writes during the backfill included.
diffs=0
for t in revenues expenses balances; do
  d=$(sql -c "SELECT (SELECT count(*) FROM (TABLE $t EXCEPT ALL TABLE ${t}_partitioned) a)
                   + (SELECT count(*) FROM (TABLE ${t}_partitioned EXCEPT ALL TABLE $t) b)")
  diffs=$((diffs + d))
done
unfinished=$(sql -c "SELECT count(*) FROM backfill_progress WHERE next_start <= range_end")
same=$([ "$diffs" = 0 ] && [ "$unfinished" = 0 ] && [ "$w1_rows" = "$rows_copied" ] && [ "$w2_rows" = "$rows_copied" ] && echo yes || echo NO)

awk -v n="$rows_copied" -v raw="$raw_s" -v base="$base_s" -v w1="$w1_s" -v w2="$w2_s" \
    -v ip="$idle_p99" -v in_="$idle_n" -v bp="$busy_p99" -v bn="$busy_n" -v bs="$bf_seconds" \
    -v rate="$write_rate" -v duty="$duty" -v same="$same" 'BEGIN {
  printf "\n== backfill throughput: revenues + expenses, %d rows ==\n", n
  printf "%-52s %9s %12s\n", "copy", "seconds", "rows/s"
  printf "%-52s %9.2f %12.0f\n", "bulk upsert, no triggers (reference)", raw, n / raw
  printf "%-52s %9.2f %12.0f\n", "bulk upsert, sync triggers on (baseline)", base, n / base
  printf "%-52s %9.2f %12.0f\n", "folioctl switchover backfill --workers 1", w1, n / w1
  printf "%-52s %9.2f %12.0f\n", "folioctl switchover backfill --workers 2", w2, n / w2
  printf "\n== live single-row inserts into legacy revenues at %d tps ==\n", rate
  printf "%-52s %9s %12s\n", "", "p99 ms", "samples"
  printf "%-52s %9.2f %12d\n", "without a backfill (before and after)", ip, in_
  printf "%-52s %9.2f %12d\n", sprintf("during a backfill (%.1f s, duty cycle %s)", bs, duty), bp, bn
  printf "\n== summary ==\n"
  printf "backfill / bulk upsert, 1 worker:  %.2f (target >= 0.80; %.2f vs the trigger-free upsert)\n", base / w1, raw / w1
  printf "backfill / bulk upsert, 2 workers: %.2f (target >= 1.00; %.2f vs the trigger-free upsert)\n", base / w2, raw / w2
  printf "write p99 during / without backfill: %.2f (target <= 2.00)\n", bp / ip
  printf "sides identical afterwards, every range finished: %s\n", same
}'
[ "$same" = yes ]
