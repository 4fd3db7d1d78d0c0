#include "verify_chunker.hpp"

#include <algorithm>

#include "folio/obs/log.hpp"

namespace folio::cutover::detail {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

const obs::Logger& verify_logger() {
  static const obs::Logger log("cutover.verify");
  return log;
}

namespace {

asio::awaitable<std::optional<std::pair<std::int64_t, std::int64_t>>> legacy_range(
    db::Pool& pool, const VerifySql& sql) {
  const auto r = co_await pool.query(sql.legacy_range());
  const auto lo = r.front().get<std::optional<std::int64_t>>(0);
  if (!lo) co_return std::nullopt;
  co_return std::pair{*lo, r.front().get<std::int64_t>(1)};
}

asio::awaitable<std::optional<std::int64_t>> next_org(db::Pool& pool, const TableRun& run,
                                                      std::int64_t from) {
  const auto r = co_await pool.query(run.sql.next_org(), from);
  co_return r.front().get<std::optional<std::int64_t>>(0);
}

// Sets the org range chunks are sized by, and the first span: the legacy table's range
// (cheap: one index), both sides' when legacy is empty. Returns false when both are.
asio::awaitable<bool> locate(db::Pool& pool, TableRun& run) {
  auto range = co_await legacy_range(pool, run.sql);
  if (!range) range = co_await org_range(pool, run.sql);
  if (!range) co_return false;
  run.lo = range->first;
  run.hi = range->second;
  run.span = co_await first_span(pool, run.spec, *range, run.options.first_chunk_rows);
  // The fixed cost of a chunk: one over an empty org range.
  const auto t0 = Clock::now();
  co_await read_chunk(pool, run.sql, run.leaves, 1, 0, run.options.since,
                      run.options.statement_timeout);
  const double fixed = std::chrono::duration<double>(Clock::now() - t0).count();
  run.target = std::max(std::chrono::duration<double>(run.options.target_chunk).count(),
                        run.options.overhead_factor * fixed);
  verify_logger().debug(
      "chunk cost",
      {{"table", run.spec.name}, {"fixed_seconds", fixed}, {"target_seconds", run.target}});
  co_return true;
}

}  // namespace

asio::awaitable<std::optional<std::pair<std::int64_t, std::int64_t>>> org_range(
    db::Pool& pool, const VerifySql& sql) {
  const auto r = co_await pool.query(sql.org_range());
  const auto lo = r.front().get<std::optional<std::int64_t>>(0);
  if (!lo) co_return std::nullopt;
  co_return std::pair{*lo, r.front().get<std::int64_t>(1)};
}

asio::awaitable<double> first_span(db::Pool& pool, const TableSpec& spec,
                                   std::pair<std::int64_t, std::int64_t> range, std::int64_t rows) {
  const auto r = co_await pool.query(
      "SELECT greatest(reltuples, 1)::float8 FROM pg_class WHERE oid = to_regclass($1)",
      std::string(spec.name));
  const double estimate = std::max(1.0, r.front().get<std::optional<double>>(0).value_or(1.0));
  const double width = static_cast<double>(range.second) - static_cast<double>(range.first) + 1;
  co_return std::max(1.0, static_cast<double>(rows) * width / estimate);
}

asio::awaitable<std::optional<Chunk>> Chunker::next() {
  while (table_ < runs_.size()) {
    TableRun& run = runs_[table_];
    if (!located_) {
      if (!co_await locate(pool_, run)) {
        ++table_;
        continue;
      }
      located_ = true;
      // The first chunk starts at the smallest bigint and the last one ends at the
      // largest, so rows of orgs beyond the legacy table's range (on the partitioned side
      // only) are compared too.
      next_ = kFirstOrg;
    }
    if (run.probe_next) {
      run.probe_next = false;
      const auto found = co_await next_org(pool_, run, next_);
      if (!found) {  // no row at or after next_ on either side
        advance();
        continue;
      }
      next_ = std::max(next_, *found);
    }
    const __int128 from = std::max(next_, run.lo);
    auto span = static_cast<__int128>(run.span);
    // The last table's tail is split evenly among the workers, so none is left reading a
    // big final chunk alone.
    if (run.last) {
      const __int128 remaining = static_cast<__int128>(run.hi) - from + 1;
      if (run.tail_span == 0 && span * workers_ >= remaining) {
        run.tail_span = std::max<__int128>(1, (remaining + workers_ - 1) / workers_);
      }
      if (run.tail_span > 0) span = run.tail_span;
    }
    const Chunk chunk{
        &run, next_,
        from + span - 1 >= run.hi ? kLastOrg : static_cast<std::int64_t>(from + span - 1)};
    if (chunk.hi == kLastOrg) {
      advance();
    } else {
      next_ = chunk.hi + 1;
    }
    co_return chunk;
  }
  co_return std::nullopt;
}

}  // namespace folio::cutover::detail
