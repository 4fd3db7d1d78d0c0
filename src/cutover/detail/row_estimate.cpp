#include "row_estimate.hpp"

#include <string>

namespace folio::cutover::detail {

namespace {

// A plain table's own row, or a partitioned table's leaves (pg_partition_tree lists nothing
// for a plain table). reltuples is -1 before the first VACUUM or ANALYZE (and 0 for a table
// analyzed while empty): then the statistics system's live-row count stands in.
constexpr std::string_view kEstimateSql =
    "SELECT coalesce(sum(CASE WHEN c.reltuples > 0 THEN c.reltuples "
    "ELSE greatest(s.n_live_tup, 0) END), 0)::float8 "
    "FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
    "WHERE (c.oid = to_regclass($1) AND c.relkind = 'r') "
    "OR c.oid IN (SELECT relid FROM pg_partition_tree(to_regclass($1)) WHERE isleaf)";

}  // namespace

boost::asio::awaitable<double> estimated_rows(db::Pool& pool, std::string_view table) {
  co_return (co_await pool.query(kEstimateSql, std::string(table))).scalar<double>();
}

}  // namespace folio::cutover::detail
