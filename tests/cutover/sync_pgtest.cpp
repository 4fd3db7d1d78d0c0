// The two-way sync, table-driven: each case is a few SQL statements against either side and
// the expected state of both sides afterwards (compared with EXCEPT, every column).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "folio/cutover/schema.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/cutover/tables.hpp"
#include "support/cutover_database.hpp"

namespace folio::cutover {
namespace {

namespace asio = boost::asio;
using test::scalar;

class SyncTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new test::CutoverDatabase("sync", 20, 6, 6);
    test::run_async([](asio::io_context& io) -> asio::awaitable<void> {
      db::Pool pool(io.get_executor(), {.dsn = db_->dsn(), .max_size = 2});
      co_await prepare(pool, {});
      EXPECT_EQ(co_await sync_on(pool, {}), 3);
      EXPECT_EQ(co_await sync_on(pool, {}), 0);  // idempotent
      for (const auto& s : co_await sync_state(pool)) EXPECT_TRUE(s.on()) << s.table;
    });
    // Copy history the way the backfill does: guard on, so nothing echoes back.
    for (const auto& spec : all_tables()) {
      test::run_script(db_->dsn(), fmt::format("BEGIN; {}; INSERT INTO {} SELECT * FROM {}; COMMIT",
                                               kSyncGuardOnSql, spec.partitioned, spec.name));
    }
  }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
  }
  static std::int64_t q(const std::string& sql) { return scalar(db_->dsn(), sql); }
  static void exec(const std::string& sql) { test::run_script(db_->dsn(), sql); }
  static void expect_sides_equal() {
    for (const auto& spec : all_tables()) {
      EXPECT_EQ(test::side_differences(db_->dsn(), spec.name), 0) << spec.name;
    }
  }
  static test::CutoverDatabase* db_;
};
test::CutoverDatabase* SyncTest::db_ = nullptr;

struct Case {
  const char* name;
  const char* sql;    // run as one script
  const char* check;  // returns 1 when the expected state holds
};

TEST_F(SyncTest, EveryOperationOnEitherSideIsMirrored) {
  const Case cases[] = {
      {"insert through legacy",
       "INSERT INTO revenues (id, org_id, category, amount_cents, currency, occurred_at) VALUES "
       "(900001, 3, 'spa', 1200, 'EUR', '2026-09-14 10:00+00')",
       "SELECT count(*) FROM revenues_partitioned WHERE id = 900001 AND amount_cents = 1200"},
      {"insert through partitioned",
       "INSERT INTO expenses_partitioned (id, org_id, category, amount_cents, currency, "
       "occurred_at, vendor) VALUES (900002, 4, 'supplies', 300, 'EUR', '2026-08-02 08:00+00', "
       "'acme')",
       "SELECT count(*) FROM expenses WHERE id = 900002 AND vendor = 'acme'"},
      {"update amount through legacy",
       "UPDATE revenues SET amount_cents = 77, updated_at = now() WHERE id = 900001",
       "SELECT count(*) FROM revenues_partitioned WHERE id = 900001 AND amount_cents = 77"},
      {"month move through legacy moves the partitioned row",
       "UPDATE revenues SET occurred_at = '2026-10-20 09:00+00' WHERE id = 900001",
       "SELECT (count(*) = 1 AND min(tableoid::regclass::text) LIKE "
       "'revenues_partitioned_y2026m10_h%')::int FROM revenues_partitioned WHERE id = 900001"},
      {"month move through partitioned updates legacy in place",
       "UPDATE expenses_partitioned SET occurred_at = '2026-10-01 00:00+00', amount_cents = 301 "
       "WHERE id = 900002",
       "SELECT count(*) FROM expenses WHERE id = 900002 AND amount_cents = 301 AND occurred_at = "
       "'2026-10-01 00:00+00'"},
      {"org move through partitioned (another hash leaf)",
       "UPDATE expenses_partitioned SET org_id = 5 WHERE id = 900002",
       "SELECT count(*) FROM expenses WHERE id = 900002 AND org_id = 5"},
      {"delete through partitioned", "DELETE FROM expenses_partitioned WHERE id = 900002",
       "SELECT (count(*) = 0)::int FROM expenses WHERE id = 900002"},
      {"delete through legacy", "DELETE FROM revenues WHERE id = 900001",
       "SELECT (count(*) = 0)::int FROM revenues_partitioned WHERE id = 900001"},
      {"balance increment through legacy mirrors the absolute value",
       "INSERT INTO balances (org_id, balance_date, revenue_cents, expense_cents, net_cents) "
       "VALUES (3, '2026-09-14', 1000, 0, 1000) ON CONFLICT (org_id, balance_date) DO UPDATE SET "
       "revenue_cents = balances.revenue_cents + 1000, net_cents = balances.net_cents + 1000",
       "SELECT count(*) FROM balances b JOIN balances_partitioned p USING (org_id, balance_date) "
       "WHERE org_id = 3 AND balance_date = '2026-09-14' AND p.revenue_cents = b.revenue_cents "
       "AND p.net_cents = b.net_cents"},
      {"balance through partitioned",
       "INSERT INTO balances_partitioned (org_id, balance_date, revenue_cents, expense_cents, "
       "net_cents) VALUES (6, '2026-07-01', 0, 50, -50) ON CONFLICT (org_id, balance_date) DO "
       "UPDATE SET expense_cents = balances_partitioned.expense_cents + 50, net_cents = "
       "balances_partitioned.net_cents - 50",
       "SELECT count(*) FROM balances WHERE org_id = 6 AND balance_date = '2026-07-01' AND "
       "expense_cents = (SELECT expense_cents FROM balances_partitioned WHERE org_id = 6 AND "
       "balance_date = '2026-07-01')"},
      {"balance day move through partitioned",
       "UPDATE balances_partitioned SET balance_date = '2026-08-01' WHERE org_id = 6 AND "
       "balance_date = '2026-07-01'",
       "SELECT (count(*) FILTER (WHERE balance_date = '2026-07-01') = 0 AND count(*) FILTER "
       "(WHERE balance_date = '2026-08-01') = 1)::int FROM balances WHERE org_id = 6"},
      {"delete a balance through legacy",
       "DELETE FROM balances WHERE org_id = 6 AND balance_date = '2026-08-01'",
       "SELECT (count(*) = 0)::int FROM balances_partitioned WHERE org_id = 6 AND balance_date = "
       "'2026-08-01'"},
      {"several statements in one transaction: the guard is cleared after each mirror",
       "BEGIN; INSERT INTO revenues (id, org_id, category, amount_cents, currency, occurred_at) "
       "VALUES (900003, 2, 'room', 1, 'EUR', '2026-09-01 12:00+00'); UPDATE revenues SET "
       "amount_cents = 2 WHERE id = 900003; INSERT INTO revenues_partitioned (id, org_id, "
       "category, amount_cents, currency, occurred_at) VALUES (900004, 2, 'room', 4, 'EUR', "
       "'2026-09-02 12:00+00'); COMMIT",
       "SELECT ((SELECT amount_cents FROM revenues_partitioned WHERE id = 900003) = 2 AND "
       "(SELECT amount_cents FROM revenues WHERE id = 900004) = 4)::int"},
      {"bulk update of many rows through legacy",
       "UPDATE revenues SET amount_cents = amount_cents + 1 WHERE org_id IN (1, 2)",
       "SELECT (count(*) = 0)::int FROM revenues r JOIN revenues_partitioned p USING (id) "
       "WHERE r.org_id IN (1, 2) AND r.amount_cents <> p.amount_cents"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    exec(c.sql);
    EXPECT_EQ(q(c.check), 1);
    expect_sides_equal();
  }
}

TEST_F(SyncTest, GuardOnSuppressesTheMirrorForThatStatementOnly) {
  // What the backfill relies on: with the guard on, a copy does not echo back.
  exec(
      fmt::format("BEGIN; {}; INSERT INTO revenues_partitioned (id, org_id, category, "
                  "amount_cents, currency, occurred_at) VALUES (900010, 9, 'room', 1, 'EUR', "
                  "'2026-09-05 00:00+00'); COMMIT",
                  kSyncGuardOnSql));
  EXPECT_EQ(q("SELECT count(*) FROM revenues WHERE id = 900010"), 0);
  exec("DELETE FROM revenues_partitioned WHERE id = 900010");
  expect_sides_equal();
}

TEST_F(SyncTest, OffRemovesEveryTriggerAndOnRestoresThem) {
  test::run_async([](asio::io_context& io) -> asio::awaitable<void> {
    db::Pool pool(io.get_executor(), {.dsn = db_->dsn(), .max_size = 2});
    EXPECT_EQ(co_await sync_off(pool, {}), 3);
    for (const auto& s : co_await sync_state(pool)) {
      EXPECT_EQ(s.legacy_triggers + s.partitioned_triggers, 0) << s.table;
    }
    EXPECT_EQ(co_await sync_on(pool, {}), 3);
  });
  // Triggers on the parent reach leaves attached before and after.
  EXPECT_GE(q("SELECT count(*) FROM pg_trigger WHERE tgname = 'sync_revenues_update' AND "
              "tgrelid = 'revenues_partitioned_y2026m09_h00'::regclass"),
            1);
}

}  // namespace
}  // namespace folio::cutover
