// The partitioned schema: partitions cover the data's months plus future ones, a per-org
// date-range query prunes to that org's hash leaf of those months, prepare is idempotent, and
// a row with no month partition waits in the DEFAULT partition.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "folio/cutover/schema.hpp"
#include "folio/cutover/tables.hpp"
#include "folio/db/errors.hpp"
#include "support/cutover_database.hpp"

namespace folio::cutover {
namespace {

namespace asio = boost::asio;
using test::scalar;

std::string explain(const std::string& dsn, const std::string& sql) {
  return test::run_async([&](asio::io_context& io) -> asio::awaitable<std::string> {
    auto c = co_await db::Connection::connect(io.get_executor(), dsn, std::chrono::seconds(5));
    auto r = co_await c->execute("EXPLAIN (COSTS OFF) " + sql);
    std::string plan;
    for (const auto& row : r) plan += row.get<std::string>(0) + "\n";
    co_return plan;
  });
}

PrepareReport run_prepare(const std::string& dsn, PrepareOptions options = {}) {
  return test::run_async([&](asio::io_context& io) -> asio::awaitable<PrepareReport> {
    db::Pool pool(io.get_executor(), {.dsn = dsn, .max_size = 2});
    co_return co_await prepare(pool, options);
  });
}

TEST(Schema, PrepareCoversDataMonthsPrunesAndIsIdempotent) {
  // Six months of history ending 2026-10; "now" is later, so the range reaches the future.
  test::CutoverDatabase db("schema", 40, 10, 6);
  PrepareOptions options;
  options.hash_modulus = 8;
  options.future_months = 2;
  const auto first = run_prepare(db.dsn(), options);
  EXPECT_EQ(first.tables_created, 3);
  EXPECT_EQ(first.hash_modulus, 8);
  EXPECT_LE(first.first_month, std::chrono::year{2026} / std::chrono::May);
  EXPECT_GT(first.months_created, 3 * 6);

  // Every month parent has 8 leaves, and no legacy row lacks a partition.
  EXPECT_EQ(scalar(db.dsn(),
                   "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                   "WHERE i.inhparent = 'revenues_partitioned_y2026m10'::regclass"),
            8);
  EXPECT_EQ(scalar(db.dsn(),
                   "SELECT count(*) FROM revenues r WHERE NOT EXISTS (SELECT 1 FROM "
                   "pg_class WHERE relname = 'revenues_partitioned_y' || "
                   "to_char(r.occurred_at AT TIME ZONE 'UTC', 'YYYY\"m\"MM'))"),
            0);

  // A per-org, one-month query touches exactly one leaf: that org's bucket of that month.
  const auto plan = explain(
      db.dsn(),
      "SELECT sum(amount_cents) FROM revenues_partitioned WHERE org_id = 7 AND occurred_at >= "
      "'2026-08-01 00:00+00' AND occurred_at < '2026-09-01 00:00+00'");
  const int bucket =
      static_cast<int>(scalar(db.dsn(), "SELECT " + hash_bucket_sql("7::bigint", 8)));
  EXPECT_NE(plan.find(fmt::format("revenues_partitioned_y2026m08_h{:02d}", bucket)),
            std::string::npos)
      << plan;
  const auto scans = [](const std::string& p) {
    int n = 0;
    for (auto at = p.find(" on revenues_partitioned_"); at != std::string::npos;
         at = p.find(" on revenues_partitioned_", at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(scans(plan), 1) << "not exactly one leaf:\n" << plan;
  EXPECT_EQ(plan.find("default"), std::string::npos) << plan;

  // Two months for one org: two leaves.
  const auto two =
      explain(db.dsn(),
              "SELECT count(*) FROM balances_partitioned WHERE org_id = 7 AND balance_date >= "
              "'2026-08-01' AND balance_date < '2026-10-01'");
  EXPECT_NE(two.find("balances_partitioned_y2026m08"), std::string::npos) << two;
  EXPECT_NE(two.find("balances_partitioned_y2026m09"), std::string::npos) << two;
  EXPECT_EQ(two.find("balances_partitioned_y2026m10"), std::string::npos) << two;

  // Idempotent: nothing new the second time.
  const auto again = run_prepare(db.dsn(), options);
  EXPECT_EQ(again.tables_created, 0);
  EXPECT_EQ(again.months_created, 0);

  // A different modulus is refused rather than mixing layouts.
  options.hash_modulus = 16;
  EXPECT_THROW(run_prepare(db.dsn(), options), db::ObjectNotInPrerequisiteState);

  // Same columns in the same order on both sides, ids from the shared sequence.
  EXPECT_EQ(scalar(db.dsn(),
                   "SELECT count(*) FROM (SELECT attnum, attname, atttypid FROM pg_attribute "
                   "WHERE attrelid = 'expenses'::regclass AND attnum > 0 EXCEPT SELECT attnum, "
                   "attname, atttypid FROM pg_attribute WHERE attrelid = "
                   "'expenses_partitioned'::regclass AND attnum > 0) d"),
            0);
  EXPECT_EQ(scalar(db.dsn(),
                   "INSERT INTO revenues_partitioned (org_id, category, amount_cents, "
                   "currency, occurred_at) VALUES (1, 'room', 5, 'EUR', "
                   "'2026-09-03 10:00+00') RETURNING id") >
                scalar(db.dsn(), "SELECT max(id) FROM revenues"),
            true);
}

TEST(Schema, DefaultPartitionAcceptsRowsWithoutAMonth) {
  // Legacy accepts any date; so must the partitioned side: the row waits in the DEFAULT
  // partition, where a query bounded to its month finds it, until maintenance moves it.
  test::CutoverDatabase db("schema_default");
  run_prepare(db.dsn());
  test::run_script(db.dsn(),
                   "INSERT INTO revenues_partitioned (org_id, category, amount_cents, currency, "
                   "occurred_at) VALUES (1, 'room', 5, 'EUR', '2091-01-01 00:00+00')");
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM revenues_partitioned_default"), 1);
  EXPECT_EQ(scalar(db.dsn(),
                   "SELECT sum(amount_cents) FROM revenues_partitioned WHERE org_id = 1 AND "
                   "occurred_at >= '2091-01-01 00:00+00' AND occurred_at < '2091-02-01 00:00+00'"),
            5);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM revenues_locator WHERE month = '2091-01-01'"),
            1);
}

}  // namespace
}  // namespace folio::cutover
