#include "folio/cutover/tables.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>

#include "folio/partitioning/hash.hpp"
#include "folio/partitioning/table.hpp"

namespace folio::cutover {

namespace {

constexpr std::array<TableSpec, 3> kTables = {{
    {"revenues", "revenues_partitioned", "occurred_at", "timestamptz", "id",
     "org_id, occurred_at, id", "id"},
    {"expenses", "expenses_partitioned", "occurred_at", "timestamptz", "id",
     "org_id, occurred_at, id", "id"},
    {"balances", "balances_partitioned", "balance_date", "date", "org_id, balance_date",
     "org_id, balance_date", "org_id"},
}};

// PostgreSQL's hash partitioning of one bigint key (partitioning/hash.hpp).
using partitioning::kHashPartitionSeed;
constexpr std::uint64_t kCombine = partitioning::kHashCombine;

}  // namespace

std::string_view to_string(Side side) { return side == Side::legacy ? "legacy" : "partitioned"; }

std::span<const TableSpec> all_tables() { return kTables; }

const TableSpec* find_table(std::string_view name) {
  for (const auto& t : kTables) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::string_view locator_table(const TableSpec& spec) {
  return partitioning::locator_name(spec.name == "revenues" ? partitioning::Table::revenues
                                                            : partitioning::Table::expenses);
}

std::string row_hash_sql(std::string_view alias) {
  return fmt::format("hashtextextended({}::text, 0)", alias);
}

std::string hash_bucket_sql(std::string_view org_id_sql, int modulus) {
  // All arithmetic stays inside signed 64 bits. With h the signed hash and m the modulus:
  //   h >= 0:          u = h + C                 -> (h mod m + C mod m) mod m
  //   -C <= h < 0:     u = h + C (wraps back)    -> same formula
  //   h < -C:          u = h + 2^64 + C          -> add 2^64 mod m
  const auto m = static_cast<std::uint64_t>(modulus);
  if ((m & (m - 1)) == 0) {
    // A power of two divides 2^64, so the wrap-around needs no correction: one hash, masks.
    // Parenthesized whole: callers embed it in larger expressions, and in PostgreSQL `&`
    // binds looser than `+`.
    return fmt::format("(((hashint8extended({}, {}) & {}) + {}) & {})", org_id_sql,
                       static_cast<std::int64_t>(kHashPartitionSeed), m - 1, kCombine & (m - 1),
                       m - 1);
  }
  const std::uint64_t c_mod = kCombine % m;
  const std::uint64_t two64_mod = (~std::uint64_t{0} % m + 1) % m;
  const std::string h = fmt::format("hashint8extended({}, {})", org_id_sql,
                                    static_cast<std::int64_t>(kHashPartitionSeed));
  return fmt::format(
      "((({0} % {1}) + {1}) % {1} + {2} + CASE WHEN {0} < -{3} THEN {4} ELSE 0 END) % {1}", h, m,
      c_mod, static_cast<std::int64_t>(kCombine), two64_mod);
}

std::string month_sql(const TableSpec& spec, std::string_view alias) {
  if (spec.time_type == "date") {
    return fmt::format("date_trunc('month', {}.{})::date", alias, spec.time_column);
  }
  return fmt::format("date_trunc('month', {}.{} AT TIME ZONE 'UTC')::date", alias,
                     spec.time_column);
}

}  // namespace folio::cutover
