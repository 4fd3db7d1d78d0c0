#include "folio/cutover/backfill.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <deque>
#include <map>
#include <stdexcept>

#include "detail/backfill_batch_size.hpp"
#include "detail/backfill_ranges.hpp"
#include "detail/row_estimate.hpp"
#include "folio/cutover/sync_failure.hpp"
#include "folio/db/retry.hpp"
#include "folio/obs/log.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::cutover {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

namespace {

constexpr std::string_view kReplicaLagSql =
    "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0)::bigint "
    "FROM pg_stat_replication";

struct TableRun {
  const TableSpec* spec = nullptr;
  std::vector<BackfillRangeState> ranges;
  std::string insert_sql;
  std::int64_t span = 0;
  std::int64_t covered = 0;
  std::int64_t covered_at_start = 0;
  double estimated_rows = 0;  // in the table's ranges (see BackfillProgress)
  // Batch limits in values of the range column.
  std::int64_t fixed = 0, initial = 0, min = 1, max = 1;
  BackfillTableReport report;
  obs::Counter* rows_metric = nullptr;
  obs::Counter* batches_metric = nullptr;
  obs::Counter* retries_metric = nullptr;
  obs::Histogram* duration_metric = nullptr;
  obs::Gauge* ratio_metric = nullptr;
};

std::int64_t covered(const BackfillRangeState& r) {
  return std::min(r.next_start, r.range_end + 1) - r.range_start;
}

// State shared by the workers of one call. Single-threaded: they all run on one executor.
struct Run {
  Run(db::Pool& p, const BackfillOptions& o, BackfillProgressFn fn)
      : pool(p), options(o), on_progress(std::move(fn)) {}

  db::Pool& pool;
  const BackfillOptions& options;
  BackfillProgressFn on_progress;
  std::string preamble;         // the SET LOCAL script of every batch
  std::deque<TableRun> tables;  // stable addresses
  std::deque<std::pair<TableRun*, BackfillRangeState*>> queue;  // unfinished ranges
  Clock::time_point started = Clock::now();
  bool stop = false;  // a worker failed: the others end after their current batch
  // Replica-lag pauses, counted in wall time while at least one worker waits.
  int paused_workers = 0;
  Clock::time_point pause_accounted_until;
  double paused_seconds = 0;
  std::int64_t replica_lag = 0;
  obs::Counter& paused_metric =
      obs::Registry::global().counter("folio_backfill_paused_seconds_total",
                                      "Seconds the backfill waited for replicas to catch up");
  obs::Logger log{"cutover.backfill"};
  obs::LogLimiter pause_log{std::chrono::seconds(30)};
  obs::LogLimiter retry_log{std::chrono::seconds(10)};

  void account_pause() {
    const auto now = Clock::now();
    const double secs = Seconds(now - pause_accounted_until).count();
    pause_accounted_until = now;
    paused_seconds += secs;
    paused_metric.inc(secs);
  }

  BackfillProgress progress(bool done) const {
    BackfillProgress p;
    std::int64_t covered_now = 0;
    double estimated_now = 0;  // estimated rows covered by this run
    for (const auto& t : tables) {
      BackfillTableProgress table{std::string(t.spec->name), t.span,           t.covered,
                                  t.report.rows_copied,      t.report.batches, t.estimated_rows};
      p.span += t.span;
      p.covered += t.covered;
      p.rows_copied += t.report.rows_copied;
      p.estimated_rows += t.estimated_rows;
      p.estimated_done += t.estimated_rows * table.fraction();
      covered_now += t.covered - t.covered_at_start;
      if (t.span > 0) {
        estimated_now += t.estimated_rows * static_cast<double>(t.covered - t.covered_at_start) /
                         static_cast<double>(t.span);
      }
      p.tables.push_back(std::move(table));
    }
    p.elapsed = Clock::now() - started;
    const double secs = p.elapsed.count();
    if (secs > 0) {
      p.rows_per_s = static_cast<double>(p.rows_copied) / secs;
      // What is left, at the pace this run has gone through it so far.
      if (p.estimated_rows > 0 && estimated_now > 0) {
        p.eta = Seconds(std::max(0.0, p.estimated_rows - p.estimated_done) * secs / estimated_now);
      } else if (p.estimated_rows <= 0 && covered_now > 0) {
        p.eta = Seconds(static_cast<double>(p.span - p.covered) * secs /
                        static_cast<double>(covered_now));
      }
    }
    p.paused = paused_workers > 0;
    p.replica_lag_bytes = replica_lag;
    p.done = done;
    return p;
  }

  void publish(bool done = false) const {
    if (on_progress) on_progress(progress(done));
  }
};

// Waits (in lag_poll steps) while the largest replica lag exceeds the limit.
asio::awaitable<void> wait_for_replicas(Run& run) {
  const std::int64_t limit = run.options.max_replica_lag_bytes;
  if (limit <= 0) co_return;
  bool paused = false;
  // Leaves the pause however the loop ends (an error included).
  struct Leave {
    Run& run;
    bool& paused;
    ~Leave() {
      if (!paused) return;
      run.account_pause();
      if (--run.paused_workers == 0) {
        run.log.info("backfill resumed: replicas caught up",
                     {{"paused_seconds", run.paused_seconds}});
      }
    }
  } leave{run, paused};
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!run.stop) {
    run.replica_lag = run.options.replica_lag
                          ? co_await run.options.replica_lag()
                          : (co_await run.pool.query(kReplicaLagSql)).scalar<std::int64_t>();
    if (run.replica_lag <= limit) break;
    if (!paused) {
      paused = true;
      if (run.paused_workers++ == 0) {
        run.pause_accounted_until = Clock::now();
        run.log.log_limited(run.pause_log, obs::Level::kInfo,
                            "backfill paused: replica lag above the limit",
                            {{"lag_bytes", run.replica_lag}, {"max_lag_bytes", limit}});
        run.publish();
      }
    } else {
      run.account_pause();
    }
    timer.expires_after(run.options.lag_poll);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

// One batch with its retries; a sync failure is reported before it propagates.
asio::awaitable<detail::BatchResult> run_batch(Run& run, TableRun& table,
                                               const BackfillRangeState& range, std::int64_t span) {
  db::RetryPolicy policy;
  policy.max_attempts = std::max(1, run.options.max_attempts);
  policy.initial_backoff = std::chrono::milliseconds(20);
  policy.max_backoff = std::chrono::milliseconds(2000);
  policy.on_retry = [&run, &table](const db::Error& e, int attempt) {
    ++table.report.retries;
    table.retries_metric->inc();
    run.log.log_limited(run.retry_log, obs::Level::kInfo, "backfill batch retried",
                        {{"table", std::string(table.spec->name)},
                         {"sqlstate", e.sqlstate()},
                         {"attempt", attempt}});
  };
  std::exception_ptr error;
  try {
    co_return co_await db::with_retry(
        [&] {
          return detail::copy_batch(run.pool, *table.spec, run.preamble, table.insert_sql,
                                    range.range_start, span);
        },
        policy);
  } catch (...) {
    error = std::current_exception();
  }
  co_await report_if_sync_failure(run.pool, error);
  std::rethrow_exception(error);
}

asio::awaitable<void> copy_range(Run& run, TableRun& table, BackfillRangeState& range,
                                 detail::BatchSizer& sizer) {
  while (!run.stop && !range.finished()) {
    co_await wait_for_replicas(run);
    if (run.stop) break;
    const std::int64_t span = sizer.span();
    const auto t0 = Clock::now();
    const auto result = co_await run_batch(run, table, range, span);
    const Seconds took = Clock::now() - t0;
    if (obs::log_enabled(obs::Level::kDebug)) {
      run.log.debug("backfill batch", {{"table", std::string(table.spec->name)},
                                       {"first", result.first},
                                       {"last", result.last},
                                       {"rows", result.rows},
                                       {"seconds", took.count()}});
    }

    const std::int64_t before = covered(range);
    range.next_start = std::max(range.next_start, result.next_start);
    range.rows_copied += result.rows;
    table.covered += covered(range) - before;
    if (result.last >= result.first) {
      ++table.report.batches;
      table.report.rows_copied += result.rows;
      table.batches_metric->inc();
      table.rows_metric->inc(static_cast<double>(result.rows));
      table.duration_metric->observe(took.count());
      if (result.last - result.first + 1 == span) {  // a cut-short last batch says little
        auto& r = table.report;
        r.min_span = r.min_span == 0 ? span : std::min(r.min_span, span);
        r.max_span = std::max(r.max_span, span);
        sizer.observe(took);
      }
    }
    table.ratio_metric->set(table.span > 0 ? static_cast<double>(table.covered) /
                                                 static_cast<double>(table.span)
                                           : 1.0);
    run.publish();
    if (run.options.duty_cycle < 1.0 && !run.stop) {
      // Leaves the disk and the WAL to live writes for a while.
      asio::steady_timer rest(co_await asio::this_coro::executor);
      rest.expires_after(
          std::chrono::duration_cast<Clock::duration>(took * (1.0 / run.options.duty_cycle - 1.0)));
      co_await rest.async_wait(asio::use_awaitable);
    }
  }
}

asio::awaitable<void> worker(Run& run) {
  std::map<const TableRun*, detail::BatchSizer> sizers;  // spans adapt per table
  const Seconds target = run.options.target_batch;
  while (!run.stop && !run.queue.empty()) {
    auto [table, range] = run.queue.front();
    run.queue.pop_front();
    auto& sizer =
        sizers.try_emplace(table, table->fixed, table->initial, table->min, table->max, target)
            .first->second;
    co_await copy_range(run, *table, *range, sizer);
  }
}

// Runs `n` workers to the end; rethrows the first failure.
asio::awaitable<void> run_workers(Run& run, int n) {
  auto ex = co_await asio::this_coro::executor;
  int remaining = n;
  std::exception_ptr first;
  asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(ex, worker(run), [&](const std::exception_ptr& e) {
      if (e && !first) {
        first = e;
        run.stop = true;
      }
      if (--remaining == 0) all_done.cancel();
    });
  }
  if (remaining > 0) {
    boost::system::error_code ec;
    co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (first) std::rethrow_exception(first);
}

void validate(const db::Pool& pool, const BackfillOptions& o) {
  if (o.workers < 1) throw std::invalid_argument("backfill: workers must be at least 1");
  if (static_cast<std::size_t>(o.workers) > pool.options().max_size) {
    throw std::invalid_argument("backfill: " + std::to_string(o.workers) +
                                " workers need a pool of at least as many connections");
  }
  if (o.batch_size < 0 || o.min_batch < 1 || o.max_batch < o.min_batch || o.initial_batch < 1) {
    throw std::invalid_argument(
        "backfill: batch sizes must satisfy 1 <= min-batch <= max-batch, batch-size >= 0");
  }
  if (!(o.duty_cycle > 0 && o.duty_cycle <= 1)) {
    throw std::invalid_argument("backfill: duty cycle must be in (0, 1]");
  }
  if (o.batch_size == 0 && o.target_batch.count() <= 0) {
    throw std::invalid_argument("backfill: target batch duration must be positive");
  }
}

std::vector<const TableSpec*> resolve_tables(const std::vector<std::string>& names) {
  std::vector<const TableSpec*> out;
  for (const auto& spec : all_tables()) {
    if (names.empty() || std::find(names.begin(), names.end(), spec.name) != names.end()) {
      out.push_back(&spec);
    }
  }
  for (const auto& name : names) {
    if (find_table(name) == nullptr) {
      throw std::invalid_argument("backfill: unknown table '" + name +
                                  "' (revenues, expenses, balances)");
    }
  }
  return out;
}

std::int64_t scaled(std::int64_t ids, double rows_per_value) {
  return std::max<std::int64_t>(
      1, std::llround(static_cast<double>(ids) / std::max(1.0, rows_per_value)));
}

// Loads (or records) the table's ranges and prepares what its workers need.
asio::awaitable<void> add_table(Run& run, const TableSpec& spec, obs::Registry& metrics,
                                bool& resumed) {
  auto ranges = co_await detail::load_or_create_ranges(run.pool, spec, run.options.workers);
  resumed = resumed || !ranges.created;
  auto& t = run.tables.emplace_back();
  t.spec = &spec;
  t.ranges = std::move(ranges.ranges);
  t.report.table = std::string(spec.name);
  for (const auto& r : t.ranges) {
    t.span += r.range_end - r.range_start + 1;
    t.covered += covered(r);
  }
  t.covered_at_start = t.covered;
  std::int64_t copied_before = 0;  // by earlier runs: a floor for the estimate
  for (const auto& r : t.ranges) copied_before += r.rows_copied;
  t.estimated_rows = std::max(co_await detail::estimated_rows(run.pool, spec.name),
                              static_cast<double>(copied_before));
  // Never analyzed nor counted by the statistics: one row per key value, a guess.
  if (t.estimated_rows <= 0 && t.covered < t.span) t.estimated_rows = static_cast<double>(t.span);
  const obs::Labels labels{{"table", std::string(spec.name)}};
  t.rows_metric = &metrics.counter("folio_backfill_rows_total",
                                   "Rows the backfill copied into the partitioned tables", labels);
  t.batches_metric =
      &metrics.counter("folio_backfill_batches_total", "Backfill batches committed", labels);
  t.retries_metric =
      &metrics.counter("folio_backfill_retries_total",
                       "Backfill batches re-run after a deadlock or serialization failure", labels);
  t.duration_metric = &metrics.histogram(
      "folio_backfill_batch_duration_seconds", "Duration of one backfill batch transaction",
      {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}, labels);
  t.ratio_metric = &metrics.gauge("folio_backfill_progress_ratio",
                                  "Share of the backfill's id ranges done", labels);
  t.ratio_metric->set(t.span > 0 ? static_cast<double>(t.covered) / static_cast<double>(t.span)
                                 : 1.0);
  if (t.covered == t.span) co_return;

  t.insert_sql = co_await detail::copy_sql(run.pool, spec);
  // Limits are in ids; a table walked by org_id converts them at its rows per org_id.
  const double per_value =
      spec.range_column == "id"
          ? 1.0
          : co_await detail::rows_per_value(run.pool, spec, t.ranges.front().range_start,
                                            t.ranges.back().range_end);
  const auto& o = run.options;
  t.fixed = o.batch_size > 0 ? scaled(o.batch_size, per_value) : 0;
  t.min = scaled(o.min_batch, per_value);
  t.max = std::max(t.min, scaled(o.max_batch, per_value));
  t.initial = scaled(o.initial_batch, per_value);
  for (auto& r : t.ranges) {
    if (!r.finished()) run.queue.emplace_back(&t, &r);
  }
}

}  // namespace

asio::awaitable<BackfillReport> backfill(db::Pool& pool, BackfillOptions options,
                                         BackfillProgressFn on_progress) {
  validate(pool, options);
  const auto specs = resolve_tables(options.tables);
  co_await require_sync_on(pool);

  Run run(pool, options, std::move(on_progress));
  run.preamble = co_await detail::batch_preamble(pool, options.skip_triggers);
  BackfillReport report;
  auto& metrics = obs::Registry::global();
  bool created_any = false;
  for (const TableSpec* spec : specs) {
    bool resumed = false;
    co_await add_table(run, *spec, metrics, resumed);
    report.resumed = report.resumed || resumed;
    created_any = created_any || !resumed;
  }
  report.noop = run.queue.empty() && !created_any;
  const int workers = static_cast<int>(
      std::min<std::size_t>(static_cast<std::size_t>(options.workers), run.queue.size()));
  report.workers = options.workers;
  run.log.info("backfill starting", {{"ranges_left", static_cast<std::int64_t>(run.queue.size())},
                                     {"workers", workers},
                                     {"resumed", report.resumed}});
  run.publish();

  std::exception_ptr error;
  try {
    co_await run_workers(run, workers);
  } catch (...) {
    error = std::current_exception();
  }
  report.seconds = Seconds(Clock::now() - run.started).count();
  report.paused_seconds = run.paused_seconds;
  for (const auto& t : run.tables) report.tables.push_back(t.report);
  if (error) {
    run.log.error("backfill stopped by an error", {{"rows_copied", report.rows_copied()}});
    std::rethrow_exception(error);
  }
  run.publish(true);
  // Debug: the phase's result says the same to the operator, once.
  run.log.debug("backfill finished", {{"rows_copied", report.rows_copied()},
                                      {"batches", report.batches()},
                                      {"seconds", report.seconds},
                                      {"paused_seconds", report.paused_seconds}});
  co_return report;
}

}  // namespace folio::cutover
