// The backfill against the real local stack: copies everything, resumes, stays exact under
// concurrent writers, refuses without the sync, splits ranges, adapts and throttles.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>
#include <set>

#include "folio/cutover/backfill.hpp"
#include "folio/cutover/schema.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/db/connection.hpp"
#include "folio/db/errors.hpp"
#include "folio/db/retry.hpp"
#include "folio/obs/metrics.hpp"
#include "support/async.hpp"
#include "support/cutover_database.hpp"

namespace folio::cutover {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using test::scalar;
using test::side_differences;

constexpr std::array<std::string_view, 3> kTables = {"revenues", "expenses", "balances"};

db::PoolOptions pool_options(const std::string& dsn, std::size_t size = 4) {
  return {.dsn = dsn, .name = "test", .max_size = size};
}

void prepare_and_sync(const std::string& dsn, bool sync = true) {
  test::run_async([&](asio::io_context& io) -> awaitable<void> {
    db::Pool pool(io.get_executor(), pool_options(dsn));
    co_await prepare(pool, {});
    if (sync) co_await sync_on(pool, {});
  });
}

BackfillReport run_backfill(const std::string& dsn, const BackfillOptions& options,
                            BackfillProgressFn on_progress = {}) {
  return test::run_async(
      [&](asio::io_context& io) -> awaitable<BackfillReport> {
        db::Pool pool(io.get_executor(), pool_options(dsn, options.workers + 1));
        co_return co_await backfill(pool, options, on_progress);
      },
      std::chrono::seconds(300));
}

std::int64_t count(const std::string& dsn, std::string_view table) {
  return scalar(dsn, "SELECT count(*) FROM " + std::string(table));
}

void expect_identical_sides(const std::string& dsn) {
  for (const auto table : kTables) {
    EXPECT_EQ(side_differences(dsn, table), 0) << table;
    EXPECT_EQ(count(dsn, table), count(dsn, std::string(table) + "_partitioned")) << table;
  }
}

std::int64_t unfinished_ranges(const std::string& dsn) {
  return scalar(dsn, "SELECT count(*) FROM backfill_progress WHERE next_start <= range_end");
}

TEST(BackfillTest, CopiesEverythingOnceThenIsANoop) {
  test::CutoverDatabase db("folio_backfill", 300, 20, 6);
  prepare_and_sync(db.dsn());
  const std::int64_t revenues = count(db.dsn(), "revenues");
  const std::int64_t balances = count(db.dsn(), "balances");
  ASSERT_GT(revenues, 0);

  const auto first = test::run_async([&](asio::io_context& io) -> awaitable<AuditedPhase> {
    db::Pool pool(io.get_executor(), pool_options(db.dsn()));
    co_return co_await run_backfill_phase(pool, {}, StatsLevel::counts);
  });
  EXPECT_EQ(first.status, "ok");
  EXPECT_EQ(first.details.at("rows_copied").at("revenues").as_int64(), revenues);
  EXPECT_EQ(first.details.at("rows_copied").at("balances").as_int64(), balances);
  EXPECT_FALSE(first.details.at("resumed").as_bool());
  expect_identical_sides(db.dsn());
  EXPECT_EQ(unfinished_ranges(db.dsn()), 0);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM backfill_progress"), 3);
  EXPECT_EQ(scalar(db.dsn(), "SELECT sum(rows_copied)::bigint FROM backfill_progress"),
            revenues + balances + count(db.dsn(), "expenses"));

  const auto again = test::run_async([&](asio::io_context& io) -> awaitable<AuditedPhase> {
    db::Pool pool(io.get_executor(), pool_options(db.dsn()));
    co_return co_await run_backfill_phase(pool, {}, StatsLevel::counts);
  });
  EXPECT_EQ(again.status, "noop");
  EXPECT_EQ(again.details.at("batches").as_int64(), 0);
  EXPECT_TRUE(again.details.at("resumed").as_bool());
  EXPECT_EQ(count(db.dsn(), "revenues_partitioned"), revenues);
  EXPECT_EQ(scalar(db.dsn(),
                   "SELECT count(*) FROM cutover_audit WHERE phase = 'backfill' "
                   "AND status IN ('ok', 'noop')"),
            2);
}

TEST(BackfillTest, RefusesWhileTheSyncIsOffAndTakesNoBound) {
  test::CutoverDatabase db("folio_backfill", 20, 10, 3);
  prepare_and_sync(db.dsn(), /*sync=*/false);
  EXPECT_THROW(run_backfill(db.dsn(), {}), BackfillRefused);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM backfill_progress"), 0);
  EXPECT_EQ(count(db.dsn(), "revenues_partitioned"), 0);
}

TEST(BackfillTest, SplitsRangesAmongWorkersAndResumesWithFewer) {
  test::CutoverDatabase db("folio_backfill", 300, 20, 6);
  prepare_and_sync(db.dsn());
  BackfillOptions options;
  options.workers = 3;
  options.batch_size = 500;
  const auto report = run_backfill(db.dsn(), options);
  EXPECT_EQ(report.workers, 3);
  expect_identical_sides(db.dsn());
  for (const auto table : kTables) {
    const std::string t(table);
    const std::string col = t == "balances" ? "org_id" : "id";
    EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM backfill_progress WHERE table_name = '" + t +
                                   "' AND next_start = range_end + 1"),
              3)
        << t;
    // Contiguous and covering [min, max] of the legacy table.
    EXPECT_EQ(scalar(db.dsn(),
                     "SELECT sum(range_end - range_start + 1)::bigint FROM backfill_progress "
                     "WHERE table_name = '" +
                         t + "'"),
              scalar(db.dsn(), "SELECT max(" + col + ") - min(" + col + ") + 1 FROM " + t))
        << t;
  }

  // Lose a stretch of the copy (guarded, so legacy keeps it), rewind its range, resume with
  // one worker: exactly the lost rows come back.
  const auto range_start = scalar(db.dsn(),
                                  "SELECT range_start FROM backfill_progress WHERE "
                                  "table_name = 'revenues' ORDER BY range_start "
                                  "OFFSET 1 LIMIT 1");
  test::run_script(db.dsn(),
                   "BEGIN; SELECT set_config('folio.sync_guard', 'on', true); "
                   "DELETE FROM revenues_partitioned WHERE id BETWEEN " +
                       std::to_string(range_start) + " AND " + std::to_string(range_start + 999) +
                       "; UPDATE backfill_progress SET next_start = range_start WHERE "
                       "table_name = 'revenues' AND range_start = " +
                       std::to_string(range_start) + "; COMMIT;");
  const auto lost = count(db.dsn(), "revenues") - count(db.dsn(), "revenues_partitioned");
  ASSERT_GT(lost, 0);
  BackfillOptions one;
  one.workers = 1;
  const auto resumed = run_backfill(db.dsn(), one);
  EXPECT_TRUE(resumed.resumed);
  EXPECT_FALSE(resumed.noop);
  EXPECT_EQ(resumed.rows_copied(), lost);
  EXPECT_EQ(resumed.tables[0].rows_copied, lost);
  expect_identical_sides(db.dsn());
  EXPECT_EQ(unfinished_ranges(db.dsn()), 0);
}

TEST(BackfillTest, FixedBatchSizeGivesExactBatchCount) {
  test::CutoverDatabase db("folio_backfill", 100, 20, 3);
  prepare_and_sync(db.dsn());
  BackfillOptions options;
  options.tables = {"revenues"};
  options.batch_size = 300;
  const auto report = run_backfill(db.dsn(), options);
  const auto span = scalar(db.dsn(), "SELECT max(id) - min(id) + 1 FROM revenues");
  ASSERT_EQ(report.tables.size(), 1u);
  EXPECT_EQ(report.tables[0].batches, (span + 299) / 300);
  EXPECT_EQ(report.tables[0].max_span, 300);
  EXPECT_EQ(report.tables[0].rows_copied, count(db.dsn(), "revenues"));
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM backfill_progress"), 1);  // revenues only
  EXPECT_EQ(count(db.dsn(), "expenses_partitioned"), 0);
}

TEST(BackfillTest, AdaptsTheBatchSpanToTheTargetDuration) {
  test::CutoverDatabase db("folio_backfill", 300, 20, 6);
  prepare_and_sync(db.dsn());
  BackfillOptions tiny;
  tiny.tables = {"revenues"};
  tiny.target_batch = std::chrono::milliseconds(1);
  tiny.initial_batch = 2000;
  tiny.min_batch = 20;
  const auto shrunk = run_backfill(db.dsn(), tiny);
  EXPECT_EQ(shrunk.tables[0].max_span, 2000);
  EXPECT_LT(shrunk.tables[0].min_span, 2000);
  EXPECT_GE(shrunk.tables[0].min_span, 20);

  BackfillOptions roomy;
  roomy.tables = {"expenses"};
  roomy.target_batch = std::chrono::seconds(20);
  roomy.initial_batch = 50;
  roomy.min_batch = 10;
  const auto grown = run_backfill(db.dsn(), roomy);
  EXPECT_EQ(grown.tables[0].min_span, 50);
  EXPECT_GE(grown.tables[0].max_span, 400);  // doubled at least three times
  EXPECT_EQ(side_differences(db.dsn(), "revenues"), 0);
  EXPECT_EQ(side_differences(db.dsn(), "expenses"), 0);
}

TEST(BackfillTest, PausesWhileReplicasLag) {
  test::CutoverDatabase db("folio_backfill", 50, 10, 3);
  prepare_and_sync(db.dsn());
  BackfillOptions options;
  options.tables = {"revenues"};
  options.lag_poll = std::chrono::milliseconds(100);
  options.max_replica_lag_bytes = 1000;
  int polls = 0;
  options.replica_lag = [&polls]() -> awaitable<std::int64_t> {
    co_return ++polls <= 4 ? 5000 : 10;
  };
  bool saw_pause = false;
  const auto report = run_backfill(db.dsn(), options, [&](const BackfillProgress& p) {
    saw_pause = saw_pause || (p.paused && p.replica_lag_bytes == 5000);
  });
  EXPECT_TRUE(saw_pause);
  EXPECT_GE(report.paused_seconds, 0.35);
  EXPECT_LT(report.paused_seconds, 5.0);
  EXPECT_EQ(side_differences(db.dsn(), "revenues"), 0);
}

TEST(BackfillTest, RestsBetweenBatchesBelowFullDutyCycle) {
  test::CutoverDatabase db("folio_backfill", 100, 20, 3);
  prepare_and_sync(db.dsn());
  BackfillOptions options;
  options.tables = {"revenues"};
  options.duty_cycle = 0;
  EXPECT_THROW(run_backfill(db.dsn(), options), std::invalid_argument);

  options.duty_cycle = 0.25;  // rests three times as long as each batch took
  options.batch_size = 200;
  auto& durations = obs::Registry::global().histogram(
      "folio_backfill_batch_duration_seconds", "Duration of one backfill batch transaction",
      {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}, {{"table", "revenues"}});
  const double busy_before = durations.sum();
  const auto report = run_backfill(db.dsn(), options);
  const double busy = durations.sum() - busy_before;
  EXPECT_GT(report.tables[0].batches, 5);
  EXPECT_GT(busy, 0);
  EXPECT_GE(report.seconds, 3.5 * busy);
  EXPECT_EQ(side_differences(db.dsn(), "revenues"), 0);
}

TEST(BackfillTest, ProgressLineShowsRateEtaAndPause) {
  BackfillProgress p;
  p.span = 1000;
  p.covered = 452;
  p.rows_copied = 1234567;
  p.rows_per_s = 85000.4;
  p.eta = std::chrono::seconds(17);
  p.paused = true;
  EXPECT_EQ(format_progress_line(p, 10),
            "[####      ]  45.2%  1,234,567 rows  85,000 rows/s  ETA 0:17  (paused: replica lag)");
  p.paused = false;
  p.eta = std::chrono::seconds(3725);
  EXPECT_EQ(format_progress_line(p, 10),
            "[####      ]  45.2%  1,234,567 rows  85,000 rows/s  ETA 1:02:05");
  p.eta.reset();
  p.covered = 1000;
  p.rows_copied = 12;
  EXPECT_EQ(format_progress_line(p, 4), "[####] 100.0%  12 rows  85,000 rows/s  ETA -:--");
}

TEST(BackfillTest, ProgressWeighsTablesByRowsNotByKeySpan) {
  // At 1,000,000 organizations the entries span 20M ids and balances 1M organization ids, but
  // balances hold 10M rows: by span, the entries done read 98.8 % with half of balances left.
  BackfillProgress p;
  p.tables = {{"revenues", 10'000'000, 10'000'000, 5'000'000, 100, 5'000'000},
              {"expenses", 10'000'000, 10'000'000, 5'000'000, 100, 5'000'000},
              {"balances", 1'000'000, 500'000, 5'000'000, 100, 10'000'000}};
  for (const auto& t : p.tables) {
    p.span += t.span;
    p.covered += t.covered;
    p.estimated_rows += t.estimated_rows;
    p.estimated_done += t.estimated_rows * t.fraction();
  }
  EXPECT_GT(static_cast<double>(p.covered) / static_cast<double>(p.span), 0.97);
  EXPECT_DOUBLE_EQ(p.fraction(), 0.75);
  EXPECT_DOUBLE_EQ(p.tables[2].fraction(), 0.5);
  p.estimated_rows = 0;  // nothing known about any table: the key span is all there is
  EXPECT_NEAR(p.fraction(), 20.5 / 21, 1e-12);
}

TEST(BackfillTest, ProgressAndEtaFollowEstimatedRows) {
  // Balances hold about as many rows as the entries, over a key span (organization ids) a
  // fraction of theirs (row ids, shared by revenues and expenses).
  test::CutoverDatabase db("folio_backfill_progress", 40, 20, 6);
  prepare_and_sync(db.dsn());
  test::run_script(db.dsn(), "ANALYZE revenues, expenses, balances");
  const double entries =
      static_cast<double>(count(db.dsn(), "revenues") + count(db.dsn(), "expenses"));
  const double all = entries + static_cast<double>(count(db.dsn(), "balances"));
  ASSERT_LT(entries / all, 0.7);

  BackfillOptions options;
  options.batch_size = 100;  // ids; balances: about one organization per batch
  std::vector<BackfillProgress> frames;
  run_backfill(db.dsn(), options, [&](const BackfillProgress& p) { frames.push_back(p); });
  ASSERT_FALSE(frames.empty());
  EXPECT_TRUE(frames.back().done);
  EXPECT_DOUBLE_EQ(frames.back().fraction(), 1.0);
  bool saw_entries_done = false;
  for (const auto& p : frames) {
    ASSERT_EQ(p.tables.size(), 3u);
    // Entries all copied, balances not started: the share of the rows, not of the key span.
    if (p.tables[0].covered == p.tables[0].span && p.tables[1].covered == p.tables[1].span &&
        p.tables[2].covered == 0) {
      saw_entries_done = true;
      EXPECT_NEAR(p.fraction(), entries / all, 0.02);
      EXPECT_GT(static_cast<double>(p.covered) / static_cast<double>(p.span), 0.9);
      ASSERT_TRUE(p.eta.has_value());
      // The rows left take about (all - entries) / entries times as long as the entries took.
      EXPECT_GT(p.eta->count(), 0.5 * (all - entries) / entries * p.elapsed.count());
    }
  }
  EXPECT_TRUE(saw_entries_done);
}

// ---- concurrent writers ---------------------------------------------------------------------

struct WriterLog {
  std::set<std::int64_t> deleted_ids;
  std::vector<std::pair<std::int64_t, std::string>> deleted_balances;  // org, day
  std::int64_t operations = 0;
};

// Random updates (amount and month), deletes and inserts on the legacy tables, each
// statement retried after deadlocks and serialization failures.
awaitable<void> legacy_writer(std::string dsn, unsigned seed, const bool& stop, WriterLog& log) {
  auto conn = co_await db::Connection::connect(co_await asio::this_coro::executor, dsn,
                                               std::chrono::seconds(5));
  const auto lo = (co_await conn->query("SELECT min(id) FROM revenues")).scalar<std::int64_t>();
  const auto hi = (co_await conn->query("SELECT max(id) FROM expenses")).scalar<std::int64_t>();
  const auto org_lo =
      (co_await conn->query("SELECT min(id) FROM organizations")).scalar<std::int64_t>();
  const auto org_hi =
      (co_await conn->query("SELECT max(id) FROM organizations")).scalar<std::int64_t>();
  std::mt19937_64 rng(seed);
  db::RetryPolicy retry;
  retry.max_attempts = 200;
  while (!stop || log.operations < 300) {
    const std::int64_t id = std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    const std::int64_t org = std::uniform_int_distribution<std::int64_t>(org_lo, org_hi)(rng);
    const int what = static_cast<int>(rng() % 10);
    const std::string table = rng() % 2 ? "revenues" : "expenses";
    const std::string day =
        "2026-0" + std::to_string(8 + rng() % 2) + "-1" + std::to_string(rng() % 10);
    co_await db::with_retry(
        [&]() -> awaitable<void> {
          if (what < 4) {  // a new amount in another month
            co_await conn->query("UPDATE " + table +
                                     " SET amount_cents = amount_cents + 7, occurred_at = "
                                     "timestamptz '2026-08-01 00:00+00' + random() * interval "
                                     "'60 days', updated_at = now() WHERE id = $1",
                                 id);
          } else if (what < 6) {
            const auto r = co_await conn->query("DELETE FROM " + table + " WHERE id = $1", id);
            if (r.affected_rows() == 1) log.deleted_ids.insert(id);
          } else if (what < 8) {
            co_await conn->query("INSERT INTO " + table +
                                     " (org_id, category, amount_cents, currency, occurred_at) "
                                     "VALUES ($1, 'other', 4200, 'EUR', timestamptz "
                                     "'2026-09-03 12:00+00')",
                                 org);
          } else if (what < 9) {
            co_await conn->query(
                "UPDATE balances SET revenue_cents = revenue_cents + 3, "
                "net_cents = net_cents + 3, updated_at = now() "
                "WHERE org_id = $1 AND balance_date = $2::date",
                org, day);
          } else {
            const auto r = co_await conn->query(
                "DELETE FROM balances WHERE org_id = $1 AND balance_date = $2::date", org, day);
            if (r.affected_rows() == 1) log.deleted_balances.emplace_back(org, day);
          }
        },
        retry);
    ++log.operations;
  }
}

std::string id_list(const std::set<std::int64_t>& ids) {
  std::string out;
  for (const auto id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

// Two ways of keeping copied rows from echoing back: the partitioned side's triggers skipped
// (session_replication_role, the tests' role may set it) or firing and stopping at the guard.
class BackfillWritersTest : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(TriggersSkippedOrGuarded, BackfillWritersTest, ::testing::Bool());

TEST_P(BackfillWritersTest, ConcurrentWritersNeverGetResurrectedOrOverwritten) {
  test::CutoverDatabase db("folio_backfill", 600, 20, 6);
  prepare_and_sync(db.dsn());
  WriterLog logs[3];
  const auto report = test::run_async(
      [&](asio::io_context& io) -> awaitable<BackfillReport> {
        bool stop = false;
        int running = 3;
        for (unsigned i = 0; i < 3; ++i) {
          asio::co_spawn(io, legacy_writer(db.dsn(), 17 + i, stop, logs[i]),
                         [&](std::exception_ptr e) {
                           --running;
                           if (e) std::rethrow_exception(e);
                         });
        }
        db::Pool pool(io.get_executor(), pool_options(db.dsn(), 3));
        BackfillOptions options;
        options.workers = 2;
        options.batch_size = 150;  // many small batches, so writers hit rows mid-copy
        options.skip_triggers = GetParam();
        auto result = co_await backfill(pool, options);
        stop = true;
        asio::steady_timer wait(io);
        while (running > 0) {
          wait.expires_after(std::chrono::milliseconds(20));
          co_await wait.async_wait(asio::use_awaitable);
        }
        co_return result;
      },
      std::chrono::seconds(300));
  EXPECT_FALSE(report.noop);
  std::set<std::int64_t> deleted;
  std::int64_t operations = 0;
  for (const auto& log : logs) {
    deleted.insert(log.deleted_ids.begin(), log.deleted_ids.end());
    operations += log.operations;
  }
  EXPECT_GE(operations, 900);
  ASSERT_FALSE(deleted.empty());
  expect_identical_sides(db.dsn());
  const auto ids = id_list(deleted);
  EXPECT_EQ(
      scalar(db.dsn(), "SELECT count(*) FROM revenues_partitioned WHERE id IN (" + ids + ")") +
          scalar(db.dsn(), "SELECT count(*) FROM expenses_partitioned WHERE id IN (" + ids + ")"),
      0);
  for (const auto& log : logs) {
    for (const auto& [org, day] : log.deleted_balances) {
      EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM balances_partitioned WHERE org_id = " +
                                     std::to_string(org) + " AND balance_date = '" + day + "'"),
                0);
    }
  }
  EXPECT_EQ(unfinished_ranges(db.dsn()), 0);
}

}  // namespace
}  // namespace folio::cutover
