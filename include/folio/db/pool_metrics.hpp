// Prometheus metrics for every connection pool in the process.
//
// Exports every live Pool's stats() to the global obs::Registry at scrape time, summed per
// pool name (PoolOptions::name, e.g. "primary", "replica:<name>"):
//   folio_db_pool_connections{pool,state="idle"|"in_use"} gauge,
//   folio_db_pool_max_connections{pool} gauge, folio_db_pool_waiting{pool} gauge,
//   folio_db_pool_acquire_timeouts_total{pool} counter,
//   folio_db_pool_connections_opened_total{pool}, folio_db_pool_connections_dropped_total{pool}.
// Gauges cover the live pools only (a name whose pools are all gone reads 0). Counters keep
// what destroyed pools counted, so they never go down.
//
// Pools register themselves on construction and unregister on destruction (thread-safe; a
// Pool destroyed during a scrape is safe: its destructor waits for the scrape to read it).
//
// Thread-safety: install_pool_metrics() may be called from any thread, any number of times.
#pragma once

namespace folio::db {

// Adds the collector to obs::Registry::global() once (later calls do nothing).
void install_pool_metrics();

}  // namespace folio::db
