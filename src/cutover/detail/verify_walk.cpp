#include "verify_walk.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <limits>
#include <map>
#include <set>
#include <span>

#include "folio/obs/log.hpp"
#include "folio/obs/metrics.hpp"
#include "row_estimate.hpp"
#include "verify_chunker.hpp"
#include "verify_compare.hpp"
#include "verify_table_run.hpp"

namespace folio::cutover::detail {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

obs::Counter& rows_metric(std::string_view table, Side side) {
  return obs::Registry::global().counter(
      "folio_verify_rows_total", "Rows read by verification chunk scans",
      {{"table", std::string(table)}, {"side", std::string(to_string(side))}});
}
obs::Counter& buckets_metric(std::string_view table, std::string_view result) {
  return obs::Registry::global().counter(
      "folio_verify_buckets_total",
      "(month, hash bucket) pairs verified, by whether both sides matched",
      {{"table", std::string(table)}, {"result", std::string(result)}});
}
obs::Counter& differences_metric(std::string_view table, DifferenceKind kind) {
  return obs::Registry::global().counter(
      "folio_verify_differences_total", "Rows found differing between the two sides",
      {{"table", std::string(table)}, {"kind", std::string(to_string(kind))}});
}

// Workers ask for a chunk, then receive it: the producer sizes each chunk when it is asked
// for, with the span the latest finished chunks left, not ahead of time.
struct Handoff {
  explicit Handoff(const asio::any_io_executor& executor)
      : requests(executor, 0), chunks(executor, 0) {}
  void fail() {
    failed = true;
    requests.close();
    chunks.close();
  }
  asio::experimental::channel<void(boost::system::error_code)> requests;
  asio::experimental::channel<void(boost::system::error_code, Chunk)> chunks;
  bool failed = false;
};

void merge(TableRun& run, const Difference& d) {
  auto [it, inserted] = run.differences.try_emplace(d.key, d);
  if (inserted) return;
  // The same key seen from two buckets (a row filed under another month or org on each
  // side): one difference, of kind `different` unless both sightings agree.
  if (it->second.kind != d.kind) it->second.kind = DifferenceKind::different;
  if (d.legacy_org) it->second.legacy_org = d.legacy_org;
  if (d.partitioned_org) it->second.partitioned_org = d.partitioned_org;
}

asio::awaitable<void> resolve_mismatch(db::Pool& pool, TableRun& run, const Chunk& chunk, Cell cell,
                                       const CellFigures& figures) {
  const auto room = run.options.max_differences - static_cast<std::int64_t>(run.differences.size());
  if (room <= 0) {
    run.truncated = true;
    run.mismatched.insert(cell);
    co_return;
  }
  NarrowOptions narrow_options{run.options.since, run.options.leaf_rows,
                               run.options.statement_timeout};
  int probes = 0;
  const auto candidates = co_await narrow(pool, run.sql, narrow_options, chunk.lo, chunk.hi, cell,
                                          figures, room, probes);
  run.probes += probes;
  if (static_cast<std::int64_t>(candidates.size()) >= room) run.truncated = true;
  const auto confirmed = co_await recheck(pool, run.sql, candidates, run.options.statement_timeout);
  if (confirmed.empty()) {
    ++run.vanished;
    verify_logger().info("mismatch gone on a fresh read", {{"table", run.spec.name},
                                                           {"org_from", chunk.lo},
                                                           {"org_to", chunk.hi},
                                                           {"bucket", cell.bucket}});
    co_return;
  }
  run.mismatched.insert(cell);
  for (const auto& d : confirmed) merge(run, d);
}

// The table's share of its org_id range compared so far, by the largest chunk end (chunks
// are handed out in order, so with several workers this runs at most a few chunks ahead).
double walked_fraction(const TableRun& run) {
  if (run.hi < run.lo || run.chunks == 0) return 0;
  const double width = static_cast<double>(run.hi) - static_cast<double>(run.lo) + 1;
  const double walked = static_cast<double>(run.walked_to) - static_cast<double>(run.lo) + 1;
  return std::clamp(walked / width, 0.0, 1.0);
}

void report_progress(std::span<const TableRun> runs, const TableRun& run) {
  VerifyProgress p;
  p.table = std::string(run.spec.name);
  p.fraction = walked_fraction(run);
  p.rows = run.rows_legacy + run.rows_partitioned;
  p.elapsed = Clock::now() - run.started;
  double estimated = 0;
  double estimated_done = 0;
  for (const auto& r : runs) {
    estimated += r.estimated_rows;
    estimated_done += r.estimated_rows * walked_fraction(r);
    p.rows_all += r.rows_legacy + r.rows_partitioned;
  }
  p.overall_fraction = estimated > 0 ? std::min(1.0, estimated_done / estimated) : 0;
  const double secs = p.elapsed.count();
  if (secs > 0) {
    p.rows_per_s = static_cast<double>(p.rows_all) / secs;
    if (estimated_done > 0) {
      p.eta = std::chrono::duration<double>(std::max(0.0, estimated - estimated_done) * secs /
                                            estimated_done);
    }
  }
  run.options.on_progress(p);
}

asio::awaitable<void> process_chunk(db::Pool& pool, std::span<const TableRun> runs, TableRun& run,
                                    const Chunk& chunk) {
  const auto t0 = Clock::now();
  const auto figures = co_await read_chunk(pool, run.sql, run.leaves, chunk.lo, chunk.hi,
                                           run.options.since, run.options.statement_timeout);
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  run.span =
      std::clamp(run.span * std::clamp(run.target / std::max(took, 1e-3), 0.5, 2.0), 1.0, 4e18);
  ++run.chunks;
  verify_logger().debug("chunk compared", {{"table", run.spec.name},
                                           {"org_from", chunk.lo},
                                           {"org_to", chunk.hi},
                                           {"cells", static_cast<std::int64_t>(figures.size())},
                                           {"seconds", took}});
  std::int64_t rows[2] = {0, 0};
  for (const auto& [cell, f] : figures) {
    auto& total = run.totals[cell];
    total.legacy += f.legacy;
    total.partitioned += f.partitioned;
    rows[0] += f.legacy.rows;
    rows[1] += f.partitioned.rows;
  }
  run.rows_legacy += rows[0];
  run.rows_partitioned += rows[1];
  if (rows[0] + rows[1] == 0) run.probe_next = true;
  rows_metric(run.spec.name, Side::legacy).inc(static_cast<double>(rows[0]));
  rows_metric(run.spec.name, Side::partitioned).inc(static_cast<double>(rows[1]));
  for (const auto& [cell, f] : figures) {
    if (!f.equal()) co_await resolve_mismatch(pool, run, chunk, cell, f);
  }
  run.walked_to = std::max(run.walked_to, chunk.hi);
  if (run.options.on_progress) report_progress(runs, run);
}

asio::awaitable<void> run_worker(db::Pool& pool, std::span<const TableRun> runs, Handoff& handoff) {
  try {
    while (!handoff.failed) {
      auto [asked] = co_await handoff.requests.async_send(boost::system::error_code{},
                                                          asio::as_tuple(asio::use_awaitable));
      if (asked) break;
      auto [ec, chunk] = co_await handoff.chunks.async_receive(asio::as_tuple(asio::use_awaitable));
      if (ec || chunk.run == nullptr) break;
      co_await process_chunk(pool, runs, *chunk.run, chunk);
    }
  } catch (...) {
    handoff.fail();
    throw;
  }
}

// Answers each worker's request with the next chunk (after an empty one, starting at the
// next org that exists on either side, so sparse ids cost no string of empty chunks), then
// each with an end marker.
asio::awaitable<void> produce(db::Pool& pool, std::span<TableRun> runs, Handoff& handoff,
                              int workers) {
  try {
    Chunker chunker(pool, runs, workers);
    for (int ended = 0; ended < workers && !handoff.failed;) {
      auto [asked] = co_await handoff.requests.async_receive(asio::as_tuple(asio::use_awaitable));
      if (asked) co_return;
      const auto chunk = co_await chunker.next();
      if (!chunk) ++ended;
      auto [ec] =
          co_await handoff.chunks.async_send(boost::system::error_code{}, chunk.value_or(Chunk{}),
                                             asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
    }
  } catch (...) {
    handoff.fail();
    throw;
  }
}

TableVerification finish(TableRun& run) {
  const auto& spec = run.spec;
  TableVerification out;
  out.table = spec.name;
  out.buckets_checked = static_cast<std::int64_t>(run.totals.size());
  out.rows_legacy = run.rows_legacy;
  out.rows_partitioned = run.rows_partitioned;
  for (const auto& cell : run.mismatched) {
    const auto& t = run.totals[cell];
    out.mismatched_buckets.push_back(BucketMismatch{
        cell.month, cell.bucket, SideFigures{t.legacy.rows, format_checksum(t.legacy.sum)},
        SideFigures{t.partitioned.rows, format_checksum(t.partitioned.sum)}});
  }
  for (const auto& [key, d] : run.differences) {
    out.differences.push_back(d);
    differences_metric(spec.name, d.kind).inc();
  }
  out.differences_truncated = run.truncated;
  out.chunks = run.chunks;
  out.probes = run.probes;
  out.vanished = run.vanished;
  out.remaining = static_cast<std::int64_t>(out.differences.size());
  const auto mismatched = static_cast<double>(run.mismatched.size());
  buckets_metric(spec.name, "match").inc(static_cast<double>(out.buckets_checked) - mismatched);
  buckets_metric(spec.name, "mismatch").inc(mismatched);
  // Debug: the phase's summary shows these figures to the operator, once.
  verify_logger().debug("table verified",
                        {{"table", spec.name},
                         {"chunks", run.chunks},
                         {"rows_legacy", run.rows_legacy},
                         {"rows_partitioned", run.rows_partitioned},
                         {"buckets_checked", out.buckets_checked},
                         {"mismatched_buckets", static_cast<std::int64_t>(run.mismatched.size())},
                         {"differences", static_cast<std::int64_t>(out.differences.size())},
                         {"bisection_probes", run.probes},
                         {"vanished_mismatches", run.vanished},
                         {"truncated", run.truncated}});
  return out;
}

}  // namespace

asio::awaitable<std::vector<TableVerification>> walk_tables(
    db::Pool& pool, std::span<const TableSpec* const> specs, int modulus,
    const VerifyOptions& options, std::chrono::steady_clock::time_point started) {
  std::vector<TableRun> runs;
  runs.reserve(specs.size());  // chunks point into it
  for (const auto* spec : specs) {
    auto& run = runs.emplace_back(*spec, modulus, options);
    run.started = started;
    run.walked_to = kFirstOrg;
    if (options.on_progress) {
      run.estimated_rows = co_await estimated_rows(pool, spec->name) +
                           co_await estimated_rows(pool, spec->partitioned);
    }
  }
  if (!runs.empty()) runs.back().last = true;
  const auto executor = co_await asio::this_coro::executor;
  Handoff handoff(executor);
  using Op =
      decltype(asio::co_spawn(executor, std::declval<asio::awaitable<void>>(), asio::deferred));
  std::vector<Op> ops;
  ops.push_back(
      asio::co_spawn(executor, produce(pool, runs, handoff, options.workers), asio::deferred));
  for (int i = 0; i < options.workers; ++i) {
    ops.push_back(asio::co_spawn(executor, run_worker(pool, runs, handoff), asio::deferred));
  }
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                             .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  // The first failure in completion order is the cause; the others only saw it close.
  for (const auto i : order) {
    if (errors[i]) std::rethrow_exception(errors[i]);
  }
  std::vector<TableVerification> out;
  for (auto& run : runs) out.push_back(finish(run));
  co_return out;
}

}  // namespace folio::cutover::detail
