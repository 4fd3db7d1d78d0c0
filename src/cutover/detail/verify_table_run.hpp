// The state of a verification walk: one TableRun per table, and the chunks (org_id ranges of
// one table) the workers compare.
//
// Thread-safety: none; all coroutines of a walk run on one thread, so the state changes only
// between suspension points and needs no lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>

#include "folio/cutover/verify.hpp"
#include "verify_compare.hpp"
#include "verify_sql.hpp"

namespace folio::cutover::detail {

// One table's part of the walk.
struct TableRun {
  TableRun(const TableSpec& s, int modulus, const VerifyOptions& o)
      : spec(s), sql(s, modulus, o.since.has_value()), options(o) {}

  const TableSpec& spec;
  VerifySql sql;
  const VerifyOptions& options;
  std::chrono::steady_clock::time_point started;
  std::int64_t lo = 0;
  std::int64_t hi = -1;
  double estimated_rows = 0;   // both sides, for progress
  std::int64_t walked_to = 0;  // largest chunk end compared so far (progress)
  double span = 1;             // org ids per chunk, adapted to the target duration
  double target = 0;           // seconds per chunk: the option, or more for costly chunks
  bool probe_next = false;     // a chunk came back empty: skip to the next existing org
  bool last = false;           // the last table: its tail is split among the workers
  __int128 tail_span = 0;      // span of that split, once it began
  LeafCells leaves;            // the partitioned table's leaves, loaded on first use
  std::map<Cell, CellFigures> totals;
  std::set<Cell> mismatched;
  std::map<RowKey, Difference> differences;
  bool truncated = false;
  std::int64_t rows_legacy = 0;
  std::int64_t rows_partitioned = 0;
  std::int64_t chunks = 0;
  std::int64_t probes = 0;
  std::int64_t vanished = 0;  // mismatches gone by the time they were narrowed
};

struct Chunk {
  TableRun* run = nullptr;  // nullptr: no more chunks
  std::int64_t lo = 0;
  std::int64_t hi = -1;
};

}  // namespace folio::cutover::detail
