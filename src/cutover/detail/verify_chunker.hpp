// The chunks of a verification walk: org_id ranges of one table at a time, sized toward a
// target duration, and the table facts that sizing needs.
//
// Thread-safety: a Chunker is used by one coroutine; its pool from the pool's executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <utility>

#include "folio/db/pool.hpp"
#include "folio/obs/log.hpp"
#include "verify_table_run.hpp"

namespace folio::cutover::detail {

// The logger every part of the verification writes to ("cutover.verify").
const obs::Logger& verify_logger();

inline constexpr std::int64_t kFirstOrg = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t kLastOrg = std::numeric_limits<std::int64_t>::max();

// [min, max] org_id over both sides; nullopt when both are empty.
boost::asio::awaitable<std::optional<std::pair<std::int64_t, std::int64_t>>> org_range(
    db::Pool& pool, const VerifySql& sql);

// Org ids per chunk expected to hold `rows` rows of `spec`, from the planner's row estimate.
boost::asio::awaitable<double> first_span(db::Pool& pool, const TableSpec& spec,
                                          std::pair<std::int64_t, std::int64_t> range,
                                          std::int64_t rows);

// Hands out the chunks of a walk over `runs`, table after table. The first chunk of a
// table starts at the smallest bigint and its last one ends at the largest, so rows of orgs
// beyond the legacy table's range (on the partitioned side only) are compared too; chunks
// are sized by the legacy table's org range (cheap to read: one index), both sides' only
// when legacy is empty. The last table's tail is split evenly among the workers.
class Chunker {
 public:
  Chunker(db::Pool& pool, std::span<TableRun> runs, int workers)
      : pool_(pool), runs_(runs), workers_(workers) {}

  // The next chunk: org_ids [lo, hi] of one table, sized by that table's current span; after
  // an empty chunk it starts at the next org that exists on either side (sparse ids cost no
  // string of empty chunks). nullopt when every table is done.
  boost::asio::awaitable<std::optional<Chunk>> next();

 private:
  void advance() {
    ++table_;
    located_ = false;
  }

  db::Pool& pool_;
  std::span<TableRun> runs_;
  int workers_;
  std::size_t table_ = 0;
  bool located_ = false;
  std::int64_t next_ = kFirstOrg;
};

}  // namespace folio::cutover::detail
