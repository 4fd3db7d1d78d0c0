#!/usr/bin/env bash
# Scale benchmark: the whole cutover at production size beside its same-run baselines, then
# the API on both sides of it.
#  1. phases: times every `folioctl` step of a cutover on a fresh database of --orgs
#     organizations — seed, switchover prepare, sync-on, backfill, VACUUM ANALYZE (its own
#     phase), verify, cutover — and prints seconds, rows and rows/s of each. Rows are the
#     legacy revenues + expenses + balances at that point (they grow with the inserts of 2);
#     the backfill's are the rows its baseline copied: the legacy rows before the writes of
#     its window began (the sync triggers mirror those, up to 1 s of inserts before it starts
#     and all while it runs); verify's are both sides. The switchover phases run with
#     --audit-stats none (no row counts/checksums in cutover_audit) to time the work itself.
#     Beside backfill and verify, in the same table: their baseline, measured in the
#     same run on the same database and data, and the ratio folio/baseline with its target:
#     - backfill ("fair" baseline): one `INSERT INTO <t>_partitioned SELECT * FROM <t>` per
#       table (revenues, expenses, balances), each in a transaction of its own with
#       `SET LOCAL session_replication_role = replica` (no triggers, as the backfill skips
#       them), into the empty partitioned tables. Then the partitioned side is emptied again
#       (TRUNCATE of the three partitioned tables and revenues_locator/expenses_locator,
#       backfill_progress cleared) and `switchover backfill --workers W` copies the same rows.
#       An untimed CHECKPOINT precedes each copy. Not the same work: the backfill also writes
#       one id -> month locator row per revenue and expense (revenues_locator,
#       expenses_locator), which the baseline does not, and it runs under the live writes of
#       2, which the baseline does not; both count against folio. Ratio backfill rows/s /
#       baseline rows/s, target >= 0.9 (with 2 workers).
#     - verify: plain whole-table checksum scans of the six tables (revenues, expenses,
#       balances and their _partitioned twins), exactly as bench/verify_bench.sh runs them:
#       one psql per table, `SET jit = off`, `SET TimeZone = 'UTC'`, `SELECT count(*),
#       sum(hashtextextended(t::text, 0)) FROM <table> t`, parallel workers as PostgreSQL
#       chooses. One untimed round of these scans first warms the cache for both contenders
#       alike; then verify runs (timed), then the scans (timed). Both rates are rows of both
#       sides per second; ratio verify/scans, target >= 0.9.
#  2. live writes: pgbench inserts single revenues into the legacy `revenues` table (sync on,
#     so each is mirrored to revenues_partitioned in the same transaction): org_id uniform over
#     the organizations, category 'room', a random amount, the organization's currency, now().
#     4 clients, --write-rate transactions/s in all (pgbench -R: latency counts from the
#     scheduled start, so a stall is not hidden; 0: as fast as the clients go), every
#     transaction's latency logged (-l). One pgbench per window, the same way in both: it
#     starts 1 s before the window (its connections' first transactions load the catalog of
#     every partition, several times slower: not counted) and only transactions that ended
#     within the window count. Without a backfill: --write-seconds s right after sync-on
#     (pgbench -T ends it). During the backfill: pgbench with a -T far beyond it, started
#     right before it and stopped right after it with SIGALRM, the signal of pgbench's own
#     -T timer, so it ends as at its deadline: logs complete, exit 0 (SIGINT would kill it
#     and lose the buffered log lines); the script waits until it is gone. p50/p99/max of
#     both windows and the ratio p99 during / p99 without, target <= 2.0, with the inserts'
#     counts. An untimed CHECKPOINT precedes each window. pgbench connects straight to the
#     primary: the stack's PgBouncer serves only its folio databases, not this benchmark's
#     (the script asks PgBouncer first and uses it if it knows the database; the report says
#     which). The sync mirrors every insert, so verify still compares equal sides.
#     Order: seed, prepare, sync-on, writes without backfill, TRUNCATE (the mirrored inserts),
#     baseline copy, TRUNCATE, backfill with writes, VACUUM ANALYZE, warm-up scans, verify,
#     scans, cutover, then 3.
#  3. API: one folio-server (1 worker, pool 16, primary only: no replicas, no Redis cache)
#     on that database; for every per-organization path, wrk with --connections over random
#     organizations, once routed to the legacy tables (the baseline) and once to the
#     partitioned ones, flipping the fleet routing with `switchover rollback` / `cutover` on
#     the same server and data, the sync staying on; in each round every path runs on both
#     sides back to back (3 s warm-up each), legacy first in odd rounds, partitioned first in
#     even ones. Per path and round: requests/s of both sides and their ratio
#     partitioned/legacy (below 1.0 is what partitioning costs that path); the median over
#     the rounds is the figure, with the non-2xx responses (a path with any is flagged and
#     the script exits 1) and the server's peak RSS. --extra-months K creates K more future
#     months of partitions (prepare --future-months K+3) to show what many partitions cost.
#
#   bench/scale_bench.sh [--orgs N] [--rows-per-org R] [--months M] [--extra-months K]
#                        [--rounds N] [--seconds S] [--connections C] [--workers W]
#                        [--write-rate TPS] [--write-seconds S]
#                        [--paths LIST] [--keep-db] [--out FILE]
#
# Defaults: 1,000,000 orgs x 20 rows over 24 months ending with the last full month, 3
# rounds of 20 s per path and side (after a 3 s warm-up), 32 connections, 2 backfill/verify
# workers, live writes at 200 inserts/s for 15 s without a backfill, every path:
# get_by_id,list,list_month,pnl,categories,balances,create,patch.
# --out FILE writes the summary as a markdown table when FILE ends in .md, else as JSON
# lines. --keep-db keeps the database folio_bench_scale (useful with $FOLIO_STACK_DIR).
# Uses the stack in $FOLIO_STACK_DIR when set, otherwise starts one (shared_buffers 2GB like
# docs/benchmarks.md's reference runs) in a temporary directory and stops it afterwards.
# Needs a release build (cmake --preset release && cmake --build --preset release), wrk,
# pgbench, psql and python3. Keep test runs small (e.g. --orgs 2000 --rounds 2 --seconds 3
# --connections 8, about 5 minutes on 2 cores); the full default run needs tens of GB of
# disk and roughly an hour (an estimate from smaller runs).
set -euo pipefail
cd "$(dirname "$0")/.."

command_line=$(printf '%q ' "bench/scale_bench.sh" "$@")
all_paths=get_by_id,list,list_month,pnl,categories,balances,create,patch
orgs=1000000 rows=20 months=24 extra_months=0 rounds=3 seconds=20 connections=32 workers=2
keep=0 paths=$all_paths out="" write_rate=200 write_seconds=15
pool_size=16 warmup_seconds=3 sample_size=100000 flip_settle_seconds=2
write_clients=4 write_warmup_seconds=1 write_forever_seconds=864000
while [ $# -gt 0 ]; do
  case $1 in
    --orgs) orgs=$2; shift 2 ;;
    --rows-per-org) rows=$2; shift 2 ;;
    --months) months=$2; shift 2 ;;
    --extra-months) extra_months=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --write-rate) write_rate=$2; shift 2 ;;
    --write-seconds) write_seconds=$2; shift 2 ;;
    --paths) paths=$2; shift 2 ;;
    --keep-db) keep=1; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
for n in "$orgs" "$rows" "$months" "$rounds" "$seconds" "$connections" "$workers" "$write_seconds"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "counts must be positive integers: $n" >&2; exit 2; }
done
[[ $extra_months =~ ^[0-9]+$ ]] || { echo "--extra-months must be >= 0" >&2; exit 2; }
[[ $write_rate =~ ^[0-9]+$ ]] || { echo "--write-rate must be >= 0 (0: unthrottled)" >&2; exit 2; }
[ "$connections" -ge 2 ] || { echo "--connections must be >= 2 (wrk runs 2 threads)" >&2; exit 2; }
IFS=, read -r -a path_list <<<"$paths"
for p in "${path_list[@]}"; do
  [[ ,$all_paths, == *,$p,* ]] || { echo "unknown path $p (known: $all_paths)" >&2; exit 2; }
done
[ "$warmup_seconds" -le "$seconds" ] || warmup_seconds=$seconds
for tool in wrk psql pgbench python3 curl; do
  command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_folioctl
bench_server

# The window: --months months ending with the last full month (UTC); creates go to the
# current month. list covers the window's last 12 months, pnl and categories its last
# quarter, list_month and balances its last month.
current_month=$(date -u +%Y-%m)
until_month=$(date -u -d "$current_month-01 -1 month" +%Y-%m)
month_start() { date -u -d "$until_month-01 -$(($1 - 1)) month" +%F; }  # first day, N months back
window_end=$(date -u -d "$until_month-01 +1 month -1 day" +%F)
year_from=$(month_start $((months < 12 ? months : 12)))
quarter_from=$(month_start $((months < 3 ? months : 3)))
month_from=$(month_start 1)

echo "== scale benchmark"
echo "command: $command_line"
echo "machine: $(nproc) cores, $(free -m | awk '/^Mem/ {printf "%.1f GiB", $2 / 1024}') memory, $(uname -sr)"
echo "data: $orgs orgs x $rows rows over $months months ($(month_start "$months" | cut -c1-7) .. $until_month), seed 42;" \
     "partitions up to $((extra_months + 3)) months after $current_month"
echo "api: folio-server 1 worker, pool $pool_size, primary only, no cache; wrk 2 threads x $connections connections;" \
     "$rounds rounds x ${seconds}s per path and side (+${warmup_seconds}s warm-up)"
echo "live writes: pgbench $write_clients clients, $([ "$write_rate" = 0 ] && echo unthrottled || echo "$write_rate inserts/s");" \
     "${write_seconds}s without a backfill, then during the backfill"

bench_stack_up
work=$(mktemp -d /tmp/folio-scale-bench.XXXXXX)
db=folio_bench_scale
url=${DATABASE_DIRECT_URL%/*}/$db
server_pid="" writes_pid=""
cleanup() {
  if [ -n "$writes_pid" ]; then  # a write window still running: end it as its -T would
    kill -ALRM "$writes_pid" 2>/dev/null || true
    wait "$writes_pid" 2>/dev/null || true
  fi
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  if [ "$keep" = 1 ]; then
    if [ -z "${own_stack:-}" ]; then
      echo "database kept: $url" >&2
    else
      echo "--keep-db: the database goes with the temporary stack (set FOLIO_STACK_DIR to keep it)" >&2
    fi
  else
    psql "$DATABASE_DIRECT_URL" -XqAt -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  bench_stack_down
}
trap cleanup EXIT

sql() { psql "$url" -XqAt -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
# quiet LOG command...: runs it with its output in $work/LOG.log, shown when it fails.
quiet() {
  local log=$work/$1.log; shift
  "$@" >"$log" 2>&1 || { echo "failed: $*" >&2; tail -n 20 "$log" >&2; return 1; }
}
results=$work/results.tsv  # one line per measurement; the report is made from it
: >"$results"

# ---------------------------------------------------------------- 1. the cutover phases
PGOPTIONS="-c client_min_messages=warning" psql "$DATABASE_DIRECT_URL" -XqAt \
  -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
quiet migrate "$folioctl" migrate --database-url "$url"

# phase NAME command...: runs and times the command (its output in $work/phase-NAME.log),
# leaving the seconds in $phase_seconds and its start and end (epoch s) in $phase_start and
# $phase_end; returns the command's status.
phase() {
  local name=$1 status=0; shift
  echo "phase $name..." >&2
  phase_start=$(now)
  quiet "phase-$name" "$@" || status=$?
  phase_end=$(now)
  phase_seconds=$(awk -v a="$phase_start" -v b="$phase_end" 'BEGIN {printf "%.3f", b - a}')
  return "$status"
}
# record NAME ROWS: prints and records the last phase's time with its row count.
record() {
  printf 'phase\t%s\t%s\t%s\n' "$1" "$phase_seconds" "$2" >>"$results"
  awk -v n="$1" -v s="$phase_seconds" -v r="$2" \
    'BEGIN {printf "  %-16s %10.2f s %12d rows %12.0f rows/s\n", n, s, r, (s > 0 ? r / s : 0)}'
}
# record_baseline PHASE NAME ROWS: the same for the baseline of PHASE (timed by phase NAME).
record_baseline() {
  printf 'base\t%s\t%s\t%s\t%s\n' "$1" "$2" "$phase_seconds" "$3" >>"$results"
  awk -v n="$2" -v s="$phase_seconds" -v r="$3" \
    'BEGIN {printf "  %-16s %10.2f s %12d rows %12.0f rows/s   (baseline)\n", n, s, r, (s > 0 ? r / s : 0)}'
}
legacy_count() {
  sql -c "SELECT (SELECT count(*) FROM revenues) + (SELECT count(*) FROM expenses)
                 + (SELECT count(*) FROM balances)"
}

# The live writes (2. in the header). PgBouncer only when it serves this database.
write_url=$url write_via="the primary directly (the stack's PgBouncer does not serve $db)"
if [ -n "${DATABASE_URL:-}" ] && [ "${DATABASE_URL%/*}" != "${DATABASE_DIRECT_URL%/*}" ] &&
   psql "${DATABASE_URL%/*}/$db" -XqAt -c "SELECT 1" >/dev/null 2>&1; then
  write_url=${DATABASE_URL%/*}/$db write_via="PgBouncer"
fi
cat >"$work/insert.sql" <<'SQL'
\set org random(:org_lo, :org_hi)
\set amount random(100, 100000)
INSERT INTO revenues (org_id, category, amount_cents, currency, occurred_at)
VALUES (:org, 'room', :amount, (SELECT currency FROM organizations WHERE id = :org), now());
SQL
# writes_start NAME SECONDS: pgbench in the background for SECONDS s (its pid in
# $writes_pid), every transaction logged under $work/lat-NAME.*; then waits the warm-up.
writes_start() {
  local rate=()
  [ "$write_rate" = 0 ] || rate=(-R "$write_rate")
  pgbench -n -c "$write_clients" -j 2 "${rate[@]}" -T "$2" -f "$work/insert.sql" \
    -D org_lo="$org_lo" -D org_hi="$org_hi" -l --log-prefix="$work/lat-$1" "$write_url" \
    >"$work/pgbench-$1.log" 2>&1 &
  writes_pid=$!
  sleep "$write_warmup_seconds"
}
# writes_wait NAME [stop]: waits until pgbench has exited, first ending it with SIGALRM (as
# its -T timer does: it finishes and flushes its logs) when asked to stop; exits when it
# failed or ended before it was stopped.
writes_wait() {
  local status=0 early=0
  if [ "${2:-}" = stop ]; then
    kill -0 "$writes_pid" 2>/dev/null || early=1
    kill -ALRM "$writes_pid" 2>/dev/null || true
  fi
  wait "$writes_pid" || status=$?
  writes_pid=""
  if [ "$status" != 0 ] || [ "$early" = 1 ]; then
    echo "the live writes ($1) failed or ended early (exit $status):" >&2
    tail -n 20 "$work/pgbench-$1.log" >&2
    exit 1
  fi
}
# write_stats NAME FROM TO: "transactions failed p50_ms p99_ms max_ms" of the transactions
# of window NAME that ended within [FROM, TO] (epoch seconds); pgbench's log lines are
# "client tx latency_us script epoch_s us [lag_us]", latency "failed"/"skipped" otherwise.
write_stats() {
  cat "$work"/lat-"$1".* | awk -v from="$2" -v to="$3" '
    {t = $5 + $6 / 1e6} t < from || t > to {next}
    $3 ~ /^[0-9]+$/ {print $3; next} {failed++} END {if (failed) print "failed", failed}' |
    sort -n | awk '$1 == "failed" {f = $2; next} {a[++n] = $1}
      function q(p,  i) {i = int(p * n + 0.999999); return n ? a[i < 1 ? 1 : i] / 1000 : 0}
      END {printf "%d %d %.3f %.3f %.3f\n", n, f, q(0.5), q(0.99), n ? a[n] / 1000 : 0}'
}
# record_writes NAME SECONDS FROM TO: prints and records window NAME.
record_writes() {
  local n f p50 p99 max
  read -r n f p50 p99 max <<<"$(write_stats "$1" "$3" "$4")"
  printf 'writes\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$n" "$f" "$p50" "$p99" "$max" >>"$results"
  awk -v w="$1" -v s="$2" -v n="$n" -v f="$f" -v a="$p50" -v b="$p99" -v c="$max" \
    'BEGIN {printf "  writes %-9s %10.2f s %8d inserts (%d failed)   p50 %.2f ms   p99 %.2f ms   max %.2f ms\n",
                   w, s, n, f, a, b, c}'
}
truncate_partitioned() {
  sql -c "TRUNCATE revenues_partitioned, expenses_partitioned, balances_partitioned,
                   revenues_locator, expenses_locator" -c "DELETE FROM backfill_progress" >/dev/null
}
# The backfill's baseline: one INSERT ... SELECT per table, triggers skipped.
baseline_copy() {
  local t
  for t in revenues expenses balances; do
    sql -c "BEGIN" -c "SET LOCAL session_replication_role = replica" \
        -c "INSERT INTO ${t}_partitioned SELECT * FROM $t" -c "COMMIT" || return 1
  done
}
# The verify's baseline: one checksum scan per table and side, as bench/verify_bench.sh does;
# prints the rows scanned.
scan_tables="revenues revenues_partitioned expenses expenses_partitioned balances balances_partitioned"
checksum_scans() {
  local t n total=0
  for t in $scan_tables; do
    n=$(sql -F ' ' -c "SET jit = off" -c "SET TimeZone = 'UTC'" \
          -c "SELECT count(*), sum(hashtextextended(t::text, 0)) FROM $t t" | awk '{print $1}') ||
      return 1
    total=$((total + n))
  done
  echo "$total"
}

echo
echo "== phases: seconds, rows (legacy revenues + expenses + balances; backfill: those its baseline"
echo "   copied; verify: both sides), rows/s; baselines beside backfill and verify (see the header)"
echo "   (the switchover phases run with --audit-stats none: no row counts or checksums in cutover_audit)"
echo "   live writes: pgbench through $write_via"
phase seed "$folioctl" seed --orgs "$orgs" --rows-per-org "$rows" --months "$months" \
  --seed 42 --until "$until_month" --database-url "$url"
legacy_rows=$(legacy_count)
record seed "$legacy_rows"
phase prepare "$folioctl" switchover prepare --future-months $((extra_months + 3)) \
  --audit-stats none --database-url "$url"
record prepare "$legacy_rows"
phase sync-on "$folioctl" switchover sync-on --audit-stats none --database-url "$url"
record sync-on "$legacy_rows"
org_lo=$(sql -c "SELECT min(id) FROM organizations")
org_hi=$(sql -c "SELECT max(id) FROM organizations")

# Live writes without a backfill.
echo "live writes without a backfill (${write_seconds}s)..." >&2
sql -c "CHECKPOINT" >/dev/null
writes_start idle $((write_warmup_seconds + write_seconds))
idle_start=$(now)
writes_wait idle
idle_end=$(now)
record_writes idle "$(awk -v a="$idle_start" -v b="$idle_end" 'BEGIN {printf "%.3f", b - a}')" \
  "$idle_start" "$idle_end"

# The baseline copy into the emptied partitioned side (it held the mirrored inserts), then
# empty again for folio's backfill; both copy the same rows.
truncate_partitioned
legacy_rows=$(legacy_count)
sql -c "CHECKPOINT" >/dev/null
phase backfill-baseline baseline_copy
copied=$(sql -c "SELECT (SELECT count(*) FROM revenues_partitioned) + (SELECT count(*) FROM expenses_partitioned)
                        + (SELECT count(*) FROM balances_partitioned)")
[ "$copied" = "$legacy_rows" ] || { echo "the baseline copied $copied rows of $legacy_rows" >&2; exit 1; }
record_baseline backfill insert-select "$legacy_rows"
truncate_partitioned
sql -c "CHECKPOINT" >/dev/null

# folio's backfill with the live writes running; its rows are those the baseline copied.
writes_start busy "$write_forever_seconds"
phase backfill "$folioctl" switchover backfill --workers "$workers" --audit-stats none \
  --database-url "$url"
writes_wait busy stop
record backfill "$legacy_rows"
record_writes busy "$phase_seconds" "$phase_start" "$phase_end"

legacy_rows=$(legacy_count)
phase vacuum-analyze psql "$url" -XqAt -v ON_ERROR_STOP=1 -c "VACUUM ANALYZE"
record vacuum-analyze "$legacy_rows"

# verify between an untimed warm-up round of the checksum scans and the timed one.
echo "checksum scans (warm-up, untimed)..." >&2
checksum_scans >/dev/null
verify_status=0
phase verify "$folioctl" switchover verify --workers "$workers" --audit-stats none \
  --report-file "$work/verify.json" --database-url "$url" || verify_status=$?
read -r verify_rows verify_clean <<<"$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
print(sum(t["rows_legacy"] + t["rows_partitioned"] for t in r["tables"]), "yes" if r["clean"] else "NO")' \
  "$work/verify.json" 2>/dev/null || echo "0 NO")"
record verify "$verify_rows"
if [ "$verify_status" != 0 ] || [ "$verify_clean" != yes ]; then
  echo "verify did not find the sides identical (exit $verify_status)" >&2
  exit 1
fi
phase verify-baseline checksum_scans
scan_rows=$(tail -n 1 "$work/phase-verify-baseline.log")
record_baseline verify checksum-scans "$scan_rows"
[ "$scan_rows" = "$verify_rows" ] ||
  echo "  note: the checksum scans saw $scan_rows rows, verify $verify_rows" >&2

phase cutover "$folioctl" switchover cutover --audit-stats none --database-url "$url"
record cutover "$legacy_rows"
month_partitions=$(sql -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'revenues_partitioned'::regclass")
leaf_partitions=$(sql -c "SELECT count(*) FROM pg_partition_tree('revenues_partitioned') WHERE isleaf")
echo "  (verify: $verify_rows rows of both sides, clean: $verify_clean;" \
     "revenues_partitioned: $month_partitions month partitions incl. the default guard, $leaf_partitions leaves)"
printf 'info\tpartitions\t%s\t%s\n' "$month_partitions" "$leaf_partitions" >>"$results"
printf 'info\twrites\t%s\t%s\t%s\t%s\n' "$write_clients" "$write_rate" "$write_warmup_seconds" \
  "$([ "$write_via" = PgBouncer ] && echo pgbouncer || echo primary)" >>"$results"

# ---------------------------------------------------------------- 2. the API, both sides
# get_by_id and patch address existing revenues: a uniform sample of (org_id, id), shuffled.
revenues=$(sql -c "SELECT count(*) FROM revenues")
sample_pct=$(awk -v n="$revenues" -v k="$sample_size" 'BEGIN {p = 100 * 1.2 * k / n; printf "%.6f", (p > 100 ? 100 : p)}')
sql -F ' ' -c "SELECT org_id, id FROM (SELECT org_id, id FROM revenues TABLESAMPLE BERNOULLI ($sample_pct)
               LIMIT $sample_size) s ORDER BY random()" >"$work/sample.txt"
echo "sample: $(wc -l <"$work/sample.txt") (org_id, id) pairs of revenues for get_by_id and patch" >&2

token=$("$folioctl" token create --admin --label scale-bench --database-url "$url" 2>/dev/null)
# The primary only and no cache: the uncached path on the database itself (PgBouncer's pools
# are for the stack's folio database only).
DATABASE_URL=$url DATABASE_DIRECT_URL=$url \
  bench_start_server "$work/server.log" --pool-size "$pool_size" --workers 1 || exit 1

# route SIDE: the fleet on legacy or partitioned, then waits until the server reports it
# (GET /v1/admin/routing) and another $flip_settle_seconds s.
route() {
  local fleet=""
  if [ "$1" = partitioned ]; then
    quiet route "$folioctl" switchover cutover --audit-stats none --database-url "$url"
  else
    quiet route "$folioctl" switchover rollback --audit-stats none --database-url "$url"
  fi
  for _ in $(seq 1 50); do
    fleet=$(curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/admin/routing" |
      python3 -c 'import json,sys; print(json.load(sys.stdin).get("fleet"))' 2>/dev/null || true)
    [ "$fleet" = "$1" ] && break
    sleep 0.2
  done
  [ "$fleet" = "$1" ] || { echo "the server did not follow the routing to $1 (fleet: $fleet)" >&2; exit 1; }
  sleep "$flip_settle_seconds"
}

# path_from PATH: the first day of the range PATH reads (its last is $window_end).
path_from() {
  case $1 in
    list_month|balances) echo "$month_from" ;;
    pnl|categories) echo "$quarter_from" ;;
    *) echo "$year_from" ;;
  esac
}
# run_wrk PATH SECONDS OUTFILE: wrk over random organizations (bench/scale/org_paths.lua).
run_wrk() {
  BENCH_PATH=$1 BENCH_TOKEN=$token BENCH_ORG_LO=$org_lo BENCH_ORG_HI=$org_hi \
    BENCH_FROM=$(path_from "$1") BENCH_TO=$window_end BENCH_MONTH=$current_month \
    BENCH_SAMPLE=$work/sample.txt \
    wrk -t2 -c"$connections" -d"$2s" -s bench/scale/org_paths.lua "http://127.0.0.1:$port" >"$3" 2>&1 ||
    { cat "$3" >&2; exit 1; }
}
# probe PATH: one request of PATH with curl (the first sampled revenue, the first
# organization), printed with its status and body: what the non-2xx responses say.
probe() {
  local org id q target method=GET
  local -a body=()
  read -r org id <"$work/sample.txt"
  q="from=$(path_from "$1")&to=$window_end"
  case $1 in
    get_by_id) target=/v1/orgs/$org/revenues/$id ;;
    patch) method=PATCH target=/v1/orgs/$org/revenues/$id body=(-d '{"amount_cents":100}') ;;
    create) method=POST target=/v1/orgs/$org_lo/revenues
            body=(-d "{\"category\":\"room\",\"amount_cents\":100,\"occurred_at\":\"$current_month-01T12:00:00Z\"}") ;;
    list|list_month) target="/v1/orgs/$org_lo/revenues?$q" ;;
    pnl) target="/v1/orgs/$org_lo/reports/pnl?$q&granularity=month" ;;
    categories) target="/v1/orgs/$org_lo/reports/categories?$q&kind=revenue" ;;
    balances) target="/v1/orgs/$org_lo/balances?$q" ;;
  esac
  [ ${#body[@]} = 0 ] || body+=(-H "Content-Type: application/json")
  echo "  probe: $method $target -> $(curl -sS -X "$method" -H "Authorization: Bearer $token" \
    "${body[@]}" -w ' (HTTP %{http_code})' "http://127.0.0.1:$port$target" 2>&1 | head -c 300)" >&2
}
# wrk_fields FILE: "req/s non2xx socket_errors" from a wrk report.
wrk_fields() {
  awk '/^Requests\/sec/ {rps = $2}
       /Non-2xx or 3xx responses/ {non2xx = $NF}
       /Socket errors/ {gsub(",", ""); errs = $4 + $6 + $8 + $10}
       END {printf "%s %d %d\n", rps == "" ? 0 : rps, non2xx, errs}' "$1"
}

echo
echo "== API: req/s over random organizations, legacy vs partitioned routing (same server, same data)"
printf '  %-12s %5s %14s %14s %7s %12s\n' path round legacy_rps partitioned_rps ratio non2xx_l/p
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2 == 1)); then order="legacy partitioned"; else order="partitioned legacy"; fi
  for p in "${path_list[@]}"; do
    declare -A rps=() bad=()
    for side in $order; do
      echo "round $r/$rounds, $p, $side..." >&2
      route "$side"
      run_wrk "$p" "$warmup_seconds" "$work/warmup.txt"
      log_lines=$(wc -l <"$work/server.log")
      run_wrk "$p" "$seconds" "$work/wrk-$p-$side-$r.txt"
      read -r rate non2xx errs <<<"$(wrk_fields "$work/wrk-$p-$side-$r.txt")"
      rps[$side]=$rate bad[$side]="$non2xx $errs"
      if [ "$non2xx" != 0 ] || [ "$errs" != 0 ]; then
        echo "  $p on $side: $non2xx non-2xx responses, $errs socket errors" >&2
        probe "$p"
        tail -n +$((log_lines + 1)) "$work/server.log" | tail -n 3 >&2  # its errors, if it logged any
      fi
    done
    read -r nl el <<<"${bad[legacy]}"
    read -r np ep <<<"${bad[partitioned]}"
    printf 'api\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$r" "${rps[legacy]}" "${rps[partitioned]}" \
      "$nl" "$np" "$el" "$ep" >>"$results"
    awk -v p="$p" -v r="$r" -v l="${rps[legacy]}" -v q="${rps[partitioned]}" -v nl="$nl" -v np="$np" \
      'BEGIN {printf "  %-12s %5d %14.1f %14.1f %7.3f %12s\n", p, r, l, q, (l > 0 ? q / l : 0), nl "/" np}'
  done
done
rss_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status")
printf 'info\trss_kb\t%s\n' "$rss_kb" >>"$results"

# ---------------------------------------------------------------- 3. the summary
echo
report_status=0
python3 - "$results" "$out" "$command_line" "$(nproc)" \
  "$(free -m | awk '/^Mem/ {printf "%.1f", $2 / 1024}')" "$orgs" "$rows" "$months" "$extra_months" \
  "$rounds" "$seconds" "$connections" "$workers" <<'PY' || report_status=$?
import json, statistics, sys

(results, out, command, cores, mem_gib, orgs, rows, months, extra, rounds, seconds, conns,
 workers) = sys.argv[1:]
phases, api, info, base, writes = [], {}, {}, {}, {}
for line in open(results):
    f = line.rstrip("\n").split("\t")
    if f[0] == "phase":
        phases.append((f[1], float(f[2]), int(f[3])))
    elif f[0] == "base":    # phase, baseline, seconds, rows
        base[f[1]] = (f[2], float(f[3]), int(f[4]))
    elif f[0] == "writes":  # window, seconds, transactions, failed, p50, p99, max (ms)
        writes[f[1]] = (float(f[2]), int(f[3]), int(f[4]), *map(float, f[5:8]))
    elif f[0] == "api":
        api.setdefault(f[1], []).append((int(f[2]), float(f[3]), float(f[4]), *map(int, f[5:9])))
    else:
        info[f[1]] = f[2:]

def ratio(l, p):
    return p / l if l > 0 else 0.0

rss_mb = int(info["rss_kb"][0]) / 1024
months_parts, leaves = info["partitions"]
w_clients, w_rate, w_warmup, w_via = info["writes"]
w_rate_text = "unthrottled" if w_rate == "0" else f"{w_rate} inserts/s"
head = (f"scale benchmark: {orgs} orgs x {rows} rows, {months} months (+{extra} extra future "
        f"months: {months_parts} month partitions of revenues_partitioned incl. the default guard, "
        f"{leaves} leaves); {cores} cores, {mem_gib} GiB; {rounds} rounds x {seconds} s, "
        f"{conns} connections, {workers} backfill/verify workers; live writes: pgbench "
        f"{w_clients} clients, {w_rate_text}, {w_warmup} s warm-up not counted, straight to "
        + ("PgBouncer" if w_via == "pgbouncer" else "the primary (PgBouncer does not serve the bench database)"))
rate = lambda r, s: r / s if s > 0 else 0.0
# Targets: folio/baseline rates of backfill and verify; p99 of the writes during/without.
targets = {"backfill": (">=", 0.9), "verify": (">=", 0.9), "writes": ("<=", 2.0)}
met = lambda k, x: (x >= targets[k][1]) if targets[k][0] == ">=" else (x <= targets[k][1])
target_text = lambda k: f"{targets[k][0]} {targets[k][1]:.2f}"
phase_ratio = {n: rate(r, s) / rate(base[n][2], base[n][1])
               for n, s, r in phases if n in base and rate(base[n][2], base[n][1]) > 0}
phase_rows = []
for n, s, r in phases:
    row = [n, f"{s:.2f}", str(r), f"{rate(r, s):.0f}"]
    if n in base:
        bn, bs, br = base[n]
        x = phase_ratio.get(n, 0.0)
        row += [bn, f"{bs:.2f}", str(br), f"{rate(br, bs):.0f}", f"{x:.3f}", target_text(n),
                "yes" if met(n, x) else "NO"]
    else:
        row += [""] * 7
    phase_rows.append(tuple(row))
phase_legend = ("baselines: insert-select = one INSERT INTO <t>_partitioned SELECT * FROM <t> per "
                "table, triggers skipped (no locator rows, no live writes); checksum-scans = "
                "count(*), sum(hashtextextended(t::text, 0)) of the six tables, after an untimed "
                "warm-up round; ratio = folio rows/s / baseline rows/s")
p99 = {k: w[4] for k, w in writes.items()}
writes_ratio = p99["busy"] / p99["idle"] if p99["idle"] > 0 else 0.0
writes_names = {"idle": "without backfill", "busy": "during backfill"}
writes_rows = []
for k in ("idle", "busy"):
    ws, wn, wf, p50, p99, pmax = writes[k]
    writes_rows.append((writes_names[k], f"{ws:.2f}", str(wn), str(wf), f"{p50:.2f}", f"{p99:.2f}",
                        f"{pmax:.2f}") + ((f"{writes_ratio:.3f}", target_text("writes"),
                                           "yes" if met("writes", writes_ratio) else "NO")
                                          if k == "busy" else ("", "", "")))
writes_head = ("live writes", "seconds", "inserts", "failed", "p50 ms", "p99 ms", "max ms",
               "p99 during/without", "target", "met")
api_rows, failed = [], []
for path, runs in api.items():
    ratios = [ratio(l, p) for _, l, p, *_ in runs]
    if any(sum(r[3:7]) for r in runs):
        failed.append(path)
    api_rows.append((path,
                     " ".join(f"{l:.0f}" for _, l, *_ in runs),
                     " ".join(f"{p:.0f}" for _, _, p, *_ in runs),
                     " ".join(f"{x:.3f}" for x in ratios),
                     f"{statistics.median(ratios):.3f}" + ("*" if path in failed else ""),
                     f"{sum(r[3] for r in runs)}/{sum(r[4] for r in runs)}",
                     f"{sum(r[5] for r in runs)}/{sum(r[6] for r in runs)}"))
api_head = ("path", "legacy req/s per round", "partitioned req/s per round", "ratio p/l per round",
            "median ratio", "non-2xx l/p", "socket errors l/p")
phase_head = ("phase", "seconds", "rows", "rows/s", "baseline", "baseline s", "baseline rows",
              "baseline rows/s", "ratio", "target", "met")

def table(header, body):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in body])

print("== summary")
print(head)
print(table(phase_head, phase_rows))
print(phase_legend)
print()
print(table(writes_head, writes_rows))
print()
print(table(api_head, api_rows))
footnote = ("* non-2xx responses or socket errors: that ratio compares failures, not "
            "throughput (see the probes above)") if failed else ""
if footnote:
    print(footnote)
print(f"folio-server peak RSS (VmHWM): {rss_mb:.1f} MB")

if out:
    with open(out, "w") as f:
        if out.endswith(".md"):
            md = lambda h, b: "\n".join(["| " + " | ".join(h) + " |", "|" + "---|" * len(h)] +
                                        ["| " + " | ".join(r) + " |" for r in b])
            f.write(f"`{command.strip()}`\n\n{head}\n\n{md(phase_head, phase_rows)}\n\n"
                    f"{phase_legend}\n\n{md(writes_head, writes_rows)}\n\n"
                    f"{md(api_head, api_rows)}\n\n{footnote + chr(10) + chr(10) if footnote else ''}"
                    f"folio-server peak RSS (VmHWM): {rss_mb:.1f} MB\n")
        else:
            f.write(json.dumps({"kind": "run", "command": command.strip(), "cores": int(cores),
                                "memory_gib": float(mem_gib), "orgs": int(orgs),
                                "rows_per_org": int(rows), "months": int(months),
                                "extra_months": int(extra), "month_partitions": int(months_parts),
                                "leaf_partitions": int(leaves), "rounds": int(rounds),
                                "seconds": int(seconds), "connections": int(conns),
                                "workers": int(workers), "write_clients": int(w_clients),
                                "write_rate": int(w_rate), "write_warmup_seconds": int(w_warmup),
                                "writes_via": w_via, "server_peak_rss_mb": round(rss_mb, 1)}) + "\n")
            for n, s, r in phases:
                rec = {"kind": "phase", "phase": n, "seconds": round(s, 3), "rows": r,
                       "rows_per_s": round(rate(r, s))}
                if n in base:
                    bn, bs, br = base[n]
                    rec.update({"baseline": bn, "baseline_seconds": round(bs, 3), "baseline_rows": br,
                                "baseline_rows_per_s": round(rate(br, bs)),
                                "ratio": round(phase_ratio.get(n, 0.0), 4),
                                "target": target_text(n), "target_met": met(n, phase_ratio.get(n, 0.0))})
                f.write(json.dumps(rec) + "\n")
            for k in ("idle", "busy"):
                ws, wn, wf, p50, p99, pmax = writes[k]
                rec = {"kind": "live_writes", "window": writes_names[k].replace(" ", "_"),
                       "seconds": round(ws, 3), "inserts": wn, "failed": wf, "p50_ms": p50,
                       "p99_ms": p99, "max_ms": pmax}
                if k == "busy":
                    rec.update({"p99_ratio": round(writes_ratio, 4), "target": target_text("writes"),
                                "target_met": met("writes", writes_ratio)})
                f.write(json.dumps(rec) + "\n")
            for path, runs in api.items():
                ratios = [ratio(l, p) for _, l, p, *_ in runs]
                f.write(json.dumps({"kind": "api", "path": path,
                                    "legacy_rps": [l for _, l, *_ in runs],
                                    "partitioned_rps": [p for _, _, p, *_ in runs],
                                    "ratios": [round(x, 4) for x in ratios],
                                    "median_ratio": round(statistics.median(ratios), 4),
                                    "valid": path not in failed,
                                    "non2xx_legacy": sum(r[3] for r in runs),
                                    "non2xx_partitioned": sum(r[4] for r in runs),
                                    "socket_errors_legacy": sum(r[5] for r in runs),
                                    "socket_errors_partitioned": sum(r[6] for r in runs)}) + "\n")
    print(f"written: {out}")
sys.exit(3 if failed else 0)
PY
if [ "$report_status" = 3 ]; then
  echo "some paths answered non-2xx or failed to connect: their ratios are not valid" >&2
  exit 1
fi
[ "$report_status" = 0 ]
