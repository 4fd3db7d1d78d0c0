// The verification gate: `pilot add`, `cutover` and `finalize` move traffic (or retire the
// legacy tables) only on the strength of a clean full verification that started after
// everything that could have made the two sides differ since, and that no later
// verification contradicted. Everything is derived from cutover_audit:
//
//  * a clean full verification is a 'verify' row with status 'ok', details.clean true, no
//    details.since (an incremental run checks only recent rows), every table in
//    details.tables, and nothing repaired (a repair changes rows after they were compared:
//    the next full verification is the one that shows the sides equal);
//  * it is superseded by any of these that finished after it started: a 'backfill' or
//    'sync-on' run that did something (any status but 'noop'; one that never finished — still
//    running, or killed — counts from its start), a 'verify' that repaired rows, and a
//    'verify' that found differences or failed.
//
// Skipping the gate is the caller's decision (VerifyGatePolicy::skip), recorded in the
// phase's audit row by pass_verify_gate.
//
// Thread-safety: stateless functions; the pool must be used from its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "folio/db/pool.hpp"

namespace folio::cutover {

enum class VerifyGatePolicy {
  enforce,  // refuse while the gate is closed
  skip,     // go ahead anyway; the audit row says who skipped it and what the gate said
};

enum class VerifyGateState { open, closed };
std::string_view to_string(VerifyGateState state);

struct VerifyGateOptions {
  // Also closed when the clean full verification finished longer ago than this (finalize's
  // --max-verify-age); nullopt: any age.
  std::optional<std::chrono::seconds> max_age;
};

// A cutover_audit 'verify' row.
struct GateVerification {
  std::int64_t audit_id = 0;
  std::string finished_at;  // "2026-12-03 14:02:11 UTC"
  double age_seconds = 0;   // at the time the gate was evaluated
};

struct VerifyGate {
  VerifyGateState state = VerifyGateState::closed;
  // The latest clean full verification, if any; when the gate is open, the one that opens it.
  std::optional<GateVerification> verification;
  // Closed: why, as "run `folioctl switchover verify …` first: <what superseded it>".
  // Open: empty.
  std::string reason;
  std::string checked_by;  // the server's current_user
  std::string checked_at;  // the server's clock, "2026-12-03 15:04:05 UTC"

  bool open() const { return state == VerifyGateState::open; }
};

// Evaluates the gate. Reads only; throws db::Error when cutover_audit cannot be read.
boost::asio::awaitable<VerifyGate> verify_gate(db::Pool& pool, VerifyGateOptions options = {});

// One line for a terminal: "open — clean full verify #12 at 2026-12-03 14:02:11 UTC, 3.0 h
// ago" or "closed — <reason>".
std::string format_gate(const VerifyGate& gate);

// The gate check of a switch phase (`phase` as its messages name it: "pilot add", "cutover",
// "finalize"). Returns what the phase records as details.verify_gate in its audit row:
// {"state": "open", "audit_id", "finished_at", "age_s"} when open; {"state": "skipped", "by",
// "at", "reason"} when closed and `policy` is skip (also logged as a warning). Throws
// SwitchRefused ("<phase>: <reason>") when closed and `policy` is enforce, db::Error when
// cutover_audit cannot be read.
boost::asio::awaitable<boost::json::object> pass_verify_gate(db::Pool& pool, std::string phase,
                                                             VerifyGatePolicy policy,
                                                             VerifyGateOptions options = {});

}  // namespace folio::cutover
