// How many rows a table holds, as the server estimates it without reading the table: what
// progress bars and ETAs weigh their tables by (a table's key span says nothing about its
// row count: balances span organization ids, the entries span row ids).
//
// Thread-safety: stateless; the pool must be used from its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "folio/db/pool.hpp"

namespace folio::cutover::detail {

// The rows of `table` (a plain table, or a partitioned one summed over its leaves): per
// relation pg_class.reltuples (as of the last VACUUM or ANALYZE, which autovacuum repeats
// after every 10 % or so of changes), or before the first of them the live-row count of
// pg_stat_user_tables. 0 when the table does not exist or nothing is known. Throws what the
// server throws.
boost::asio::awaitable<double> estimated_rows(db::Pool& pool, std::string_view table);

}  // namespace folio::cutover::detail
