// Concurrent writers of one organization and the same few days: creates, updates that move
// entries (theirs and each other's) between days and months, and deletes, all at once. The
// balances must still equal the sums of the entries, and both sides stay identical; the
// deadlocks and serialization failures this provokes are retried by the repository.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iostream>
#include <random>

#include "finance_fixture.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::finance::test {
namespace {

using namespace std::chrono;
constexpr std::int64_t kOrg = 9000001;
constexpr int kWorkers = 8;
constexpr int kRounds = 15;

class FinanceConcurrencyTest : public ::testing::TestWithParam<Mode> {};

struct Shared {
  std::vector<Entry> entries;  // every entry created so far, by any worker
  int failures = 0;
};

Timestamp some_time(std::mt19937_64& random) {
  // Two days of one month and one day of the next.
  static const std::array<year_month_day, 3> kDays = {2026y / September / 29,
                                                      2026y / September / 30, 2026y / October / 1};
  return at(kDays[random() % kDays.size()], static_cast<int>(random() % 24),
            static_cast<int>(random() % 60));
}

asio::awaitable<void> worker(FinanceRepository& repo, Shared& shared, int seed) {
  std::mt19937_64 random(static_cast<std::uint64_t>(seed));
  for (int round = 0; round < kRounds; ++round) {
    const EntryKind kind = random() % 2 == 0 ? EntryKind::revenue : EntryKind::expense;
    const NewEntry entry =
        new_entry("other", static_cast<std::int64_t>(1 + random() % 10000), some_time(random));
    shared.entries.push_back(co_await repo.create(kOrg, kind, entry));
    // Someone's entry (possibly being changed or deleted by another worker right now).
    const Entry target = shared.entries[random() % shared.entries.size()];
    if (random() % 5 == 0) {
      co_await repo.remove(kOrg, target.kind, target.id);
    } else {
      const EntryPatch patch =
          move_patch(static_cast<std::int64_t>(random() % 10000), some_time(random));
      co_await repo.update(kOrg, target.kind, target.id, patch);
    }
  }
}

TEST_P(FinanceConcurrencyTest, ConcurrentWritersKeepBalancesEqualToTheSums) {
  FinanceDatabase db("fin_race", GetParam());
  db.add_org(kOrg, "EUR");
  const std::string suffix = GetParam().target == Target::partitioned ? "_partitioned" : "";
  auto& retries = obs::Registry::global().counter(
      "folio_finance_retries_total",
      "Finance repository units rerun after a deadlock or serialization failure",
      {{"operation", "update"}});
  const double retries_before = retries.value();
  Shared shared;
  RepositoryOptions options;
  options.max_attempts = 20;
  run(
      db,
      [&](Services& s) -> asio::awaitable<void> {
        const auto executor = co_await asio::this_coro::executor;
        int pending = kWorkers;
        asio::steady_timer all_done(executor, steady_clock::time_point::max());
        for (int w = 0; w < kWorkers; ++w) {
          asio::co_spawn(executor, worker(s.repo, shared, 1000 + w), [&](std::exception_ptr error) {
            if (error) {
              ++shared.failures;
              try {
                std::rethrow_exception(error);
              } catch (const std::exception& e) {
                ADD_FAILURE() << "worker failed: " << e.what();
              }
            }
            if (--pending == 0) all_done.cancel();
          });
        }
        co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
      },
      kWorkers, options);
  EXPECT_EQ(shared.failures, 0);
  EXPECT_EQ(shared.entries.size(), static_cast<std::size_t>(kWorkers * kRounds));
  EXPECT_GT(db.scalar("SELECT count(*) FROM balances" + suffix +
                      " WHERE org_id = " + std::to_string(kOrg)),
            0);
  EXPECT_EQ(db.balance_mismatches(kOrg, suffix), 0);
  if (GetParam().synced) {
    EXPECT_EQ(db.balance_mismatches(kOrg, "_partitioned"), 0);
  }
  EXPECT_EQ(db.side_differences(), 0);
  std::cout << "update retries: " << retries.value() - retries_before << "\n";
}

asio::awaitable<void> pause(milliseconds period) {
  asio::steady_timer timer(co_await asio::this_coro::executor, period);
  co_await timer.async_wait(asio::use_awaitable);
}

// An update that waits for a row another transaction moves to another month fails with a
// serialization failure on the partitioned side; the repository reruns it on the new version.
TEST(FinanceRetry, AnUpdateBehindAMoveIsRerunOnTheMovedRow) {
  FinanceDatabase db("fin_retry", kPartitionedSynced);
  db.add_org(kOrg, "EUR");
  auto& retries = obs::Registry::global().counter(
      "folio_finance_retries_total",
      "Finance repository units rerun after a deadlock or serialization failure",
      {{"operation", "update"}});
  const double retries_before = retries.value();
  run(db, [&](Services& s) -> asio::awaitable<void> {
    const Entry e = co_await s.repo.create(kOrg, EntryKind::revenue,
                                           new_entry("room", 100, at(2026y / September / 10, 9)));
    const std::string where = " WHERE org_id = " + std::to_string(kOrg);
    // Another writer moves the entry to October and fixes both days, and holds its locks.
    auto mover = co_await s.pool.acquire();
    co_await mover->execute_script(
        "BEGIN; UPDATE revenues_partitioned SET occurred_at = '2026-10-05 10:00+00'" + where +
        " AND id = " + std::to_string(e.id) +
        "; UPDATE balances_partitioned SET revenue_cents = revenue_cents - 100, net_cents ="
        " net_cents - 100" +
        where +
        " AND balance_date = '2026-09-10';"
        " INSERT INTO balances_partitioned (org_id, balance_date, revenue_cents, net_cents)"
        " VALUES (" +
        std::to_string(kOrg) + ", '2026-10-05', 100, 100)");
    bool done = false;
    std::optional<Entry> updated;
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&]() -> asio::awaitable<void> {
          updated =
              co_await s.repo.update(kOrg, EntryKind::revenue, e.id, move_patch(500, std::nullopt));
        },
        [&](std::exception_ptr error) {
          EXPECT_FALSE(error);
          done = true;
        });
    // The update must be waiting for the mover's lock before the mover commits, or it would
    // simply run after the move: wait until a session of this database waits on a lock.
    std::int64_t waiting = 0;
    for (int i = 0; i < 3000 && waiting == 0; ++i) {
      waiting = (co_await s.pool.query("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                       "current_database() AND wait_event_type = 'Lock'"))
                    .scalar<std::int64_t>();
      if (waiting == 0) co_await pause(milliseconds(20));
    }
    EXPECT_EQ(waiting, 1) << "the update never waited for the mover's lock";
    EXPECT_FALSE(done);  // waiting for the mover's lock
    co_await mover->execute_script("COMMIT");
    for (int i = 0; i < 500 && !done; ++i) co_await pause(milliseconds(10));
    EXPECT_TRUE(done);
    EXPECT_TRUE(updated && updated->amount_cents == 500 &&
                updated->occurred_at == at(2026y / October / 5, 10));
  });
  EXPECT_GE(retries.value() - retries_before, 1);
  EXPECT_EQ(db.balance_mismatches(kOrg, "_partitioned"), 0);
  EXPECT_EQ(db.balance_mismatches(kOrg), 0);
  EXPECT_EQ(db.side_differences(), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, FinanceConcurrencyTest,
                         ::testing::Values(kLegacy, kLegacySynced, kPartitionedSynced), mode_name);

}  // namespace
}  // namespace folio::finance::test
