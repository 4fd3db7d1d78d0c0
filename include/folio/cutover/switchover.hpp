// The switch phases of the cutover (SPEC §2 phases 1 and 6-9): preflight, pilot add|remove,
// cutover, rollback and finalize, plus a read-only status report. They change only
// partition_routing (through partitioning::RoutingStore) — except finalize, which retires
// the legacy tables — and each runs through run_audited, so cutover_audit records it with
// its details (what changed, routing before and after) and row counts / checksums.
//
// Safety checks run before anything is recorded or changed; a "no" is a SwitchRefused whose
// message names the phase to run first. A phase with nothing to do records status "noop"
// and is never refused, so every command can be re-run.
//
// Routing decisions:
//  * pilot add and cutover need the sync on for every table, a finished backfill and an open
//    verification gate (verify_gate.hpp): a clean full verification after the last backfill,
//    sync-on and repair, not contradicted since. So does finalize, whose verification must
//    also be recent. VerifyGatePolicy::skip overrides the gate and is recorded in the audit
//    row (details.verify_gate), which otherwise names the verification that allowed the phase.
//  * cutover sets the fleet row to partitioned and keeps the pilot rows: after cutover they
//    are redundant (pilots to partitioned) or deliberate exceptions (pilots to legacy, which
//    block finalize until removed); rollback deletes them all.
//  * rollback (fleet legacy, no pilots) and pilot remove need the sync on whenever some
//    organization is currently routed to partitioned: otherwise legacy misses its writes.
//  * after finalize the legacy tables are archived: rollback and pilot add are refused.
//
// Arguments are taken by value: a coroutine may start after the caller's temporaries died.
//
// Thread-safety: stateless functions; the pool must be used from its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "folio/cutover/audit.hpp"
#include "folio/cutover/lock_retry.hpp"
#include "folio/cutover/verify_gate.hpp"
#include "folio/db/pool.hpp"

namespace folio::cutover {

// A safety check said no. what() says why and what would make it say yes; details() holds
// structured findings when there are any (preflight's checks).
class SwitchRefused : public std::runtime_error {
 public:
  explicit SwitchRefused(const std::string& message, boost::json::object details = {})
      : std::runtime_error(message), details_(std::move(details)) {}
  const boost::json::object& details() const noexcept { return details_; }

 private:
  boost::json::object details_;
};

// ---- routing ---------------------------------------------------------------------------------

// Routes `orgs` to the partitioned tables (pilot rows). Throws std::invalid_argument for an
// empty list or an id <= 0, SwitchRefused when sync or backfill is not done, an organization
// does not exist, finalize ran, or the verification gate is closed (unless `gate` is skip).
boost::asio::awaitable<AuditedPhase> pilot_add(db::Pool& pool, std::vector<std::int64_t> orgs,
                                               StatsLevel stats,
                                               VerifyGatePolicy gate = VerifyGatePolicy::enforce);

// Deletes the pilot rows of `orgs`: they follow the fleet row again. Throws
// std::invalid_argument as pilot_add, SwitchRefused when the sync is off while one of them
// is routed to partitioned. A non-empty `reason` is kept in the audit row's details under
// "reason" (the pilot guard's evidence).
boost::asio::awaitable<AuditedPhase> pilot_remove(db::Pool& pool, std::vector<std::int64_t> orgs,
                                                  StatsLevel stats,
                                                  boost::json::object reason = {});

// Fleet row = partitioned. Throws SwitchRefused as pilot_add.
boost::asio::awaitable<AuditedPhase> cut_over(db::Pool& pool, StatsLevel stats,
                                              VerifyGatePolicy gate = VerifyGatePolicy::enforce);

// Fleet row = legacy and no pilot rows, in one transaction. Throws SwitchRefused after
// finalize, or when the sync is off while some organization is routed to partitioned.
boost::asio::awaitable<AuditedPhase> rollback(db::Pool& pool, StatsLevel stats);

// ---- finalize --------------------------------------------------------------------------------

struct FinalizeOptions {
  bool confirm = false;  // finalize is irreversible: required
  // The verification gate must be open, with a clean full verification that finished at most
  // this long ago.
  std::chrono::seconds max_verify_age = std::chrono::hours(24);
  VerifyGatePolicy gate = VerifyGatePolicy::enforce;
  StatsLevel stats = StatsLevel::full;
  LockRetryOptions locks;
};

// In one transaction under lock_timeout with retries: drops the sync triggers on both
// sides, detaches folio_id_seq from any owner (OWNED BY NONE: dropping an archive can never
// take the sequence, and with it the partitioned tables' id default, along) and renames
// revenues, expenses and balances to <table>_archived_<YYYYMMDD> (UTC date of the server).
// Status "noop" when it already ran.
// Throws SwitchRefused unless: confirm; the partitioned tables exist; the fleet row is
// partitioned; no pilot row routes to legacy; the verification gate is open (verify_gate.hpp)
// with a clean full verification that finished within max_verify_age — or `gate` is
// skip. Throws db::LockNotAvailable when the tables stay locked.
boost::asio::awaitable<AuditedPhase> finalize(db::Pool& pool, FinalizeOptions options);

// ---- preflight -------------------------------------------------------------------------------

struct PreflightOptions {
  int hash_modulus = 16;  // used when the partitioned tables do not exist yet
  int future_months = 3;
  StatsLevel stats = StatsLevel::none;
};

enum class CheckLevel { ok, warn, fail };
std::string_view to_string(CheckLevel level);

struct PreflightCheck {
  std::string name;  // "server version", "free disk", ...
  CheckLevel level = CheckLevel::ok;
  std::string message;
};

// Server version and role, legacy tables and sequence, free disk against 1.5x the legacy
// tables with indexes (when the data directory is on this host), replica lag, long
// transactions, waiting locks, objects a previous run left (partitioned tables, triggers,
// archives, routing) and max_locks_per_transaction against months x modulus partitions.
// Problems are reported as checks, not thrown; throws db::Error when the server cannot be
// queried at all.
boost::asio::awaitable<std::vector<PreflightCheck>> preflight_checks(db::Pool& pool,
                                                                     PreflightOptions options);

// preflight_checks as an audited phase; details {"checks": [{name, level, message}],
// "failed": n, "warnings": n}. When a check failed, the audit row is completed as 'failed'
// (details kept) and SwitchRefused is thrown with the same details.
boost::asio::awaitable<AuditedPhase> preflight(db::Pool& pool, PreflightOptions options);

// One line per check: "ok    name  message", "WARN  ...", "FAIL  ...".
std::string format_checks(std::span<const PreflightCheck> checks);
// The same from a details["checks"] array.
std::string format_checks(const boost::json::array& checks);

// ---- status ----------------------------------------------------------------------------------

// For a terminal: routing (fleet, pilots), sync state, backfill progress, the verification
// gate (format_gate), partition months per table, months ready ahead and DEFAULT rows, the
// scheduled jobs' leases and the last 10 audit rows. Reads only.
boost::asio::awaitable<std::string> status_report(db::Pool& pool);

}  // namespace folio::cutover
