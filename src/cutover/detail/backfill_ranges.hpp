// The backfill's checkpoints and its unit of work: the ranges recorded in backfill_progress
// for a table, and one batch — copy plus checkpoint in one transaction.
//
// Thread-safety: stateless functions; the pool must be used from its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "folio/cutover/backfill.hpp"
#include "folio/cutover/tables.hpp"
#include "folio/db/pool.hpp"

namespace folio::cutover::detail {

struct TableRanges {
  std::vector<BackfillRangeState> ranges;  // by range_start
  bool created = false;                    // recorded by this call (bound taken now)
};

// The table's recorded ranges; when it has none, takes [min, max] of the legacy table's
// range column now and records it split into `workers` contiguous ranges (an empty table
// gets one finished range [0, 0]). Serialized between concurrent callers by an advisory
// lock. REQUIRES: the sync triggers are on (the bound relies on them).
boost::asio::awaitable<TableRanges> load_or_create_ranges(db::Pool& pool, const TableSpec& spec,
                                                          int workers);

// "INSERT INTO <t>_partitioned (cols) SELECT cols FROM <t> WHERE <range col> BETWEEN $1 AND $2
// FOR SHARE ON CONFLICT DO NOTHING", with the column list read from the catalog.
boost::asio::awaitable<std::string> copy_sql(db::Pool& pool, const TableSpec& spec);

// The `SET LOCAL` script that opens every batch: kLocalSettings and the sync guard, plus
// session_replication_role = replica when `skip_triggers` and the role may set it (the
// partitioned side's triggers then do not even fire: a copied row has nothing to mirror).
boost::asio::awaitable<std::string> batch_preamble(db::Pool& pool, bool skip_triggers);

// Rows per value of the range column, estimated from the planner's statistics (or a small
// sample when the table was never analyzed); at least 1.
boost::asio::awaitable<double> rows_per_value(db::Pool& pool, const TableSpec& spec,
                                              std::int64_t first, std::int64_t last);

struct BatchResult {
  std::int64_t first = 0;       // window copied: [first, last]
  std::int64_t last = -1;       // last < first when the range was already finished
  std::int64_t next_start = 0;  // the checkpoint after the batch
  std::int64_t rows = 0;        // rows inserted
};

// One batch of at most `span` values from the range's checkpoint, in one transaction (see
// backfill.hpp). Throws what the server throws; the caller retries 40001/40P01.
boost::asio::awaitable<BatchResult> copy_batch(db::Pool& pool, const TableSpec& spec,
                                               const std::string& preamble,
                                               const std::string& insert_sql,
                                               std::int64_t range_start, std::int64_t span);

}  // namespace folio::cutover::detail
