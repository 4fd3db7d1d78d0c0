#include "folio/cutover/audit.hpp"

#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>

#include "folio/db/errors.hpp"
#include "folio/db/transaction.hpp"
#include "folio/obs/log.hpp"

namespace folio::cutover {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

json::array to_json(const std::vector<SideStats>& stats) {
  json::array out;
  for (const auto& s : stats) {
    json::object o{{"table", s.table}, {"side", to_string(s.side)}, {"exists", s.exists}};
    if (s.exists) {
      o["rows"] = s.rows;
      if (s.checksum) o["checksum"] = *s.checksum;
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::string describe(const std::exception& e) {
  if (const auto* db_error = dynamic_cast<const db::Error*>(&e);
      db_error != nullptr && !db_error->sqlstate().empty()) {
    return fmt::format("[{}] {}", db_error->sqlstate(), e.what());
  }
  return e.what();
}

}  // namespace

std::optional<StatsLevel> parse_stats_level(std::string_view text) {
  if (text == "full") return StatsLevel::full;
  if (text == "counts") return StatsLevel::counts;
  if (text == "none") return StatsLevel::none;
  return std::nullopt;
}

asio::awaitable<std::vector<SideStats>> collect_stats(db::Pool& pool, StatsLevel level) {
  std::vector<SideStats> stats;
  if (level == StatsLevel::none) co_return stats;
  for (const auto& spec : all_tables()) {
    db::TransactionOptions options;
    options.isolation = db::Isolation::kRepeatableRead;
    options.read_only = true;
    auto tx = co_await db::Transaction::begin(co_await pool.acquire(), options);
    co_await tx.connection().execute_script(std::string(kLocalSettings));
    for (const Side side : {Side::legacy, Side::partitioned}) {
      SideStats s;
      s.table = spec.name;
      s.side = side;
      const std::string table(spec.table(side));
      s.exists = (co_await tx.query("SELECT to_regclass($1) IS NOT NULL", table)).scalar<bool>();
      if (s.exists) {
        if (level == StatsLevel::full) {
          auto r = co_await tx.execute(fmt::format(
              "SELECT count(*), coalesce(sum({}), 0)::text FROM {} t", row_hash_sql("t"), table));
          s.rows = r.front().get<std::int64_t>(0);
          s.checksum = r.front().get<std::string>(1);
        } else {
          s.rows = (co_await tx.execute("SELECT count(*) FROM " + table)).scalar<std::int64_t>();
        }
      }
      stats.push_back(std::move(s));
    }
    co_await tx.commit();
  }
  co_return stats;
}

asio::awaitable<AuditedPhase> run_audited(db::Pool& pool, std::string phase, StatsLevel level,
                                          std::function<asio::awaitable<PhaseOutcome>()> body) {
  static const obs::Logger log("cutover.audit");
  AuditedPhase result;
  result.phase = phase;
  const auto started = std::chrono::steady_clock::now();
  result.audit_id =
      (co_await pool.query("INSERT INTO cutover_audit (phase, status) VALUES ($1, 'running') "
                           "RETURNING id",
                           phase))
          .scalar<std::int64_t>();
  std::exception_ptr failure;
  try {
    result.before = co_await collect_stats(pool, level);
    auto outcome = co_await body();
    result.status = outcome.status;
    result.details = std::move(outcome.details);
  } catch (const std::exception& e) {
    failure = std::current_exception();
    result.status = "failed";
    result.error = describe(e);
  }
  try {
    result.after = co_await collect_stats(pool, level);
  } catch (const std::exception& e) {
    log.warn("could not collect the after figures", {{"phase", phase}, {"error", e.what()}});
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto details = json::serialize(result.details);
  co_await pool.query(
      "UPDATE cutover_audit SET status = $2, finished_at = clock_timestamp(), "
      "details = $3::jsonb, before_stats = $4::jsonb, after_stats = $5::jsonb, "
      "error = nullif($6, '') WHERE id = $1",
      result.audit_id, result.status, details, json::serialize(to_json(result.before)),
      json::serialize(to_json(result.after)), result.error);
  log.info("phase finished", {{"phase", phase},
                              {"status", result.status},
                              {"audit_id", result.audit_id},
                              {"seconds", result.seconds},
                              {"details", result.details},
                              {"error", result.error}});
  if (failure) std::rethrow_exception(failure);
  co_return result;
}

std::string format_phase(const AuditedPhase& phase) {
  std::string out = fmt::format("phase {}: {} in {:.1f} s (cutover_audit #{})\n", phase.phase,
                                phase.status, phase.seconds, phase.audit_id);
  if (!phase.error.empty()) out += fmt::format("  error: {}\n", phase.error);
  for (const auto& [key, value] : phase.details) {
    // Boost.JSON writes doubles as 1.926E0; an operator reads 1.93.
    out += fmt::format(
        "  {}: {}\n", std::string_view(key),
        value.is_double() ? fmt::format("{:.2f}", value.as_double()) : json::serialize(value));
  }
  if (phase.before.empty() && phase.after.empty()) return out;
  out += fmt::format("  {:<9} {:<12} {:>12} {:>12}  {:<21} {:<21}\n", "table", "side",
                     "rows before", "rows after", "checksum before", "checksum after");
  const auto cell = [](const std::vector<SideStats>& v, std::size_t i, bool rows) -> std::string {
    if (i >= v.size() || !v[i].exists) return "-";
    if (rows) return std::to_string(v[i].rows);
    return v[i].checksum.value_or("-");
  };
  const auto& names = phase.before.empty() ? phase.after : phase.before;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += fmt::format("  {:<9} {:<12} {:>12} {:>12}  {:<21} {:<21}\n", names[i].table,
                       to_string(names[i].side), cell(phase.before, i, true),
                       cell(phase.after, i, true), cell(phase.before, i, false),
                       cell(phase.after, i, false));
  }
  return out;
}

}  // namespace folio::cutover
