#include "folio/cutover/verify_gate.hpp"

#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "folio/cutover/switchover.hpp"
#include "folio/cutover/tables.hpp"
#include "folio/obs/log.hpp"

namespace folio::cutover {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// One statement, so the clean verification and what superseded it come from one snapshot.
// $1: every table's logical name (a full verification checked them all).
//  * clean: the latest clean full verification.
//  * superseding: rows that make the sides possibly differ after a verification ran, each at
//    the time it finished (an unfinished one, at its start); the latest one after the clean
//    verification started — or the latest of all when there is no clean verification, whose
//    failure the message can mention.
constexpr std::string_view kGateSql = R"sql(
WITH clean AS (
  SELECT id, started_at, finished_at
    FROM cutover_audit
   WHERE phase = 'verify' AND status = 'ok' AND finished_at IS NOT NULL
     AND details->'clean' = 'true'::jsonb
     AND details->>'since' IS NULL
     AND coalesce(details->'repaired', '0'::jsonb) = '0'::jsonb
     AND coalesce(details->'tables' ?& $1::text[], false)
   ORDER BY finished_at DESC, id DESC
   LIMIT 1),
superseding AS (
  SELECT a.id,
         CASE WHEN a.phase <> 'verify' THEN a.phase
              WHEN a.status = 'failed' OR a.details->'clean' = 'false'::jsonb THEN 'failure'
              ELSE 'repair' END AS kind,
         coalesce(a.finished_at, a.started_at) AS at,
         a.finished_at IS NULL AS unfinished,
         coalesce(a.details->>'differences', '') AS differences,
         coalesce(a.details->>'repaired', '') AS repaired,
         coalesce(a.details->>'remaining', '') AS remaining,
         coalesce(a.error, '') AS error
    FROM cutover_audit a
   WHERE (a.phase IN ('backfill', 'sync-on') AND a.status <> 'noop')
      OR (a.phase = 'verify' AND a.status <> 'running'
          AND (a.status = 'failed' OR a.details->'clean' = 'false'::jsonb
               OR coalesce(a.details->'repaired', '0'::jsonb) <> '0'::jsonb)))
SELECT current_user::text,
       to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
       c.id,
       to_char(c.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
       extract(epoch FROM clock_timestamp() - c.finished_at)::float8,
       s.id, s.kind,
       to_char(s.at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
       s.unfinished, s.differences, s.repaired, s.remaining, s.error
  FROM (SELECT 1) AS one
  LEFT JOIN clean c ON true
  LEFT JOIN LATERAL (
    SELECT * FROM superseding s
     WHERE c.id IS NULL OR s.at > c.started_at
     ORDER BY s.at DESC, s.id DESC
     LIMIT 1) s ON true
)sql";

// The cutover_audit row that closed the gate.
struct Superseding {
  std::int64_t audit_id = 0;
  std::string kind;  // backfill, sync-on, repair, failure
  std::string at;    // finished (started, when unfinished)
  bool unfinished = false;
  std::string differences;
  std::string repaired;
  std::string remaining;
  std::string error;
};

std::string table_names_array() {
  std::vector<std::string_view> names;
  for (const auto& spec : all_tables()) names.push_back(spec.name);
  return fmt::format("{{{}}}", fmt::join(names, ","));
}

// "45 s", "12 min", "3.0 h": an age an operator reads at a glance.
std::string age_text(double seconds) {
  if (seconds < 120) return fmt::format("{:.0f} s", seconds);
  if (seconds < 7200) return fmt::format("{:.0f} min", seconds / 60);
  return fmt::format("{:.1f} h", seconds / 3600);
}

std::string clean_text(const GateVerification& v) {
  return fmt::format("the last clean full verification (#{}, finished {})", v.audit_id,
                     v.finished_at);
}

// What a verification that found differences or failed says, e.g. "verification #15 found
// 6 differences (finished 2026-12-03 14:02:11 UTC)".
std::string failure_text(const Superseding& s) {
  std::string what;
  if (!s.differences.empty() && s.differences != "0") {
    what = fmt::format("found {} difference{}", s.differences, s.differences == "1" ? "" : "s");
    if (!s.repaired.empty() && s.repaired != "0") {
      what += fmt::format(" ({} left after --repair)", s.remaining.empty() ? "some" : s.remaining);
    }
  } else {
    std::string error = s.error.empty() ? "see its audit row" : s.error;
    if (error.size() > 160) error = error.substr(0, 157) + "...";
    what = "failed (" + error + ")";
  }
  return fmt::format("verification #{} {} at {}", s.audit_id, what, s.at);
}

bool found_differences(const Superseding& s) {
  return !s.differences.empty() && s.differences != "0";
}

// Why `s` supersedes `clean` (or, without one, why there is none), naming the command to run.
std::string closed_reason(const std::optional<GateVerification>& clean,
                          const std::optional<Superseding>& s) {
  constexpr std::string_view kVerify = "run `folioctl switchover verify` first";
  constexpr std::string_view kRepair =
      "run `folioctl switchover verify --repair`, then `folioctl switchover verify` first";
  if (!clean) {
    if (s && s->kind == "failure") {
      return fmt::format(
          "{}: no clean full verification is recorded (one without --since, after the last "
          "repair), and {}",
          found_differences(*s) ? kRepair : kVerify, failure_text(*s));
    }
    return fmt::format(
        "{}: no clean full verification is recorded (one without --since, of every table, "
        "after the last repair)",
        kVerify);
  }
  if (s->kind == "failure") {
    return fmt::format("{}: {}, after {}", found_differences(*s) ? kRepair : kVerify,
                       failure_text(*s), clean_text(*clean));
  }
  if (s->kind == "repair") {
    return fmt::format("{}: {} is older than the repair of {} row{} by verification #{} at {}",
                       kVerify, clean_text(*clean), s->repaired, s->repaired == "1" ? "" : "s",
                       s->audit_id, s->at);
  }
  if (s->unfinished) {
    return fmt::format(
        "run `folioctl switchover {}` to its end, then `folioctl switchover verify` first: {} is "
        "older than the {} that started at {} (#{}) and never finished",
        s->kind, clean_text(*clean), s->kind, s->at, s->audit_id);
  }
  return fmt::format("{}: {} is older than the {} that finished at {} (#{})", kVerify,
                     clean_text(*clean), s->kind, s->at, s->audit_id);
}

}  // namespace

std::string_view to_string(VerifyGateState state) {
  return state == VerifyGateState::open ? "open" : "closed";
}

asio::awaitable<VerifyGate> verify_gate(db::Pool& pool, VerifyGateOptions options) {
  auto r = co_await pool.query(kGateSql, table_names_array());
  const auto row = r.front();
  VerifyGate gate;
  gate.checked_by = row.get<std::string>(0);
  gate.checked_at = row.get<std::string>(1);
  if (const auto id = row.get<std::optional<std::int64_t>>(2)) {
    gate.verification = GateVerification{*id, row.get<std::string>(3), row.get<double>(4)};
  }
  std::optional<Superseding> superseding;
  if (const auto id = row.get<std::optional<std::int64_t>>(5)) {
    superseding = Superseding{*id,
                              row.get<std::string>(6),
                              row.get<std::string>(7),
                              row.get<bool>(8),
                              row.get<std::string>(9),
                              row.get<std::string>(10),
                              row.get<std::string>(11),
                              row.get<std::string>(12)};
  }
  if (!gate.verification || superseding) {
    gate.reason = closed_reason(gate.verification, superseding);
    co_return gate;
  }
  if (options.max_age) {
    const auto max_age = static_cast<double>(options.max_age->count());
    if (gate.verification->age_seconds > max_age) {
      gate.reason = fmt::format(
          "run `folioctl switchover verify` again first: {} is {} old, more than the allowed {}",
          clean_text(*gate.verification), age_text(gate.verification->age_seconds),
          age_text(max_age));
      co_return gate;
    }
  }
  gate.state = VerifyGateState::open;
  co_return gate;
}

std::string format_gate(const VerifyGate& gate) {
  if (gate.open()) {
    return fmt::format("open — clean full verify #{} at {}, {} ago", gate.verification->audit_id,
                       gate.verification->finished_at, age_text(gate.verification->age_seconds));
  }
  return "closed — " + gate.reason;
}

asio::awaitable<json::object> pass_verify_gate(db::Pool& pool, std::string phase,
                                               VerifyGatePolicy policy, VerifyGateOptions options) {
  const auto gate = co_await verify_gate(pool, options);
  if (gate.open()) {
    co_return json::object{{"state", "open"},
                           {"audit_id", gate.verification->audit_id},
                           {"finished_at", gate.verification->finished_at},
                           {"age_s", std::llround(gate.verification->age_seconds)}};
  }
  if (policy == VerifyGatePolicy::enforce) throw SwitchRefused(phase + ": " + gate.reason);
  static const obs::Logger log("cutover.verify_gate");
  log.warn("verification gate skipped",
           {{"phase", phase}, {"by", gate.checked_by}, {"reason", gate.reason}});
  co_return json::object{{"state", "skipped"},
                         {"by", gate.checked_by},
                         {"at", gate.checked_at},
                         {"reason", gate.reason}};
}

}  // namespace folio::cutover
