// The statements verification runs for one table, built once from its TableSpec (never from
// input), and the figures they return: row counts and 128-bit sums of row hashes.
//
// Thread-safety: VerifySql is immutable after construction; Figures is a plain value.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "folio/cutover/tables.hpp"
#include "folio/db/params.hpp"

namespace folio::cutover::detail {

// A checksum: the sum of up to 2^63 row hashes of 64 bits each fits in 128 bits.
using Checksum = __int128;

// Parses PostgreSQL's decimal text of a numeric integer (optionally negative). Throws
// std::invalid_argument for anything else.
Checksum parse_checksum(std::string_view text);
std::string format_checksum(Checksum value);

struct Figures {
  std::int64_t rows = 0;
  Checksum sum = 0;
  Figures& operator+=(const Figures& other) {
    rows += other.rows;
    sum += other.sum;
    return *this;
  }
  bool operator==(const Figures&) const = default;
};

// One (month, hash bucket) of a table.
struct Cell {
  std::chrono::year_month month;
  int bucket = 0;
  auto operator<=>(const Cell&) const = default;
};

// The legacy chunk statement's group key: days since 1970 of the month's first day (or of
// the row's day, for a date column) times kCellFactor plus the bucket (moduli are at most
// 1024).
inline constexpr std::int64_t kCellFactor = 1024;
Cell cell_of_key(std::int64_t key);

// [from, to) on the time column: a month, cut at `since` when that is later.
struct TimeWindow {
  std::chrono::sys_days from;
  std::chrono::sys_days to;
};
TimeWindow month_window(std::chrono::year_month month, std::optional<std::chrono::sys_days> since);

// Adds `day` as a bound of `spec`'s time column: a date, or midnight UTC as a timestamptz.
void add_time_bound(db::Params& params, const TableSpec& spec, std::chrono::sys_days day);

// "{1,2,3}": a bigint[] parameter. / "{2026-01-01,...}": a date[] parameter.
std::string int_array(std::span<const std::int64_t> values);
std::string date_array(std::span<const std::chrono::sys_days> values);

class VerifySql {
 public:
  VerifySql(const TableSpec& spec, int hash_modulus, bool with_since);

  const TableSpec& spec() const { return *spec_; }

  // $1, $2 org range [, $3 since] -> key bigint, rows bigint, checksum text; the key is a
  // cell key (cell_of_key) on the legacy side, the leaf's oid on the partitioned side (-1 - the
  // cell key for rows of the DEFAULT partition).
  const std::string& chunk(Side side) const { return chunk_[index(side)]; }
  // $1 org from, $2 org to (and $3 since): one row, the rows and checksum of the whole range.
  const std::string& chunk_total(Side side) const { return chunk_total_[index(side)]; }
  // -> leaf oid bigint, month date, remainder int for every leaf of the partitioned table.
  const std::string& leaf_cells() const { return leaf_cells_; }
  // $1, $2 org range, $3 mid, $4/$5 time window, $6 bucket -> half int (0: org <= mid,
  // 1: above), rows bigint, checksum text.
  const std::string& probe(Side side) const { return probe_[index(side)]; }
  // Keys whose rows differ between the sides within $1/$2 org range, $3/$4 time window, $5
  // bucket, at most $6 -> key1 bigint (id or org_id), key2 date (balance_date or NULL),
  // legacy_org bigint, partitioned_org bigint (NULL where the side has no row).
  const std::string& leaf_diff() const { return leaf_diff_; }
  // Rows by key in one side. id tables: legacy $1 ids; partitioned $1 orgs, $2 ids.
  // balances: $1 orgs, $2 days (a superset: filter the pairs). -> key1, key2, org, hash.
  const std::string& lookup(Side side) const { return lookup_[index(side)]; }
  // $1/$2 org range, $3/$4 time window, $5 bucket -> min and max org_id of the cell's rows
  // there (NULLs when none).
  const std::string& cell_orgs(Side side) const { return cell_orgs_[index(side)]; }
  // -> min and max org_id of the legacy table (NULLs when empty): cheap, one index.
  const std::string& legacy_range() const { return legacy_range_; }
  // $1 -> the smallest org_id >= $1 on either side (NULL when none).
  const std::string& next_org() const { return next_org_; }
  // -> min and max org_id over both sides (NULLs when both are empty).
  const std::string& org_range() const { return org_range_; }

 private:
  static int index(Side side) { return side == Side::legacy ? 0 : 1; }

  const TableSpec* spec_;
  std::string chunk_[2];
  std::string chunk_total_[2];
  std::string probe_[2];
  std::string leaf_diff_;
  std::string leaf_cells_;
  std::string lookup_[2];
  std::string cell_orgs_[2];
  std::string legacy_range_;
  std::string next_org_;
  std::string org_range_;
};

}  // namespace folio::cutover::detail
