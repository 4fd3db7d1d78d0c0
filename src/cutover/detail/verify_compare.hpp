// The comparisons of verification, each inside one short REPEATABLE READ READ ONLY snapshot
// covering both sides: a chunk's per-(month, bucket) figures, the bisection of a mismatching
// bucket down to its differing keys, and the re-read of keys that confirms (or clears) them.
//
// Thread-safety: stateless functions; the pool must be used from its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "folio/cutover/verify.hpp"
#include "folio/db/pool.hpp"
#include "folio/db/transaction.hpp"
#include "verify_sql.hpp"

namespace folio::cutover::detail {

struct CellFigures {
  Figures legacy;
  Figures partitioned;
  bool equal() const { return legacy == partitioned; }
};

using ChunkFigures = std::map<Cell, CellFigures>;

// A key seen differing in one snapshot, not yet confirmed.
struct Candidate {
  RowKey key;
  std::optional<std::int64_t> legacy_org;
  std::optional<std::int64_t> partitioned_org;
};

// Begins the transaction every comparison reads in: REPEATABLE READ READ ONLY, UTC, no JIT,
// range scans rather than sequential ones.
boost::asio::awaitable<db::Transaction> begin_snapshot(db::Pool& pool,
                                                       std::chrono::milliseconds statement_timeout);

// The (month, bucket) of each leaf of the partitioned table, by oid.
using LeafCells = std::map<std::int64_t, Cell>;

// Both sides of org_ids [lo, hi] (rows from `since` on) in one snapshot. `leaves` is reloaded
// when a row comes from a leaf it does not know (a month created meanwhile).
boost::asio::awaitable<ChunkFigures> read_chunk(db::Pool& pool, const VerifySql& sql,
                                                LeafCells& leaves, std::int64_t lo, std::int64_t hi,
                                                std::optional<std::chrono::sys_days> since,
                                                std::chrono::milliseconds statement_timeout);

struct NarrowOptions {
  std::optional<std::chrono::sys_days> since;
  std::int64_t leaf_rows = 200;
  std::chrono::milliseconds statement_timeout{0};
};

// Bisects org_ids [lo, hi] of `cell`, whose figures differ as `figures` says, on org_id
// ranges (each probe a fresh snapshot) down to one organization or at most `leaf_rows` rows
// per side, and returns the keys whose rows differ there (at most `limit`). A range whose
// halves turn out equal in a later snapshot is dropped: writes between probes cannot create
// candidates. Sets `probes` to the number of snapshots it used.
boost::asio::awaitable<std::vector<Candidate>> narrow(db::Pool& pool, const VerifySql& sql,
                                                      const NarrowOptions& options, std::int64_t lo,
                                                      std::int64_t hi, Cell cell,
                                                      CellFigures figures, std::int64_t limit,
                                                      int& probes);

// Reads `candidates` by key on both sides in one fresh snapshot and returns those that still
// differ, classified; rows equal by now are dropped. Keys are compared across months and
// organizations: a row moved to another month (or org) on one side only is `different`.
boost::asio::awaitable<std::vector<Difference>> recheck(
    db::Pool& pool, const VerifySql& sql, std::span<const Candidate> candidates,
    std::chrono::milliseconds statement_timeout);

}  // namespace folio::cutover::detail
