// The walk over the tables: a producer hands out org_id chunks, table after table (`span`
// ids wide, the span adapting toward the target chunk duration), to `workers` coroutines,
// each on its own pooled connection; every chunk is compared in one snapshot, and each
// mismatching (month, bucket) of it is narrowed to keys and confirmed. Per (month, bucket)
// totals are summed into each table's report.
//
// Thread-safety: the coroutines share the walk's state without locks, so they must all run
// on one thread. REQUIRES: the pool's executor is single-threaded (an io_context run by one
// thread, or a strand).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "folio/cutover/verify.hpp"
#include "folio/db/pool.hpp"
#include "verify_sql.hpp"

namespace folio::cutover::detail {

// Compares both sides of every table of `specs` (from `options.since` on) and returns their
// parts of the report, in order, before any repair (repaired = 0, remaining = differences).
boost::asio::awaitable<std::vector<TableVerification>> walk_tables(
    db::Pool& pool, std::span<const TableSpec* const> specs, int modulus,
    const VerifyOptions& options, std::chrono::steady_clock::time_point started);

}  // namespace folio::cutover::detail
