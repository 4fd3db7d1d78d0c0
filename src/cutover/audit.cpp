#include "folio/cutover/audit.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <chrono>
#include <cmath>

#include "folio/db/errors.hpp"
#include "folio/db/transaction.hpp"
#include "folio/obs/human_text.hpp"
#include "folio/obs/json_text.hpp"
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

// ---- details for a person -------------------------------------------------------------------

bool is_scalar(const json::value& v) { return !v.is_object() && !v.is_array(); }

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// A duration in seconds (or milliseconds), by its key: "seconds", "paused_seconds", "age_s",
// "took_ms".
bool is_seconds(std::string_view key) {
  return key == "seconds" || ends_with(key, "_seconds") ||
         (ends_with(key, "_s") && key != "rows_per_s");
}
bool is_millis(std::string_view key) { return ends_with(key, "_ms"); }

// "paused_seconds" -> "paused", "age_s" -> "age", "rows_per_s" -> "rate",
// "tables_created" -> "tables created".
std::string label_of(std::string_view key) {
  if (key == "rows_per_s") return "rate";
  if (key == "seconds") return "duration";
  if (is_seconds(key) || is_millis(key)) key = key.substr(0, key.rfind('_'));
  std::string label(key);
  std::replace(label.begin(), label.end(), '_', ' ');
  return label;
}

std::string scalar_text(std::string_view key, const json::value& v) {
  if (v.is_null()) return "-";
  if (v.is_bool()) return v.get_bool() ? "yes" : "no";
  if (v.is_string()) return std::string(v.get_string());
  const double number = v.is_double()  ? v.get_double()
                        : v.is_int64() ? static_cast<double>(v.get_int64())
                                       : static_cast<double>(v.get_uint64());
  if (is_seconds(key)) return obs::duration_text(number);
  if (is_millis(key)) return obs::duration_text(number / 1000);
  if (key == "rows_per_s") return obs::rate_text(number);
  if (ends_with(key, "_bytes")) return obs::bytes_text(std::llround(number));
  if (v.is_int64()) return obs::thousands(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  return obs::fixed_number_text(number, 2);
}

// An object or array on one line: "revenues 1,200, expenses 1,180", "1, 2, 3".
std::string inline_text(std::string_view key, const json::value& v) {
  if (is_scalar(v)) return scalar_text(key, v);
  std::string out;
  if (v.is_array()) {
    for (const auto& element : v.get_array()) {
      out += (out.empty() ? "" : ", ") + inline_text(key, element);
    }
    return out.empty() ? "none" : out;
  }
  for (const auto& [k, value] : v.get_object()) {
    std::string text = inline_text(k, value);
    if (!is_scalar(value)) text = "(" + text + ")";
    out += (out.empty() ? "" : ", ") + label_of(k) + " " + text;
  }
  return out.empty() ? "-" : out;
}

bool flat(const json::value& v) {
  if (v.is_object()) {
    return std::all_of(v.get_object().begin(), v.get_object().end(),
                       [](const auto& field) { return is_scalar(field.value()); });
  }
  if (v.is_array()) return std::all_of(v.get_array().begin(), v.get_array().end(), is_scalar);
  return true;
}

// One aligned "label  value" line per field; an object of objects, or a list of objects,
// goes beneath its label, indented.
void append_details(std::string& out, const json::object& details, std::size_t indent) {
  std::size_t width = 0;
  for (const auto& field : details) width = std::max(width, label_of(field.key()).size());
  const std::string pad(indent, ' ');
  for (const auto& [key, value] : details) {
    if (flat(value)) {
      out += fmt::format("{}{:<{}}  {}\n", pad, label_of(key), width, inline_text(key, value));
    } else if (value.is_object()) {
      out += fmt::format("{}{}\n", pad, label_of(key));
      append_details(out, value.get_object(), indent + 2);
    } else {
      out += fmt::format("{}{}\n", pad, label_of(key));
      for (const auto& element : value.get_array()) {
        out += fmt::format("{}  - {}\n", pad, inline_text(key, element));
      }
    }
  }
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
  const auto details = obs::to_json_text(result.details);
  co_await pool.query(
      "UPDATE cutover_audit SET status = $2, finished_at = clock_timestamp(), "
      "details = $3::jsonb, before_stats = $4::jsonb, after_stats = $5::jsonb, "
      "error = nullif($6, '') WHERE id = $1",
      result.audit_id, result.status, details, obs::to_json_text(to_json(result.before)),
      obs::to_json_text(to_json(result.after)), result.error);
  // The details are the phase's result, which its caller shows (and cutover_audit keeps): the
  // line says that the phase ended and how, not the result a second time.
  json::object fields{{"phase", phase},
                      {"status", result.status},
                      {"audit_id", result.audit_id},
                      {"seconds", std::round(result.seconds * 1000) / 1000}};
  if (!result.error.empty()) fields["error"] = result.error;
  log.log(failure ? obs::Level::kError : obs::Level::kInfo, "phase finished", std::move(fields));
  if (failure) std::rethrow_exception(failure);
  co_return result;
}

std::string format_phase(const AuditedPhase& phase, std::optional<std::string_view> details_text) {
  std::string out = fmt::format("{}: {} in {}  (cutover_audit #{})\n", phase.phase, phase.status,
                                obs::duration_text(phase.seconds), phase.audit_id);
  if (!phase.error.empty()) out += fmt::format("  error: {}\n", phase.error);
  if (details_text) {
    out += *details_text;
  } else {
    append_details(out, phase.details, 2);
  }
  if (phase.before.empty() && phase.after.empty()) return out;
  // Checksums only where they were computed (--audit-stats full).
  const auto has_checksum = [](const SideStats& s) { return s.checksum.has_value(); };
  const bool checksums = std::any_of(phase.before.begin(), phase.before.end(), has_checksum) ||
                         std::any_of(phase.after.begin(), phase.after.end(), has_checksum);
  const auto row = [&](std::string_view table, std::string_view side, const std::string& before,
                       const std::string& after, const std::string& sum_before,
                       const std::string& sum_after) {
    std::string line = fmt::format("  {:<9} {:<12} {:>14} {:>14}", table, side, before, after);
    if (checksums) line += fmt::format("  {:<22} {}", sum_before, sum_after);
    return line + "\n";
  };
  out += row("table", "side", "rows before", "rows after", "checksum before", "checksum after");
  const auto cell = [](const std::vector<SideStats>& v, std::size_t i, bool rows) -> std::string {
    if (i >= v.size() || !v[i].exists) return "-";
    if (rows) return obs::thousands(v[i].rows);
    return v[i].checksum.value_or("-");
  };
  const auto& names = phase.before.empty() ? phase.after : phase.before;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out +=
        row(names[i].table, to_string(names[i].side), cell(phase.before, i, true),
            cell(phase.after, i, true), cell(phase.before, i, false), cell(phase.after, i, false));
  }
  return out;
}

json::object to_json(const AuditedPhase& phase) {
  json::object out{
      {"phase", phase.phase},         {"status", phase.status},
      {"audit_id", phase.audit_id},   {"seconds", std::round(phase.seconds * 1000) / 1000},
      {"details", phase.details},     {"before", to_json(phase.before)},
      {"after", to_json(phase.after)}};
  if (!phase.error.empty()) out["error"] = phase.error;
  return out;
}

}  // namespace folio::cutover
