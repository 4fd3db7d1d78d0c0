#include "folio/cutover/verify.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "detail/verify_chunker.hpp"
#include "detail/verify_compare.hpp"
#include "detail/verify_repair.hpp"
#include "detail/verify_sql.hpp"
#include "detail/verify_walk.hpp"
#include "folio/cutover/schema.hpp"
#include "folio/db/errors.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::cutover {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

obs::Counter& repaired_metric(std::string_view table) {
  return obs::Registry::global().counter("folio_verify_repaired_rows_total",
                                         "Differing rows re-synced from their source side",
                                         {{"table", std::string(table)}});
}

asio::awaitable<void> repair_table(db::Pool& pool, const TableSpec& spec, int modulus,
                                   const VerifyOptions& options, TableVerification& table) {
  co_await detail::repair_differences(pool, spec, table.differences, options.statement_timeout);
  const detail::VerifySql sql(spec, modulus, false);
  std::vector<detail::Candidate> candidates;
  for (const auto& d : table.differences) {
    candidates.push_back({d.key, d.legacy_org, d.partitioned_org});
  }
  std::map<RowKey, Difference> left;
  const auto still = co_await detail::recheck(pool, sql, candidates, options.statement_timeout);
  for (const auto& d : still) left.emplace(d.key, d);
  table.repaired = 0;
  for (auto& d : table.differences) {
    d.repaired = !left.contains(d.key);
    if (d.repaired) ++table.repaired;
  }
  table.remaining = static_cast<std::int64_t>(left.size());
  repaired_metric(spec.name).inc(static_cast<double>(table.repaired));
}

void validate(const VerifyOptions& options) {
  if (options.workers < 1 || options.workers > 64) {
    throw std::invalid_argument("workers must be within 1..64");
  }
  if (options.target_chunk.count() <= 0 || !(options.overhead_factor >= 0)) {
    throw std::invalid_argument(
        "the target chunk duration must be positive and the overhead factor not negative");
  }
  if (options.leaf_rows < 1 || options.max_differences < 1 || options.first_chunk_rows < 1) {
    throw std::invalid_argument("leaf rows, first chunk rows and max differences must be positive");
  }
  for (const auto& name : options.tables) {
    if (find_table(name) == nullptr) {
      throw std::invalid_argument("unknown table '" + name + "' (revenues, expenses, balances)");
    }
  }
}

bool selected(const VerifyOptions& options, const TableSpec& spec) {
  return options.tables.empty() ||
         std::find(options.tables.begin(), options.tables.end(), spec.name) != options.tables.end();
}

asio::awaitable<int> required_modulus(db::Pool& pool) {
  const auto modulus = co_await partitioned_modulus(pool);
  if (!modulus) {
    throw db::ObjectNotInPrerequisiteState(
        "", "the partitioned tables do not exist: run `folioctl switchover prepare` first");
  }
  co_return *modulus;
}

}  // namespace

std::string_view to_string(DifferenceKind kind) {
  switch (kind) {
    case DifferenceKind::missing_in_partitioned:
      return "missing_in_partitioned";
    case DifferenceKind::missing_in_legacy:
      return "missing_in_legacy";
    case DifferenceKind::different:
      return "different";
  }
  return "different";
}

std::string chunk_sql(const TableSpec& spec, Side side, int hash_modulus, bool with_since) {
  return detail::VerifySql(spec, hash_modulus, with_since).chunk(side);
}

asio::awaitable<std::string> explain_chunks(db::Pool& pool, const VerifyOptions& options,
                                            std::int64_t org_span) {
  validate(options);
  const int modulus = co_await required_modulus(pool);
  std::string out;
  for (const auto& spec : all_tables()) {
    if (!selected(options, spec)) continue;
    const detail::VerifySql sql(spec, modulus, options.since.has_value());
    const auto range = co_await detail::org_range(pool, sql);
    if (!range) continue;
    std::int64_t span = org_span;
    if (span <= 0) {
      span = static_cast<std::int64_t>(
          co_await detail::first_span(pool, spec, *range, options.first_chunk_rows));
    }
    auto tx = co_await detail::begin_snapshot(pool, options.statement_timeout);
    out +=
        fmt::format("== {}: org_id {}..{} ==\n", spec.name, range->first, range->first + span - 1);
    for (const Side side : {Side::legacy, Side::partitioned}) {
      db::Params params;
      params.add(range->first);
      params.add(range->first + span - 1);
      if (options.since) detail::add_time_bound(params, spec, *options.since);
      out += fmt::format("== {} {} ==\n", spec.name, to_string(side));
      const auto plan = co_await tx.execute("EXPLAIN " + sql.chunk(side), params);
      for (const auto& row : plan) {
        out += row.get<std::string>(0) + "\n";
      }
    }
    co_await tx.commit();
  }
  co_return out;
}

asio::awaitable<VerifyReport> verify(db::Pool& pool, const VerifyOptions& options) {
  validate(options);
  const auto started = Clock::now();
  const int modulus = co_await required_modulus(pool);
  VerifyReport report;
  report.since = options.since;
  report.hash_modulus = modulus;
  std::vector<const TableSpec*> specs;
  for (const auto& spec : all_tables()) {
    if (selected(options, spec)) specs.push_back(&spec);
  }
  report.tables = co_await detail::walk_tables(pool, specs, modulus, options, started);
  if (options.repair) {
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (!report.tables[i].differences.empty()) {
        co_await repair_table(pool, *specs[i], modulus, options, report.tables[i]);
      }
    }
  }
  report.clean = true;
  std::int64_t rows = 0;
  for (const auto& t : report.tables) {
    report.differences += static_cast<std::int64_t>(t.differences.size());
    report.repaired += t.repaired;
    report.remaining += t.remaining;
    rows += t.rows_legacy + t.rows_partitioned;
    // Truncated: the difference budget ran out with mismatches left unexplained.
    if (t.remaining > 0 || t.differences_truncated) report.clean = false;
  }
  report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  report.rows_per_s = report.seconds > 0 ? static_cast<double>(rows) / report.seconds : 0;
  co_return report;
}

asio::awaitable<VerifyPhase> verify_phase(db::Pool& pool, const VerifyOptions& options,
                                          StatsLevel stats) {
  VerifyPhase phase;
  phase.audit = co_await run_audited(pool, "verify", stats, [&]() -> asio::awaitable<PhaseOutcome> {
    phase.report = co_await verify(pool, options);
    PhaseOutcome outcome;
    // Finalize trusts only 'ok' rows: never one for a run that left a difference behind.
    outcome.status = phase.report.clean ? "ok" : "failed";
    outcome.details = audit_details(phase.report);
    co_return outcome;
  });
  co_return phase;
}

}  // namespace folio::cutover