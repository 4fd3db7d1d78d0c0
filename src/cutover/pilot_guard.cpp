#include "folio/cutover/pilot_guard.hpp"

#include <algorithm>
#include <boost/json/value_from.hpp>
#include <memory>
#include <stdexcept>

#include "detail/prometheus_query.hpp"
#include "folio/cutover/switchover.hpp"
#include "folio/obs/log.hpp"
#include "folio/obs/metrics.hpp"
#include "folio/partitioning/routing_store.hpp"

namespace folio::cutover {

namespace asio = boost::asio;
namespace json = boost::json;
using partitioning::Target;

namespace {

struct GuardMetrics {
  GuardMetrics() {
    auto& r = obs::Registry::global();
    constexpr std::string_view kChecks =
        "Pilot guard checks by what they found: inactive (no pilot on the partitioned tables "
        "while the fleet is on legacy), healthy, regressed, error.";
    for (const GuardState s :
         {GuardState::inactive, GuardState::healthy, GuardState::regressed, GuardState::error}) {
      checks[static_cast<int>(s)] = &r.counter("folio_pilot_guard_checks_total", kChecks,
                                               {{"result", std::string(to_string(s))}});
    }
    constexpr std::string_view kActions =
        "Pilot guard actions: pilots removed after a held regression, or (dry run) reported.";
    removed = &r.counter("folio_pilot_guard_actions_total", kActions, {{"action", "removed"}});
    dry_run = &r.counter("folio_pilot_guard_actions_total", kActions, {{"action", "dry_run"}});
  }
  obs::Counter* checks[5] = {};
  obs::Counter* removed;
  obs::Counter* dry_run;
};

GuardMetrics& metrics() {
  static GuardMetrics m;
  return m;
}

const obs::Logger& log() {
  static const obs::Logger logger("cutover.guard");
  return logger;
}

// The pilots the guard watches: on the partitioned tables while the fleet is not.
std::vector<std::int64_t> canaries(const partitioning::RoutingSnapshot& routing) {
  std::vector<std::int64_t> out;
  if (routing.fleet == Target::partitioned) return out;
  for (const auto& [org, target] : routing.pilots) {
    if (target == Target::partitioned) out.push_back(org);
  }
  return out;
}

json::array evidence_of(const std::vector<detail::PromSample>& samples) {
  json::array out;
  for (const auto& s : samples) {
    json::object item = s.labels;
    item["value"] = s.value;
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace

std::string_view to_string(GuardState state) {
  switch (state) {
    case GuardState::inactive:
      return "inactive";
    case GuardState::healthy:
      return "healthy";
    case GuardState::regressed:
      return "regressed";
    case GuardState::removed:
      return "removed";
    case GuardState::error:
      return "error";
  }
  return "error";
}

PilotGuard::PilotGuard(PilotGuardOptions options) : options_(std::move(options)) {
  if (options_.prometheus_url.empty()) throw std::invalid_argument("the Prometheus URL is empty");
  if (options_.query.empty()) throw std::invalid_argument("the guard's query is empty");
  if (options_.hold.count() < 0) throw std::invalid_argument("the hold time is negative");
  metrics();  // every series from the start
}

asio::awaitable<GuardCheck> PilotGuard::check(db::Pool& pool) {
  GuardCheck c;
  const auto routing = co_await partitioning::RoutingStore::load(pool);
  c.pilots = canaries(routing);
  const auto count = [&](GuardState s) {
    c.state = s;
    if (s != GuardState::removed) metrics().checks[static_cast<int>(s)]->inc();
  };
  if (c.pilots.empty()) {
    regressed_since_.reset();
    reported_ = false;
    count(GuardState::inactive);
    co_return c;
  }
  std::vector<detail::PromSample> samples;
  try {
    samples = co_await detail::prometheus_query(pool.executor(), options_.prometheus_url,
                                                options_.query, options_.query_timeout);
  } catch (const detail::PrometheusError& e) {
    c.error = e.what();
  }
  if (!c.error.empty()) {
    // No evidence either way: the clock starts again once Prometheus answers.
    regressed_since_.reset();
    count(GuardState::error);
    co_return c;
  }
  if (samples.empty()) {
    regressed_since_.reset();
    reported_ = false;
    count(GuardState::healthy);
    co_return c;
  }
  c.evidence = evidence_of(samples);
  const auto now = std::chrono::steady_clock::now();
  if (!regressed_since_) regressed_since_ = now;
  c.regressed_for_s = std::chrono::duration<double>(now - *regressed_since_).count();
  count(GuardState::regressed);
  if (now - *regressed_since_ < options_.hold) co_return c;

  json::object reason{{"by", "pilot-guard"},
                      {"query", options_.query},
                      {"prometheus_url", options_.prometheus_url},
                      {"regressed_for_s", c.regressed_for_s},
                      {"evidence", c.evidence}};
  if (options_.dry_run) {
    c.would_remove = true;
    if (!reported_) {
      reported_ = true;
      metrics().dry_run->inc();
      log().warn("pilot regression held; dry run, pilots kept",
                 {{"pilots", json::value_from(c.pilots)}, {"reason", reason}});
    }
    co_return c;
  }
  try {
    c.removal = co_await pilot_remove(pool, c.pilots, StatsLevel::counts, reason);
  } catch (const SwitchRefused& e) {
    c.error = e.what();
  }
  if (!c.error.empty()) {
    log().error("pilot regression held but the pilots could not be removed",
                {{"pilots", json::value_from(c.pilots)}, {"error", c.error}});
    count(GuardState::error);
    co_return c;
  }
  regressed_since_.reset();
  metrics().removed->inc();
  log().warn("pilot regression held; pilots removed", {{"pilots", json::value_from(c.pilots)},
                                                       {"audit_id", c.removal->audit_id},
                                                       {"reason", reason}});
  c.state = GuardState::removed;
  co_return c;
}

jobs::JobDefinition pilot_guard_job(db::Pool& pool, PilotGuardOptions options,
                                    std::chrono::milliseconds period) {
  auto guard = std::make_shared<PilotGuard>(std::move(options));
  jobs::JobDefinition job;
  job.name = "pilot-guard";
  job.period = period;
  job.timeout = std::max<std::chrono::milliseconds>(period, std::chrono::minutes(1));
  job.body = [&pool, guard](jobs::JobContext& context) -> asio::awaitable<jobs::JobResult> {
    context.check();
    const GuardCheck c = co_await guard->check(pool);
    jobs::JobResult result;
    result.details = {{"state", to_string(c.state)},
                      {"pilots", json::value_from(c.pilots)},
                      {"regressed_for_s", c.regressed_for_s},
                      {"evidence", c.evidence}};
    if (c.removal) result.details["audit_id"] = c.removal->audit_id;
    if (!c.error.empty()) result.details["error"] = c.error;
    result.outcome = c.state == GuardState::inactive ? "noop"
                     : c.state == GuardState::error  ? "failed"
                                                     : "ok";
    co_return result;
  };
  return job;
}

}  // namespace folio::cutover
