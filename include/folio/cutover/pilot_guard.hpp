// The pilot guard: takes the pilots off the partitioned tables when Prometheus says they do
// worse than the fleet, the way a canary analysis rolls a canary back.
//
// While the fleet is on legacy and some organizations are pilots on the partitioned tables,
// each check() evaluates `query` (default folio:pilot_regression, a recording rule of
// deploy/prometheus that has a series only while the pilot cohort's error ratio or p99 is
// worse than the fleet's on legacy by the configured factor, with enough pilot traffic).
// A non-empty answer is a regression. Once every check for `hold` has seen one, the guard
// removes those pilots (cutover::pilot_remove: audited as phase 'pilot', the details holding
// the query, its samples and how long it held) — or, with dry_run, only reports what it would
// remove. A check that cannot ask Prometheus, or sees it healthy, starts the clock again: an
// outage of the monitoring never removes pilots.
//
//   PilotGuard guard({.prometheus_url = "http://prometheus:9090"});
//   for (;;) { const auto c = co_await guard.check(pool); ...; sleep(interval); }
//
// Metrics: folio_pilot_guard_checks_total{result=inactive|healthy|regressed|error} and
// folio_pilot_guard_actions_total{action=removed|dry_run}.
//
// Thread-safety: one PilotGuard per caller; check() runs on the pool's executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "folio/cutover/audit.hpp"
#include "folio/db/pool.hpp"
#include "folio/jobs/runner.hpp"

namespace folio::cutover {

struct PilotGuardOptions {
  std::string prometheus_url;  // http://host:port[/prefix]
  std::string query = "folio:pilot_regression";
  std::chrono::seconds hold{120};  // regressed this long, without a break, before acting
  std::chrono::milliseconds query_timeout{5000};
  bool dry_run = false;
};

enum class GuardState {
  inactive,   // no pilot on the partitioned tables while the fleet is on legacy
  healthy,    // pilots active, the query is empty
  regressed,  // pilots active, the query has samples; not held long enough yet (or dry run)
  removed,    // the pilots were removed
  error,      // Prometheus could not be asked, or the removal was refused
};
std::string_view to_string(GuardState state);

struct GuardCheck {
  GuardState state = GuardState::inactive;
  std::vector<std::int64_t> pilots;  // the pilots on the partitioned tables
  boost::json::array evidence;       // the query's samples: [{labels..., value}]
  double regressed_for_s = 0;        // how long the regression has held
  bool would_remove = false;         // dry run: held long enough, nothing done
  std::optional<AuditedPhase> removal;
  std::string error;
};

class PilotGuard {
 public:
  // Throws std::invalid_argument for an empty URL or query, or a hold below zero.
  explicit PilotGuard(PilotGuardOptions options);

  boost::asio::awaitable<GuardCheck> check(db::Pool& pool);

  const PilotGuardOptions& options() const noexcept { return options_; }

 private:
  PilotGuardOptions options_;
  std::optional<std::chrono::steady_clock::time_point> regressed_since_;
  bool reported_ = false;  // dry run: the would-remove of this regression was counted
};

// The guard as the fleet job "pilot-guard" (folio-server --pilot-guard-prometheus-url): one
// check per period by whichever instance holds the lease. Outcome noop while no pilot is
// active, ok for a check that found them healthy, regressed (details: state, evidence) or
// removed them (details: audit_id), failed when Prometheus could not be asked or the removal
// was refused. The regression's clock lives in the holder: it starts again if the lease moves.
jobs::JobDefinition pilot_guard_job(db::Pool& pool, PilotGuardOptions options,
                                    std::chrono::milliseconds period);

}  // namespace folio::cutover
