#include "verify_compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <stdexcept>

#include "months.hpp"

namespace folio::cutover::detail {

namespace asio = boost::asio;

namespace {

Figures figures_of(const db::Row& row, int rows_column) {
  return Figures{row.get<std::int64_t>(rows_column),
                 parse_checksum(row.get<std::string_view>(rows_column + 1))};
}

// One side's versions of a key: (org, row hash) per row found.
struct Versions {
  std::vector<std::pair<std::int64_t, std::int64_t>> legacy;
  std::vector<std::pair<std::int64_t, std::int64_t>> partitioned;
};

void collect(const db::Result& result, Side side, std::map<RowKey, Versions>& out) {
  for (const auto& row : result) {
    const RowKey key{row.get<std::int64_t>(0), row.get<std::optional<std::chrono::sys_days>>(1)};
    auto& v = side == Side::legacy ? out[key].legacy : out[key].partitioned;
    v.emplace_back(row.get<std::int64_t>(2), row.get<std::int64_t>(3));
  }
}

}  // namespace

asio::awaitable<db::Transaction> begin_snapshot(db::Pool& pool,
                                                std::chrono::milliseconds statement_timeout) {
  db::TransactionOptions options;
  options.isolation = db::Isolation::kRepeatableRead;
  options.read_only = true;
  options.statement_timeout = statement_timeout;
  auto tx = co_await db::Transaction::begin(co_await pool.acquire(), options);
  // Comparisons walk org_id ranges: a sequential scan would read the whole table (every leaf
  // of the partitioned one) for each chunk or probe, however narrow, and the planner picks
  // one for ranges holding a few percent of a table. Range scans on the org_id-leading
  // indexes keep the total work proportional to the table. Parallelism comes from the
  // verification's own workers: parallel plans on top (a Parallel Append over every leaf)
  // only add worker start-up and oversubscribe the cores.
  co_await tx.connection().execute_script(
      std::string(kLocalSettings) +
      " SET LOCAL enable_seqscan = off; SET LOCAL max_parallel_workers_per_gather = 0;");
  co_return tx;
}

asio::awaitable<ChunkFigures> read_chunk(db::Pool& pool, const VerifySql& sql, LeafCells& leaves,
                                         std::int64_t lo, std::int64_t hi,
                                         std::optional<std::chrono::sys_days> since,
                                         std::chrono::milliseconds statement_timeout) {
  ChunkFigures out;
  auto tx = co_await begin_snapshot(pool, statement_timeout);
  db::Params params;
  params.add(lo);
  params.add(hi);
  if (since) add_time_bound(params, sql.spec(), *since);
  // The partitioned side by cell: its leaf is its cell, so grouping costs nothing.
  Figures partitioned_total;
  const auto cells = co_await tx.execute(sql.chunk(Side::partitioned), params);
  for (const auto& row : cells) {
    const auto key = row.get<std::int64_t>(0);
    if (key < 0) {  // rows of the DEFAULT partition, keyed by cell (VerifySql::chunk)
      const Figures f = figures_of(row, 1);
      out[cell_of_key(-1 - key)].partitioned += f;
      partitioned_total += f;
      continue;
    }
    if (!leaves.contains(key)) {
      leaves.clear();
      const auto catalog = co_await tx.execute(sql.leaf_cells());
      for (const auto& leaf : catalog) {
        const auto month = leaf.get<std::optional<std::chrono::sys_days>>(1);
        const auto remainder = leaf.get<std::optional<std::int32_t>>(2);
        if (month && remainder) {
          leaves[leaf.get<std::int64_t>(0)] = Cell{to_month(*month), *remainder};
        }
      }
      if (!leaves.contains(key)) {
        throw std::runtime_error(
            fmt::format("{}: rows in partition oid {}, which is not a month/hash leaf",
                        sql.spec().partitioned, key));
      }
    }
    const Figures f = figures_of(row, 1);
    out[leaves.at(key)].partitioned += f;
    partitioned_total += f;
  }
  // The legacy side in total first: when it equals the partitioned side's (rows and the sum
  // of 64-bit row hashes), every cell matches, and the legacy rows never need the per-row
  // month and bucket that grouping them by cell costs. Only a chunk that differs is read
  // again by cell, in the same snapshot.
  const auto total = co_await tx.execute(sql.chunk_total(Side::legacy), params);
  if (figures_of(total.front(), 0) == partitioned_total) {
    for (auto& [cell, f] : out) f.legacy = f.partitioned;
  } else {
    const auto legacy = co_await tx.execute(sql.chunk(Side::legacy), params);
    for (const auto& row : legacy) {
      out[cell_of_key(row.get<std::int64_t>(0))].legacy += figures_of(row, 1);
    }
  }
  co_await tx.commit();
  co_return out;
}

asio::awaitable<std::vector<Candidate>> narrow(db::Pool& pool, const VerifySql& sql,
                                               const NarrowOptions& options, std::int64_t lo,
                                               std::int64_t hi, Cell cell, CellFigures figures,
                                               std::int64_t limit, int& probes) {
  struct Range {
    std::int64_t lo;
    std::int64_t hi;
    CellFigures figures;
  };
  const TableSpec& spec = sql.spec();
  const TimeWindow window = month_window(cell.month, options.since);
  std::vector<Candidate> out;
  {
    // Tighten the range to the orgs the cell has in it (a chunk's range may be wide and
    // sparse, the first and last ones reach to the ends of bigint).
    ++probes;
    auto tx = co_await begin_snapshot(pool, options.statement_timeout);
    std::optional<std::int64_t> first;
    std::optional<std::int64_t> last;
    for (const Side side : {Side::legacy, Side::partitioned}) {
      db::Params params;
      params.add(lo);
      params.add(hi);
      add_time_bound(params, spec, window.from);
      add_time_bound(params, spec, window.to);
      params.add(cell.bucket);
      const auto r = co_await tx.execute(sql.cell_orgs(side), params);
      if (const auto min = r.front().get<std::optional<std::int64_t>>(0)) {
        first = first ? std::min(*first, *min) : *min;
        last = std::max(last.value_or(*min), r.front().get<std::int64_t>(1));
      }
    }
    co_await tx.commit();
    if (!first) co_return out;  // the cell is empty on both sides by now
    lo = *first;
    hi = *last;
  }
  std::vector<Range> pending{{lo, hi, figures}};
  while (!pending.empty() && static_cast<std::int64_t>(out.size()) < limit) {
    const Range range = pending.back();
    pending.pop_back();
    ++probes;
    auto tx = co_await begin_snapshot(pool, options.statement_timeout);
    if (range.lo == range.hi ||
        std::max(range.figures.legacy.rows, range.figures.partitioned.rows) <= options.leaf_rows) {
      db::Params params;
      params.add(range.lo);
      params.add(range.hi);
      add_time_bound(params, spec, window.from);
      add_time_bound(params, spec, window.to);
      params.add(cell.bucket);
      params.add(limit - static_cast<std::int64_t>(out.size()));
      const auto result = co_await tx.execute(sql.leaf_diff(), params);
      for (const auto& row : result) {
        out.push_back(Candidate{
            RowKey{row.get<std::int64_t>(0), row.get<std::optional<std::chrono::sys_days>>(1)},
            row.get<std::optional<std::int64_t>>(2), row.get<std::optional<std::int64_t>>(3)});
      }
      co_await tx.commit();
      continue;
    }
    const std::int64_t mid = std::midpoint(range.lo, range.hi);  // lo <= mid < hi
    CellFigures halves[2];
    for (const Side side : {Side::legacy, Side::partitioned}) {
      db::Params params;
      params.add(range.lo);
      params.add(range.hi);
      params.add(mid);
      add_time_bound(params, spec, window.from);
      add_time_bound(params, spec, window.to);
      params.add(cell.bucket);
      const auto result = co_await tx.execute(sql.probe(side), params);
      for (const auto& row : result) {
        auto& half = halves[row.get<std::int32_t>(0) == 0 ? 0 : 1];
        (side == Side::legacy ? half.legacy : half.partitioned) = figures_of(row, 1);
      }
    }
    co_await tx.commit();
    // The upper half goes first onto the stack, so the lower one is examined first.
    if (!halves[1].equal()) pending.push_back({mid + 1, range.hi, halves[1]});
    if (!halves[0].equal()) pending.push_back({range.lo, mid, halves[0]});
  }
  co_return out;
}

asio::awaitable<std::vector<Difference>> recheck(db::Pool& pool, const VerifySql& sql,
                                                 std::span<const Candidate> candidates,
                                                 std::chrono::milliseconds statement_timeout) {
  std::vector<Difference> out;
  if (candidates.empty()) co_return out;
  const bool by_id = sql.spec().keyed_by_id();
  std::set<RowKey> wanted;
  std::set<std::int64_t> orgs;
  std::set<std::int64_t> ids;
  std::set<std::chrono::sys_days> days;
  for (const auto& c : candidates) {
    wanted.insert(c.key);
    if (by_id) {
      ids.insert(c.key.first);
      if (c.legacy_org) orgs.insert(*c.legacy_org);
      if (c.partitioned_org) orgs.insert(*c.partitioned_org);
    } else {
      orgs.insert(c.key.first);
      if (c.key.day) days.insert(*c.key.day);
    }
  }
  std::map<RowKey, Versions> seen;
  auto tx = co_await begin_snapshot(pool, statement_timeout);
  const std::vector<std::int64_t> id_list(ids.begin(), ids.end());
  const std::vector<std::chrono::sys_days> day_list(days.begin(), days.end());
  if (by_id) {
    collect(co_await tx.query(sql.lookup(Side::legacy), int_array(id_list)), Side::legacy, seen);
    // The legacy row names the organization the partitioned copy should be filed under.
    for (const auto& [key, versions] : seen) {
      for (const auto& [org, hash] : versions.legacy) orgs.insert(org);
    }
    const std::vector<std::int64_t> org_list(orgs.begin(), orgs.end());
    collect(
        co_await tx.query(sql.lookup(Side::partitioned), int_array(org_list), int_array(id_list)),
        Side::partitioned, seen);
  } else {
    const std::vector<std::int64_t> org_list(orgs.begin(), orgs.end());
    for (const Side side : {Side::legacy, Side::partitioned}) {
      collect(co_await tx.query(sql.lookup(side), int_array(org_list), date_array(day_list)), side,
              seen);
    }
  }
  co_await tx.commit();
  for (const auto& key : wanted) {
    const auto it = seen.find(key);
    if (it == seen.end()) continue;  // gone from both sides by now
    const auto& [legacy, partitioned] = it->second;
    if (legacy.size() == 1 && partitioned.size() == 1 && legacy.front() == partitioned.front()) {
      continue;  // equal by now
    }
    Difference d;
    d.key = key;
    d.kind = legacy.empty()        ? DifferenceKind::missing_in_legacy
             : partitioned.empty() ? DifferenceKind::missing_in_partitioned
                                   : DifferenceKind::different;
    if (!legacy.empty()) d.legacy_org = legacy.front().first;
    if (!partitioned.empty()) d.partitioned_org = partitioned.front().first;
    out.push_back(d);
  }
  co_return out;
}

}  // namespace folio::cutover::detail
