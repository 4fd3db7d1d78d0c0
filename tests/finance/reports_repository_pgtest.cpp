// ReportsRepository against PostgreSQL, legacy and partitioned: profit and loss by day and by
// month with zero-filled gaps, category breakdowns and balance history, checked against
// hand-computed values and against the same figures recomputed in SQL from the entries
// themselves (not from the balances the reports read).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "finance_fixture.hpp"

namespace folio::finance::test {
namespace {

using namespace std::chrono;
constexpr std::int64_t kHand = 9000001;
constexpr std::int64_t kRandom = 9000002;

class ReportsRepositoryTest : public ::testing::TestWithParam<Mode> {};

sys_days d(int month, int day) { return sys_days(2026y / month / day); }

// The entries of $1 as (day, revenue, expense) rows.
constexpr std::string_view kEntries =
    "e AS (SELECT (occurred_at AT TIME ZONE 'UTC')::date AS d, amount_cents AS rev, 0::bigint"
    " AS exp FROM revenues WHERE org_id = $1 UNION ALL SELECT (occurred_at AT TIME ZONE"
    " 'UTC')::date, 0, amount_cents FROM expenses WHERE org_id = $1)";

asio::awaitable<std::vector<PnlRow>> expected_pnl(db::Pool& pool, std::int64_t org, sys_days from,
                                                  sys_days to, Granularity g) {
  const std::string unit = g == Granularity::day ? "day" : "month";
  const std::string sql =
      "WITH " + std::string(kEntries) +
      " SELECT p::date, coalesce(sum(rev), 0)::bigint, coalesce(sum(exp), 0)::bigint"
      " FROM generate_series(date_trunc('" +
      unit + "', $2::date::timestamp), $3::date, '1 " + unit + "') p LEFT JOIN e ON date_trunc('" +
      unit + "', e.d::timestamp) = p AND e.d BETWEEN $2 AND $3 GROUP BY p ORDER BY p";
  const auto r = co_await pool.query(sql, org, from, to);
  std::vector<PnlRow> out;
  for (const db::Row row : r) {
    const auto rev = row.get<std::int64_t>(1);
    const auto exp = row.get<std::int64_t>(2);
    out.push_back({row.get<sys_days>(0), rev, exp, rev - exp});
  }
  co_return out;
}

asio::awaitable<std::vector<BalanceHistoryRow>> expected_history(db::Pool& pool, std::int64_t org,
                                                                 sys_days from, sys_days to) {
  const std::string sql =
      "WITH " + std::string(kEntries) +
      ", days AS (SELECT p::date AS day FROM generate_series($2::date, $3::date, '1 day') p)"
      " SELECT day, (SELECT coalesce(sum(rev - exp), 0) FROM e WHERE e.d = day)::bigint,"
      " (SELECT coalesce(sum(rev - exp), 0) FROM e WHERE e.d <= day)::bigint"
      " FROM days ORDER BY day";
  const auto r = co_await pool.query(sql, org, from, to);
  std::vector<BalanceHistoryRow> out;
  for (const db::Row row : r) {
    out.push_back({row.get<sys_days>(0), row.get<std::int64_t>(1), row.get<std::int64_t>(2)});
  }
  co_return out;
}

asio::awaitable<std::vector<CategoryRow>> expected_categories(db::Pool& pool, std::int64_t org,
                                                              EntryKind kind, sys_days from,
                                                              sys_days to) {
  const std::string table = kind == EntryKind::revenue ? "revenues" : "expenses";
  const auto r = co_await pool.query(
      "SELECT category, sum(amount_cents)::bigint, count(*) FROM " + table +
          " WHERE org_id = $1 AND (occurred_at AT TIME ZONE 'UTC')::date BETWEEN $2 AND $3"
          " GROUP BY category ORDER BY 2 DESC, category COLLATE \"C\"",
      org, from, to);
  std::vector<CategoryRow> out;
  for (const db::Row row : r) {
    out.push_back({row.get<std::string>(0), row.get<std::int64_t>(1), row.get<std::int64_t>(2)});
  }
  co_return out;
}

asio::awaitable<void> add(FinanceRepository& repo, std::int64_t org, EntryKind kind,
                          const char* category, std::int64_t cents, Timestamp when) {
  const NewEntry entry = new_entry(category, cents, when);
  co_await repo.create(org, kind, entry);
}

TEST_P(ReportsRepositoryTest, ReportsMatchHandAndSqlComputedFigures) {
  FinanceDatabase db("fin_reports", GetParam());
  db.add_org(kHand, "EUR");
  db.add_org(kRandom, "JPY");
  run(db, [&](Services& s) -> asio::awaitable<void> {
    auto& repo = s.repo;
    const auto rev = EntryKind::revenue;
    const auto exp = EntryKind::expense;
    co_await add(repo, kHand, rev, "room", 10000, at(2026y / 8 / 15, 10));  // before the range
    co_await add(repo, kHand, exp, "marketing", 2500, at(2026y / 8 / 20, 10));
    co_await add(repo, kHand, rev, "room", 1000, at(2026y / 9 / 28, 10));
    co_await add(repo, kHand, rev, "spa", 500, at(2026y / 9 / 28, 23, 59, 59));
    co_await add(repo, kHand, exp, "payroll", 300, at(2026y / 9 / 28, 0));
    co_await add(repo, kHand, rev, "room", 2000, at(2026y / 9 / 30, 12));
    co_await add(repo, kHand, exp, "supplies", 700, at(2026y / 10 / 1, 12));
    co_await add(repo, kHand, rev, "events", 4000, at(2026y / 10 / 2, 12));
    co_await add(repo, kHand, exp, "payroll", 50, at(2026y / 10 / 5, 12));  // after it
    const sys_days from = d(9, 27);
    const sys_days to = d(10, 3);

    const std::vector<PnlRow> by_day = {{d(9, 27), 0, 0, 0},      {d(9, 28), 1500, 300, 1200},
                                        {d(9, 29), 0, 0, 0},      {d(9, 30), 2000, 0, 2000},
                                        {d(10, 1), 0, 700, -700}, {d(10, 2), 4000, 0, 4000},
                                        {d(10, 3), 0, 0, 0}};
    EXPECT_EQ(co_await s.reports.profit_and_loss(kHand, from, to, Granularity::day), by_day);
    const std::vector<PnlRow> by_month = {{d(9, 1), 3500, 300, 3200}, {d(10, 1), 4000, 700, 3300}};
    EXPECT_EQ(co_await s.reports.profit_and_loss(kHand, from, to, Granularity::month), by_month);
    const std::vector<PnlRow> empty_month = {{d(7, 1), 0, 0, 0}};
    EXPECT_EQ(co_await s.reports.profit_and_loss(kHand, d(7, 1), d(7, 31), Granularity::month),
              empty_month);
    std::vector<CategoryRow> revenue_rows;
    revenue_rows.push_back(CategoryRow{std::string("events"), 4000, 1});
    revenue_rows.push_back(CategoryRow{std::string("room"), 3000, 2});
    revenue_rows.push_back(CategoryRow{std::string("spa"), 500, 1});
    EXPECT_EQ(co_await s.reports.categories(kHand, rev, from, to), revenue_rows);
    std::vector<CategoryRow> expense_rows;
    expense_rows.push_back(CategoryRow{std::string("supplies"), 700, 1});
    expense_rows.push_back(CategoryRow{std::string("payroll"), 300, 1});
    EXPECT_EQ(co_await s.reports.categories(kHand, exp, from, to), expense_rows);
    const std::vector<CategoryRow> none;
    EXPECT_EQ(co_await s.reports.categories(kHand, exp, d(7, 1), d(7, 2)), none);
    // Opening balance 10000 - 2500 = 7500.
    const std::vector<BalanceHistoryRow> history = {
        {d(9, 27), 0, 7500}, {d(9, 28), 1200, 8700}, {d(9, 29), 0, 8700}, {d(9, 30), 2000, 10700}};
    EXPECT_EQ(co_await s.reports.balance_history(kHand, from, d(9, 30)), history);

    // Random entries over four months, with updates and deletes, against SQL.
    std::mt19937_64 random(20261121);
    std::vector<Entry> made;
    for (int i = 0; i < 80; ++i) {
      const EntryKind kind = random() % 3 == 0 ? exp : rev;
      const auto& names = finance::categories(kind);
      const auto when = at(2026y / static_cast<unsigned>(8 + random() % 4) / 1, 0) +
                        hours(random() % (24 * 28)) + seconds(random() % 3600);
      const NewEntry entry = new_entry(std::string(names[random() % names.size()]),
                                       static_cast<std::int64_t>(random() % 100000), when);
      made.push_back(co_await repo.create(kRandom, kind, entry));
    }
    for (std::size_t i = 0; i < made.size(); i += 7) {
      const EntryPatch patch = move_patch(static_cast<std::int64_t>(random() % 5000),
                                          made[i].occurred_at + days(random() % 40));
      co_await repo.update(kRandom, made[i].kind, made[i].id, patch);
    }
    for (std::size_t i = 3; i < made.size(); i += 11) {
      co_await repo.remove(kRandom, made[i].kind, made[i].id);
    }
    const std::vector<std::pair<sys_days, sys_days>> ranges = {
        {d(8, 1), d(11, 30)}, {d(9, 17), d(10, 9)}, {d(12, 1), d(12, 31)}};
    for (const auto& [f, t] : ranges) {
      for (const auto g : {Granularity::day, Granularity::month}) {
        const auto got = co_await s.reports.profit_and_loss(kRandom, f, t, g);
        const auto want = co_await expected_pnl(s.pool, kRandom, f, t, g);
        EXPECT_EQ(got, want) << to_string(g);
        EXPECT_FALSE(got.empty());
      }
      for (const auto kind : {rev, exp}) {
        const auto got = co_await s.reports.categories(kRandom, kind, f, t);
        const auto want = co_await expected_categories(s.pool, kRandom, kind, f, t);
        EXPECT_EQ(got, want);
      }
      const auto got = co_await s.reports.balance_history(kRandom, f, t);
      const auto want = co_await expected_history(s.pool, kRandom, f, t);
      EXPECT_EQ(got, want);
      EXPECT_EQ(got.size(), static_cast<std::size_t>((t - f).count() + 1));
    }
  });
  EXPECT_EQ(db.balance_mismatches(kRandom), 0);
  EXPECT_EQ(db.side_differences(), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, ReportsRepositoryTest,
                         ::testing::Values(kLegacy, kPartitionedSynced), mode_name);

}  // namespace
}  // namespace folio::finance::test
