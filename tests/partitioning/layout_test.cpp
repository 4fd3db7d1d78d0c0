// PartitionLayout: PostgreSQL's hash remainder computed in C++, partition names, and the
// relations source() and target() name for one organization's months.
#include "folio/partitioning/layout.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace folio::partitioning {
namespace {

using std::chrono::months;
using std::chrono::year;

constexpr Month kJan2026 = year{2026} / std::chrono::January;

// Remainders PostgreSQL 15 chose for these keys (rows inserted into a table HASH partitioned
// with MODULUS 7, read back by tableoid). The pgtest checks thousands more against a server.
TEST(HashRemainder, MatchesPostgresForEdgeKeys) {
  const std::pair<std::int64_t, int> cases[] = {
      {INT64_MIN, 0}, {-4294967297, 4}, {-1, 0},      {1, 5},          {2, 6},
      {42, 0},        {154204, 0},      {1000000, 4}, {4294967296, 5}, {INT64_MAX, 3},
  };
  for (const auto& [key, remainder] : cases) {
    EXPECT_EQ(hash_remainder(key, 7), remainder) << key;
  }
  // Modulus 16, from the leaves folioctl prepare created (…_h12 and so on).
  for (const auto& [key, remainder] : {std::pair<std::int64_t, int>{154204, 12},
                                       {64496, 1},
                                       {7667, 0},
                                       {169835, 7},
                                       {191464, 8}}) {
    EXPECT_EQ(hash_remainder(key, 16), remainder) << key;
  }
  EXPECT_EQ(hash_remainder(12345, 1), 0);
  EXPECT_THROW(hash_remainder(1, 0), std::invalid_argument);
}

TEST(Names, MonthAndLeaf) {
  EXPECT_EQ(month_partition_name("revenues_partitioned", kJan2026),
            "revenues_partitioned_y2026m01");
  EXPECT_EQ(leaf_partition_name("balances_partitioned", year{1999} / std::chrono::December, 7),
            "balances_partitioned_y1999m12_h07");
  EXPECT_EQ(leaf_partition_name("x", kJan2026, 123), "x_y2026m01_h123");
}

PartitionLayout three_months() {
  PartitionLayout l;
  l.hash_modulus = 16;
  for (auto& m : l.months) m = {kJan2026, kJan2026 + months{1}, kJan2026 + months{2}};
  return l;
}

TEST(Source, OneKnownMonthIsOneLeaf) {
  const auto l = three_months();
  EXPECT_EQ(l.source(Table::revenues, 154204, kJan2026, kJan2026),
            "revenues_partitioned_y2026m01_h12");
  EXPECT_EQ(l.target(Table::balances, 154204, kJan2026 + months{2}),
            "balances_partitioned_y2026m03_h12");
}

TEST(Source, KnownMonthsAreLeavesAndTheRestGoesThroughTheParent) {
  const auto l = three_months();
  EXPECT_EQ(l.source(Table::expenses, 154204, kJan2026, kJan2026 + months{1}),
            "(SELECT * FROM expenses_partitioned_y2026m01_h12 UNION ALL "
            "SELECT * FROM expenses_partitioned_y2026m02_h12)");
  // A month before and after the known ones: one parent arm each, bounded to the run.
  EXPECT_EQ(
      l.source(Table::balances, 154204, kJan2026 - months{2}, kJan2026),
      "(SELECT * FROM balances_partitioned WHERE balance_date >= '2025-11-01' AND "
      "balance_date < '2026-01-01' UNION ALL SELECT * FROM balances_partitioned_y2026m01_h12)");
  EXPECT_EQ(l.source(Table::revenues, 154204, kJan2026 + months{2}, kJan2026 + months{3}),
            "(SELECT * FROM revenues_partitioned_y2026m03_h12 UNION ALL SELECT * FROM "
            "revenues_partitioned WHERE occurred_at >= '2026-04-01 00:00:00+00' AND occurred_at < "
            "'2026-05-01 00:00:00+00')");
}

TEST(Source, UnknownOnlyOrNoLayoutIsTheParent) {
  const auto l = three_months();
  EXPECT_EQ(l.source(Table::revenues, 1, kJan2026 + months{5}, kJan2026 + months{7}),
            "revenues_partitioned");
  EXPECT_EQ(l.target(Table::revenues, 1, kJan2026 - months{1}), "revenues_partitioned");
  const PartitionLayout none;
  EXPECT_EQ(none.source(Table::balances, 1, kJan2026, kJan2026), "balances_partitioned");
  EXPECT_EQ(none.target(Table::balances, 1, kJan2026), "balances_partitioned");
}

TEST(MonthOf, UtcCalendarMonth) {
  using namespace std::chrono;
  const sys_days day = 2026y / February / 28d;
  EXPECT_EQ(month_of(day), 2026y / February);
  EXPECT_EQ(month_of(time_point_cast<microseconds>(day) + hours{23} + minutes{59}),
            2026y / February);
  EXPECT_EQ(month_of(time_point_cast<microseconds>(sys_days{1969y / December / 31d})),
            1969y / December);
}

}  // namespace
}  // namespace folio::partitioning
