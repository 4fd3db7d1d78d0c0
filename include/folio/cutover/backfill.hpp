// The backfill (SPEC §2 phase 4, `folioctl switchover backfill`): copies the legacy history
// of revenues, expenses and balances into their partitioned copies, batch by batch, while
// the sync triggers keep every newer write mirrored.
//
// Each table is walked by its TableSpec::range_column (id, or org_id for balances) over
// [min, max] of the legacy table, the upper bound taken once, when the table's ranges are
// first recorded in backfill_progress — with the sync triggers already on, so any row
// written after the bound is mirrored by its trigger. A batch is one transaction:
//
//   SET LOCAL TimeZone/jit; set_config('folio.sync_guard', 'on', true)   -- no echo back
//   SELECT ... FROM backfill_progress ... FOR UPDATE                     -- the checkpoint
//   INSERT INTO <t>_partitioned (cols) SELECT cols FROM <t>
//       WHERE <range_column> BETWEEN $1 AND $2 FOR SHARE ON CONFLICT DO NOTHING
//   UPDATE backfill_progress SET next_start, rows_copied, updated_at; COMMIT
//
// so a kill at any moment resumes without loss or duplicates. FOR SHARE waits for writers
// of the batch's rows and skips rows they deleted or moved (a moved row must not come back
// under its old month); DO NOTHING keeps the copy a trigger already wrote, which is newer.
// Deadlocks and serialization failures (normal while routing switches) retry the batch.
//
// Where the role may, the batch also sets session_replication_role = replica, so the
// partitioned side's triggers do not fire for copied rows at all (firing only to return at
// the guard costs about a quarter of the copy's time).
//
// Batch sizes adapt to a target duration; workers pause while a replica lags too far behind
// and may rest between batches (duty cycle) to leave the WAL to live writes.
//
// Thread-safety: one call runs its workers as coroutines on the pool's executor; the pool
// must be used from that executor only. The metrics are thread-safe.
#pragma once

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "folio/cutover/audit.hpp"
#include "folio/db/pool.hpp"
#include "folio/obs/human_text.hpp"

namespace folio::cutover {

// A safety check refused to start: the sync triggers are not on for every table.
class BackfillRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct BackfillOptions {
  // Logical table names (revenues, expenses, balances); empty means all, in that order.
  std::vector<std::string> tables;
  // Concurrent workers, each with its own connection. New tables are split into this many
  // ranges; on resume the recorded ranges are shared among the workers as they are.
  int workers = 1;
  // Batch span in ids of the range column; 0 adapts it to `target_batch`. A table walked by
  // org_id converts ids to org ids at its rows per organization, so its batches hold about
  // as many rows as an id-walked table's (this applies to min_batch/max_batch too).
  std::int64_t batch_size = 0;
  std::int64_t initial_batch = 10'000;
  std::int64_t min_batch = 1'000;
  std::int64_t max_batch = 1'000'000;
  // After each full batch the span is scaled by target / actual, within [0.5x, 2x].
  std::chrono::milliseconds target_batch{500};
  // Share of the time a worker spends copying: after a batch of t seconds it rests
  // t * (1 / duty_cycle - 1). Live writes commit behind the WAL the backfill writes; a
  // lower duty cycle trades backfill speed for their latency. 1 never rests.
  double duty_cycle = 1.0;
  // Pause before a batch while the primary's largest replay lag exceeds this; 0 disables.
  std::int64_t max_replica_lag_bytes = 64LL << 20;
  std::chrono::milliseconds lag_poll{500};
  // Measures the lag in bytes instead of the primary's pg_stat_replication (tests).
  std::function<boost::asio::awaitable<std::int64_t>()> replica_lag;
  // Attempts per batch after deadlocks and serialization failures.
  int max_attempts = 1000;
  // Copy with session_replication_role = replica when the role may set it (superuser, or
  // GRANT SET ON PARAMETER session_replication_role): the partitioned side's triggers then
  // do not fire at all, instead of firing and returning at the sync guard. The copy skips
  // any other ordinary trigger on the partitioned tables too (folio defines none).
  bool skip_triggers = true;
};

// Progress is weighed in rows, not in key values: a table's span counts ids (revenues,
// expenses) or organization ids (balances, about ten rows each), so at 1,000,000
// organizations balances' span is a fortieth of the total while it holds a third of the rows.
// Each table's rows are estimated once at the start (detail/row_estimate.hpp) and counted
// done in proportion to its span covered.
struct BackfillTableProgress {
  std::string table;
  std::int64_t span = 0;         // range-column values in all of the table's ranges
  std::int64_t covered = 0;      // of them, done (by any run)
  std::int64_t rows_copied = 0;  // by this run
  std::int64_t batches = 0;      // by this run
  double estimated_rows = 0;     // in the table's ranges (0: unknown)

  // covered / span; 1 when the table has nothing to copy.
  double fraction() const {
    return span > 0 ? static_cast<double>(covered) / static_cast<double>(span) : 1.0;
  }
};

struct BackfillProgress {
  std::vector<BackfillTableProgress> tables;
  std::int64_t span = 0;  // sums over the tables
  std::int64_t covered = 0;
  std::int64_t rows_copied = 0;
  double estimated_rows = 0;  // sum over the tables
  double estimated_done = 0;  // sum over the tables of estimated_rows * fraction()
  std::chrono::duration<double> elapsed{0};
  double rows_per_s = 0;  // rows_copied / elapsed
  // Estimated rows left at the rate this run covered them so far; once a rate is known.
  std::optional<std::chrono::duration<double>> eta;
  bool paused = false;                 // waiting for a replica to catch up
  std::int64_t replica_lag_bytes = 0;  // last measured
  bool done = false;                   // the last report of a run

  // estimated_done / estimated_rows; covered / span when no table's rows are known; 1 when
  // there is nothing to copy.
  double fraction() const {
    if (estimated_rows > 0) return std::min(1.0, estimated_done / estimated_rows);
    return span > 0 ? static_cast<double>(covered) / static_cast<double>(span) : 1.0;
  }
};

struct BackfillTableReport {
  std::string table;
  std::int64_t rows_copied = 0;  // rows this run inserted (rows already mirrored excluded)
  std::int64_t batches = 0;
  std::int64_t retries = 0;  // batches re-run after a deadlock or serialization failure
  // Smallest and largest span of a full batch this run (range-column values), 0 if none.
  std::int64_t min_span = 0;
  std::int64_t max_span = 0;
};

struct BackfillReport {
  std::vector<BackfillTableReport> tables;
  double seconds = 0;
  double paused_seconds = 0;  // wall time at least one worker waited for replica lag
  int workers = 0;
  bool resumed = false;  // some table's ranges were recorded by an earlier run
  bool noop = false;     // every range was already finished

  std::int64_t rows_copied() const;
  std::int64_t batches() const;
};

// One row of backfill_progress.
struct BackfillRangeState {
  std::string table;
  std::int64_t range_start = 0;
  std::int64_t range_end = 0;   // inclusive
  std::int64_t next_start = 0;  // > range_end once finished
  std::int64_t rows_copied = 0;
  bool finished() const { return next_start > range_end; }
};

using BackfillProgressFn = std::function<void(const BackfillProgress&)>;

// Throws BackfillRefused unless sync_state shows all three tables on.
boost::asio::awaitable<void> require_sync_on(db::Pool& pool);

// Copies what remains. `on_progress` is called after every batch, when a replica-lag pause
// starts, and once more at the end (done = true). Throws BackfillRefused (sync off),
// std::invalid_argument (unknown table, bad sizes, workers > pool max_size), and the
// database's errors; a SyncTriggerFailure is reported (report_if_sync_failure) first. The
// checkpoints of committed batches stay: calling it again resumes.
// REQUIRES: `prepare` ran; pool.options().max_size >= options.workers (+1 spares a wait).
boost::asio::awaitable<BackfillReport> backfill(db::Pool& pool, BackfillOptions options,
                                                BackfillProgressFn on_progress = {});

// backfill() as an audited phase ("backfill" in cutover_audit): status "noop" when every
// range was already finished; details: rows_copied per table, batches, seconds, rows_per_s,
// paused_seconds, retries, workers, resumed. Refuses (BackfillRefused) before recording
// anything when the sync is not on.
boost::asio::awaitable<AuditedPhase> run_backfill_phase(db::Pool& pool, BackfillOptions options,
                                                        StatsLevel stats,
                                                        BackfillProgressFn on_progress = {});

// Every row of backfill_progress, by table and range_start.
boost::asio::awaitable<std::vector<BackfillRangeState>> backfill_state(db::Pool& pool);

// The progress as one frame of a progress bar: the note names the first table not yet done
// and a pause for replica lag.
obs::ProgressLine progress_line(const BackfillProgress& progress);

// That frame as text (no '\r'), e.g.
// "[#########           ]  45.2%  1,234,567 rows  85,000 rows/s  ETA 0:17  balances
// (paused: replica lag)", naming the first table not yet done.
std::string format_progress_line(const BackfillProgress& progress, int bar_width = 20);

}  // namespace folio::cutover
