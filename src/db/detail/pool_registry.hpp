// The process-wide list of live Pools, read by the pool metrics collector (pool_metrics.cpp).
//
// Thread-safety: both functions may be called from any thread.
#pragma once

namespace folio::db {
class Pool;
}  // namespace folio::db

namespace folio::db::detail {

// Called by Pool's constructor (once its options are final) and by its destructor (before
// any member is destroyed; waits for a scrape that is reading the pool).
void register_pool(const Pool& pool) noexcept;
void unregister_pool(const Pool& pool) noexcept;

}  // namespace folio::db::detail
