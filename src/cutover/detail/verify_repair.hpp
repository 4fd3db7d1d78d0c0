// Repair of differences found by verification: each differing key is re-synced from its
// SOURCE side, the side its organization is routed to (its 'pilot' row in partition_routing,
// else the 'fleet' row, else legacy). The other side is made equal to the source: the source
// row is locked FOR UPDATE and upserted into the other side (for revenues and expenses after
// deleting other-side versions filed under another org or time), or, when the source has no
// such row, the other side's row is deleted. Batches of keys run in one REPEATABLE READ
// transaction each, with the sync recursion guard on (so the repair writes are not mirrored
// back), retried on serialization failures and deadlocks: a concurrent write to a repaired
// row makes the batch start over from fresh data instead of overwriting it.
//
// Thread-safety: stateless; the pool must be used from its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <span>

#include "folio/cutover/tables.hpp"
#include "folio/cutover/verify.hpp"
#include "folio/db/pool.hpp"

namespace folio::cutover::detail {

// Re-syncs every key of `differences` (of table `spec`) from its source side. Returns the
// number of rows written (upserted or deleted) on the other sides. Throws what the server
// throws once retries are exhausted.
boost::asio::awaitable<std::int64_t> repair_differences(
    db::Pool& pool, const TableSpec& spec, std::span<const Difference> differences,
    std::chrono::milliseconds statement_timeout);

}  // namespace folio::cutover::detail
