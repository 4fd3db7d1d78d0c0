// The physical layout of the partitioned tables, and the relations a query of one
// organization should name (SPEC §1; docs/decisions/0004-partition-layout-and-access-path.md).
//
// Layout: RANGE by calendar month (UTC) on top, each month HASH (org_id) partitioned below,
// plus a DEFAULT partition; month partitions are named <parent>_yYYYYmMM and their leaves
// <parent>_yYYYYmMM_hNN. Planning a query through the parent costs far more than the query
// itself once there are hundreds of leaves (each surviving month is opened, pruned and
// locked); naming the organization's leaf of each month costs about what one small table
// does. So the repositories ask source() for what to put in FROM, and the planner never
// sees the partition tree for months the layout knows.
//
// Freshness: a month the snapshot does not know (added after it was loaded, or outside the
// partitioned window) is read through the parent with that month's bounds, which the planner
// prunes; so a stale snapshot costs speed, never rows. Months are only ever added while a
// snapshot may name them (retention runs after the services stop naming archived months).
//
// Thread-safety: PartitionLayout is immutable once built; the functions are pure.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "folio/db/pool.hpp"
#include "folio/partitioning/table.hpp"

namespace folio::partitioning {

using Month = std::chrono::year_month;

// The hash partition PostgreSQL routes a bigint key to under HASH partitioning with
// `modulus` (src/backend/partitioning/partbounds.c, hashint8extended with
// HASH_PARTITION_SEED). REQUIRES: modulus >= 1.
int hash_remainder(std::int64_t key, int modulus);

// "revenues_partitioned_y2026m01" and "revenues_partitioned_y2026m01_h07".
std::string month_partition_name(std::string_view parent, Month month);
std::string leaf_partition_name(std::string_view parent, Month month, int remainder);

// The month a UTC time point or day falls in.
Month month_of(std::chrono::sys_days day);
Month month_of(std::chrono::sys_time<std::chrono::microseconds> time);

struct PartitionLayout {
  // The HASH modulus of every month partition; 0 when the partitioned tables do not exist
  // (then source() names the parent, and nothing else).
  int hash_modulus = 0;
  // Per table (indexed by Table), the months that have a month partition, ascending.
  std::array<std::vector<Month>, 3> months;

  bool has_month(Table table, Month month) const;

  // The relation holding `org`'s rows of `table` for the months [first, last]: the one leaf
  // when the range is one known month, else a parenthesized UNION ALL of the organization's
  // leaves of the known months and, for each run of unknown months, the parent restricted to
  // that run's bounds. Use it as `FROM <source> AS alias`; the caller still filters org_id
  // and time (the planner pushes those filters into every arm).
  // REQUIRES: first <= last.
  std::string source(Table table, std::int64_t org, Month first, Month last) const;
  // The relation to write `org`'s row of `month` to: its leaf, or the parent when the month
  // is not known (the parent routes it).
  std::string target(Table table, std::int64_t org, Month month) const;
};

// Reads the layout from the catalog (through any connection that can read pg_catalog).
// Throws db::Error.
boost::asio::awaitable<PartitionLayout> load_layout(db::Pool& pool);

}  // namespace folio::partitioning
