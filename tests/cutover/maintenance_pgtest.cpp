// Partition maintenance against a real database: rows dated outside the partitioned window
// (1970-01, before the oldest month, after the newest, 9999-12) are accepted on both sides
// with the sync on, verification sees them in the DEFAULT partition, and a maintenance run
// creates their months and the future ones, moves the rows, keeps the sides and the locator
// identical, and reports before/after figures in its report, its gauges and cutover_audit.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "folio/cutover/maintenance.hpp"
#include "folio/cutover/schema.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/cutover/verify.hpp"
#include "folio/obs/metrics.hpp"
#include "support/cutover_database.hpp"
#include "support/metric_sample.hpp"

namespace folio::cutover {
namespace {

namespace asio = boost::asio;
using test::scalar;

std::int64_t all_side_differences(const std::string& dsn) {
  std::int64_t n = 0;
  for (const auto& spec : all_tables()) n += test::side_differences(dsn, spec.name);
  return n;
}

MaintenanceReport maintain(const std::string& dsn, int future_months) {
  return test::run_async([&](asio::io_context& io) -> asio::awaitable<MaintenanceReport> {
    db::Pool pool(io.get_executor(), {.dsn = dsn, .max_size = 2});
    MaintenanceOptions options;
    options.future_months = future_months;
    co_return co_await maintain_partitions(pool, options);
  });
}

const TableMaintenance& of(const MaintenanceReport& report, std::string_view table) {
  for (const auto& t : report.tables) {
    if (t.before.table == table) return t;
  }
  throw std::logic_error("no table " + std::string(table));
}

TEST(Maintenance, RowsOutsideTheWindowAreAcceptedAndMovedIntoTheirMonths) {
  // Six months of history ending 2026-10, synced and copied, partitions from 2026-05 on.
  test::CutoverDatabase db("maint", 30, 10, 6);
  test::run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    db::Pool pool(io.get_executor(), {.dsn = db.dsn(), .max_size = 2});
    PrepareOptions prepare_options;
    prepare_options.hash_modulus = 4;
    prepare_options.future_months = 1;
    co_await prepare(pool, prepare_options);
    EXPECT_EQ(co_await sync_on(pool, {}), 3);
  });
  for (const auto& spec : all_tables()) {
    test::run_script(db.dsn(), fmt::format("BEGIN; {}; INSERT INTO {} SELECT * FROM {}; COMMIT",
                                           kSyncGuardOnSql, spec.partitioned, spec.name));
  }
  const auto oldest =
      scalar(db.dsn(),
             "SELECT min(m[1]::int * 100 + m[2]::int) FROM pg_class c, "
             "regexp_match(c.relname, '^revenues_partitioned_y(\\d{4})m(\\d{2})$') m");
  const auto newest =
      scalar(db.dsn(),
             "SELECT max(m[1]::int * 100 + m[2]::int) FROM pg_class c, "
             "regexp_match(c.relname, '^revenues_partitioned_y(\\d{4})m(\\d{2})$') m");
  ASSERT_GT(oldest, 200000);
  const auto month_before = [](std::int64_t ym) {
    return ym % 100 == 1 ? (ym / 100 - 1) * 100 + 12 : ym - 1;
  };
  const auto month_after = [](std::int64_t ym) {
    return ym % 100 == 12 ? (ym / 100 + 1) * 100 + 1 : ym + 1;
  };
  const std::vector<std::int64_t> far_months{197001, month_before(oldest), month_after(newest),
                                             999912};
  // Written through legacy (mirrored into the partitioned DEFAULT) and through the partitioned
  // side (mirrored into legacy): entries and the balances of their days.
  for (const auto ym : far_months) {
    const std::string day = fmt::format("{:04d}-{:02d}-15", ym / 100, ym % 100);
    test::run_script(
        db.dsn(),
        fmt::format("INSERT INTO revenues (org_id, category, amount_cents, currency, occurred_at) "
                    "VALUES (3, 'room', 700, 'EUR', '{0} 12:00+00');"
                    "INSERT INTO expenses_partitioned (org_id, category, amount_cents, currency, "
                    "occurred_at) VALUES (4, 'payroll', 300, 'EUR', '{0} 08:00+00');"
                    "INSERT INTO balances_partitioned (org_id, balance_date, revenue_cents, "
                    "expense_cents, net_cents) VALUES (5, '{0}', 700, 300, 400)",
                    day));
  }
  EXPECT_EQ(all_side_differences(db.dsn()), 0);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM revenues_partitioned_default"), 4);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM balances_partitioned_default"), 4);

  // Verification reads the DEFAULT partition like any leaf, and finds a difference there.
  const auto verify_now = [&] {
    return test::run_async([&](asio::io_context& io) -> asio::awaitable<VerifyReport> {
      db::Pool pool(io.get_executor(), {.dsn = db.dsn(), .max_size = 3});
      co_return co_await verify(pool, {});
    });
  };
  EXPECT_TRUE(verify_now().clean);
  const auto far_id =
      scalar(db.dsn(), "SELECT id FROM revenues WHERE occurred_at >= '9999-12-01 00:00+00'");
  test::run_script(db.dsn(), fmt::format("BEGIN; {}; UPDATE revenues SET amount_cents = 701 "
                                         "WHERE id = {}; COMMIT",
                                         kSyncGuardOnSql, far_id));
  const auto dirty = verify_now();
  EXPECT_FALSE(dirty.clean);
  EXPECT_EQ(dirty.differences, 1);
  test::run_script(db.dsn(), fmt::format("BEGIN; {}; UPDATE revenues SET amount_cents = 700 "
                                         "WHERE id = {}; COMMIT",
                                         kSyncGuardOnSql, far_id));

  // The maintenance run: the far months are created, their rows move, 3 months ahead.
  const auto report = maintain(db.dsn(), 3);
  ASSERT_EQ(report.tables.size(), 3u);
  for (const auto& t : report.tables) {
    SCOPED_TRACE(t.before.table);
    EXPECT_EQ(t.before.default_rows.rows, 4);
    EXPECT_EQ(t.after.default_rows.rows, 0);
    EXPECT_EQ(t.rows_moved, 4);
    // 1970-01, the month before the oldest, 9999-12, and two more ahead (the month after the
    // newest is the first of them).
    EXPECT_EQ(t.months_created, 5);
    EXPECT_EQ(t.after.months_ready_ahead, 3);
    EXPECT_LT(t.before.months_ready_ahead, 3);
  }
  EXPECT_TRUE(report.changed());
  for (const auto ym : far_months) {
    EXPECT_EQ(
        scalar(db.dsn(), fmt::format("SELECT count(*) FROM revenues_partitioned_y{:04d}m{:02d}",
                                     ym / 100, ym % 100)),
        1)
        << ym;
  }
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM revenues_partitioned_y9999m12_h00") +
                scalar(db.dsn(), "SELECT count(*) FROM revenues_partitioned_y9999m12_h01") +
                scalar(db.dsn(), "SELECT count(*) FROM revenues_partitioned_y9999m12_h02") +
                scalar(db.dsn(), "SELECT count(*) FROM revenues_partitioned_y9999m12_h03"),
            1);
  // The move changed no row: the sides and the locator agree, and the new leaves carry the
  // sync triggers, so writes to them are mirrored.
  EXPECT_EQ(all_side_differences(db.dsn()), 0);
  test::run_script(
      db.dsn(),
      "UPDATE revenues_partitioned SET amount_cents = 9 "
      "WHERE occurred_at >= '1970-01-01 00:00+00' AND occurred_at < '1970-02-01 00:00+00'");
  EXPECT_EQ(scalar(db.dsn(), "SELECT amount_cents FROM revenues WHERE occurred_at < '1971-01-01'"),
            9);
  EXPECT_EQ(all_side_differences(db.dsn()), 0);
  EXPECT_TRUE(verify_now().clean);

  // Gauges show the after state; the run is audited once, the next run is a no-op.
  EXPECT_EQ(
      test::metric_sample(R"(folio_partition_default_rows{table="revenues_partitioned"})", -1), 0);
  EXPECT_EQ(test::metric_sample(
                R"(folio_partition_months_ready_ahead{table="balances_partitioned"})", -1),
            3);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM cutover_audit WHERE phase = 'maintenance'"), 1);
  const auto again = maintain(db.dsn(), 3);
  EXPECT_FALSE(again.changed());
  EXPECT_EQ(of(again, "expenses_partitioned").months_created, 0);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM cutover_audit WHERE phase = 'maintenance'"), 1);
}

}  // namespace
}  // namespace folio::cutover
