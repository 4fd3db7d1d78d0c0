// The repositories' queries on the partitioned tables prune to the partitions of one
// organization and the months of the range (SPEC §1): EXPLAIN of the entry list and the
// balances query names one hash leaf per month of the range, and nothing else.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "detail/entry_sql.hpp"
#include "finance_fixture.hpp"

namespace folio::finance::test {
namespace {

using namespace std::chrono;
constexpr std::int64_t kOrg = 9000001;

// The partitions (leaves or DEFAULT) of `table` that the plan of `sql` scans.
asio::awaitable<std::set<std::string>> scanned(db::Pool& pool, std::string_view table,
                                               const std::string& sql, db::Params params) {
  auto conn = co_await pool.acquire();
  const auto plan = co_await conn->execute("EXPLAIN " + sql, params);
  const std::regex leaf(std::string(table) + "_partitioned_(y\\d{4}m\\d{2}_h\\d+|default)");
  std::set<std::string> out;
  for (const db::Row row : plan) {
    const std::string line = row.get<std::string>(0);
    for (std::sregex_iterator it(line.begin(), line.end(), leaf), end; it != end; ++it) {
      out.insert(it->str());
    }
  }
  co_return out;
}

TEST(FinancePruning, QueriesOfOneOrganizationAndRangeScanOneLeafPerMonth) {
  FinanceDatabase db("fin_prune", kPartitionedOnly);
  db.add_org(kOrg, "EUR");
  run(db, [&](Services& s) -> asio::awaitable<void> {
    const detail::Tables tables{.entries = "revenues_partitioned",
                                .balances = "balances_partitioned"};
    const Timestamp from = at(2026y / September / 3, 0);
    const Timestamp to = at(2026y / October / 20, 0);  // two months
    const auto list =
        co_await scanned(s.pool, "revenues", detail::list_sql(EntryKind::revenue, tables, true),
                         db::Params::of(kOrg, from, to, std::int64_t{51}, from, std::int64_t{1}));
    EXPECT_EQ(list.size(), 2u) << ::testing::PrintToString(list);
    for (const auto& name : list) {
      EXPECT_EQ(name.find("default"), std::string::npos) << name;
    }
    const auto one_day = co_await scanned(
        s.pool, "balances", detail::balances_sql(tables),
        db::Params::of(kOrg, sys_days(2026y / September / 3), sys_days(2026y / September / 3)));
    EXPECT_EQ(one_day.size(), 1u) << ::testing::PrintToString(one_day);
    const auto get =
        co_await scanned(s.pool, "revenues", detail::get_sql(EntryKind::revenue, tables),
                         db::Params::of(kOrg, std::int64_t{1}));
    // By id alone every month (and the empty DEFAULT) is a candidate, but only this
    // organization's bucket of each month.
    const auto months = db.scalar(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'revenues_partitioned'::regclass");
    EXPECT_EQ(static_cast<std::int64_t>(get.size()), months) << ::testing::PrintToString(get);
  });
}

}  // namespace
}  // namespace folio::finance::test
