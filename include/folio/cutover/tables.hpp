// The three tables the cutover moves, described once: their names on both sides, keys, time
// column and the SQL fragments every phase shares (row hash, hash bucket). Every other part
// of folio::cutover takes its identifiers from here, never from input.
//
// Thread-safety: immutable constants.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace folio::cutover {

enum class Side { legacy, partitioned };
std::string_view to_string(Side side);

struct TableSpec {
  std::string_view name;         // logical name, also the legacy table: "revenues"
  std::string_view partitioned;  // "revenues_partitioned"
  std::string_view time_column;  // RANGE partition key: "occurred_at" or "balance_date"
  std::string_view time_type;    // "timestamptz" or "date"
  // Key that identifies a row across both sides (the legacy primary key).
  std::string_view row_key;  // "id" or "org_id, balance_date"
  // Primary key of the partitioned table (includes both partition keys).
  std::string_view partitioned_key;  // "org_id, occurred_at, id"
  // Single bigint column the backfill walks in ranges: "id", or "org_id" for balances.
  std::string_view range_column;

  std::string_view table(Side side) const { return side == Side::legacy ? name : partitioned; }
  bool keyed_by_id() const { return row_key == "id"; }
};

// revenues, expenses, balances — in the order phases process them.
std::span<const TableSpec> all_tables();
// nullptr when `name` is not one of them.
const TableSpec* find_table(std::string_view name);

// The id -> month locator of an entry table's partitioned side (partitioning::locator_name).
// REQUIRES: spec.keyed_by_id().
std::string_view locator_table(const TableSpec& spec);

// Order-independent hash of a whole row: sum it for a checksum of a set of rows. Both sides
// have the same columns in the same order, so the same row hashes alike on either side.
// `alias` is the table alias in the query. Run with TimeZone UTC and jit off.
std::string row_hash_sql(std::string_view alias);

// The hash partition (remainder) PostgreSQL puts `org_id_sql` in for a HASH (org_id)
// partitioning of modulus `modulus`, computed without touching the partitioned table, so a
// legacy row can be assigned to the same bucket as its partitioned copy.
std::string hash_bucket_sql(std::string_view org_id_sql, int modulus);

// First day of the month of the time column, as a date, in UTC.
std::string month_sql(const TableSpec& spec, std::string_view alias);

// Session settings every cutover statement runs under (UTC, no JIT): `SET LOCAL` lines.
inline constexpr std::string_view kLocalSettings =
    "SET LOCAL TimeZone = 'UTC'; SET LOCAL jit = off;";

// The transaction-local recursion guard the sync triggers honour (0003_sync_functions.sql).
inline constexpr std::string_view kSyncGuardOnSql =
    "SELECT set_config('folio.sync_guard', 'on', true)";
inline constexpr std::string_view kSyncGuardOffSql =
    "SELECT set_config('folio.sync_guard', '', true)";

}  // namespace folio::cutover
