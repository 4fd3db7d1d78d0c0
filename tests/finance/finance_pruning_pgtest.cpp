// The repositories' queries on the partitioned tables touch only the organization's leaves of
// the months they ask for (SPEC §1; docs/decisions/0004-partition-layout-and-access-path.md):
// EXPLAIN of a range read names exactly the organization's leaf of each month of the range,
// a write names the leaf of its month, and a month without a partition is read through the
// parent, which prunes to the DEFAULT partition.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "detail/entry_sql.hpp"
#include "detail/relations.hpp"
#include "finance_fixture.hpp"

namespace folio::finance::test {
namespace {

using namespace std::chrono;
using partitioning::leaf_partition_name;
using partitioning::Month;
using partitioning::Table;
constexpr std::int64_t kOrg = 9000001;

// The partitions (leaves or DEFAULT) of `table` that the plan of `sql` names.
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

Timestamp start_of(Month m) { return time_point_cast<microseconds>(sys_days(m / 1)); }

TEST(FinancePruning, ReadsAndWritesNameTheOrganizationsLeafOfEachMonth) {
  FinanceDatabase db("fin_prune", kPartitionedOnly);
  db.add_org(kOrg, "EUR");
  run(db, [&](Services& s) -> asio::awaitable<void> {
    const auto layout = s.routing.layout();
    EXPECT_EQ(layout->hash_modulus, 16);
    const auto& known = layout->months[static_cast<std::size_t>(Table::revenues)];
    EXPECT_GE(known.size(), 3u);
    if (known.size() < 3) co_return;
    const int r = partitioning::hash_remainder(kOrg, layout->hash_modulus);
    const Month first = known[0];
    const Month second = known[1];

    // A list over two months: the organization's leaf of each, nothing else.
    const detail::Tables two{
        .entries = detail::read_source(s.routing, Table::revenues, kOrg, first, second)};
    // Named directly, not found by pruning the parent's tree.
    EXPECT_EQ(two.entries, "(SELECT * FROM " +
                               leaf_partition_name("revenues_partitioned", first, r) +
                               " UNION ALL SELECT * FROM " +
                               leaf_partition_name("revenues_partitioned", second, r) + ")");
    const auto list =
        co_await scanned(s.pool, "revenues", detail::list_sql(EntryKind::revenue, two, true),
                         db::Params::of(kOrg, start_of(first), start_of(second + months{1}),
                                        std::int64_t{51}, start_of(first), std::int64_t{1}));
    EXPECT_EQ(list,
              (std::set<std::string>{leaf_partition_name("revenues_partitioned", first, r),
                                     leaf_partition_name("revenues_partitioned", second, r)}));

    // Balances of one day: one leaf.
    const sys_days day = sys_days(second / 3);
    const detail::Tables one_month{
        .balances = detail::read_source(s.routing, Table::balances, kOrg, second, second)};
    const auto day_plan = co_await scanned(s.pool, "balances", detail::balances_sql(one_month),
                                           db::Params::of(kOrg, day, day));
    EXPECT_EQ(day_plan,
              (std::set<std::string>{leaf_partition_name("balances_partitioned", second, r)}));

    // A create names the leaf of its month for the entry and its balance.
    const detail::Tables create{
        .entries = detail::write_target(s.routing, Table::revenues, kOrg, second),
        .balances = detail::write_target(s.routing, Table::balances, kOrg, second)};
    EXPECT_EQ(create.entries, leaf_partition_name("revenues_partitioned", second, r));
    EXPECT_EQ(create.balances, leaf_partition_name("balances_partitioned", second, r));
    const auto insert_plan = co_await scanned(
        s.pool, "revenues", detail::create_sql(EntryKind::revenue, create),
        db::Params::of(kOrg, std::string("room"), std::int64_t{100}, std::optional<std::string>(),
                       start_of(second), std::optional<std::string>()));
    EXPECT_EQ(insert_plan,
              (std::set<std::string>{leaf_partition_name("revenues_partitioned", second, r)}));

    // Months the partitioned tables do not have: the parent, pruned to the DEFAULT partition.
    const Month old = year{1990} / January;
    const detail::Tables outside{
        .entries = detail::read_source(s.routing, Table::revenues, kOrg, old, old + months{1})};
    const auto default_only = co_await scanned(
        s.pool, "revenues", detail::list_sql(EntryKind::revenue, outside, false),
        db::Params::of(kOrg, start_of(old), start_of(old + months{2}), std::int64_t{51}));
    const std::set<std::string> want_default{std::string("revenues_partitioned_default")};
    EXPECT_EQ(default_only, want_default);
  });
}

// Get, update and delete by id find the entry through the locator, across month moves.
TEST(FinancePruning, ByIdOperationsFollowTheLocatorAcrossMonths) {
  FinanceDatabase db("fin_locate", kPartitionedOnly);
  db.add_org(kOrg, "EUR");
  db.add_org(kOrg + 1, "EUR");  // exists: reads of a missing organization are refused
  run(db, [&](Services& s) -> asio::awaitable<void> {
    const auto& known = s.routing.layout()->months[static_cast<std::size_t>(Table::revenues)];
    EXPECT_GE(known.size(), 3u);
    if (known.size() < 3) co_return;
    const auto created = co_await s.repo.create(
        kOrg, EntryKind::revenue, new_entry("room", 500, start_of(known[0]) + hours{30}));
    auto got = co_await s.repo.get(kOrg, EntryKind::revenue, created.id);
    EXPECT_TRUE(got.has_value());
    // Move it to another month, then within that month.
    auto moved = co_await s.repo.update(kOrg, EntryKind::revenue, created.id,
                                        move_patch(700, start_of(known[2]) + hours{5}));
    EXPECT_TRUE(moved.has_value());
    moved = co_await s.repo.update(kOrg, EntryKind::revenue, created.id,
                                   move_patch(std::nullopt, start_of(known[2]) + hours{50}));
    EXPECT_TRUE(moved.has_value());
    got = co_await s.repo.get(kOrg, EntryKind::revenue, created.id);
    EXPECT_TRUE(got.has_value());
    if (got) {
      EXPECT_EQ(got->amount_cents, 700);
      EXPECT_EQ(got->occurred_at, start_of(known[2]) + hours{50});
    }
    // Another organization's token never finds it, by id or in the locator.
    EXPECT_FALSE((co_await s.repo.get(kOrg + 1, EntryKind::revenue, created.id)).has_value());
    EXPECT_TRUE(co_await s.repo.remove(kOrg, EntryKind::revenue, created.id));
    EXPECT_FALSE((co_await s.repo.get(kOrg, EntryKind::revenue, created.id)).has_value());
    EXPECT_FALSE(co_await s.repo.remove(kOrg, EntryKind::revenue, created.id));
  });
  EXPECT_EQ(folio::test::locator_differences(db.dsn(), "revenues"), 0);
  EXPECT_EQ(db.balance_mismatches(kOrg, "_partitioned"), 0);
}

}  // namespace
}  // namespace folio::finance::test
