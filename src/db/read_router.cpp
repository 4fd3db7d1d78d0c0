#include "folio/db/read_router.hpp"

#include <stdexcept>

#include "folio/obs/log.hpp"

namespace folio::db {
namespace {

obs::Counter& reads(const char* target) {
  return obs::Registry::global().counter(
      "folio_db_reads_total",
      "Repository reads by where they ran (primary-fallback: a replica "
      "read failed and was retried on the primary)",
      {{"target", target}});
}

obs::Counter& guarded(const char* result) {
  return obs::Registry::global().counter(
      "folio_db_guarded_reads_total",
      "Replica reads sent before the replica was known to have replayed the organization's "
      "latest write, by what the read's own check on the replica found (rejected: rerun on "
      "the primary)",
      {{"result", result}});
}

const obs::Logger& log() {
  static const obs::Logger logger("db.reads");
  return logger;
}

}  // namespace

ReadRouter::ReadRouter(Pool& primary, std::vector<std::unique_ptr<Pool>> replicas,
                       ReplicaManager* manager, std::chrono::milliseconds replica_deadline)
    : primary_(primary),
      replicas_(std::move(replicas)),
      manager_(manager),
      replica_deadline_(replica_deadline),
      primary_reads_(reads("primary")),
      replica_reads_(reads("replica")),
      fallback_reads_(reads("primary-fallback")),
      redirects_(obs::Registry::global().counter(
          "folio_db_read_your_writes_redirects_total",
          "Reads sent to the primary because no replica in rotation had replayed the "
          "organization's latest write")),
      guard_confirmed_(guarded("confirmed")),
      guard_rejected_(guarded("rejected")) {
  const std::size_t configured = manager_ != nullptr ? manager_->size() : 0;
  if (replicas_.size() != configured) {
    throw std::invalid_argument("ReadRouter: one pool per configured replica is required");
  }
}

ReadRouter::Route ReadRouter::choose(const ReadPolicy& policy) {
  Route route;
  if (manager_ == nullptr || policy.primary_only) return route;
  const ReplicaChoice choice = manager_->choose(policy.min_lsn, Unconfirmed::allow);
  if (choice.reason == ReplicaChoiceReason::not_caught_up) redirects_.inc();
  route.replica = choice.replica;
  route.generation = choice.generation;
  if (choice.reason == ReplicaChoiceReason::unconfirmed && policy.min_lsn) {
    route.guard = ReadGuard(*policy.min_lsn);
  }
  return route;
}

void ReadRouter::served_by_replica(const Route& route, const ReadGuard& guard) {
  replica_reads_.inc();
  if (!guard.required()) return;
  guard_confirmed_.inc();
  observe(route, guard);
}

void ReadRouter::rejected_by_replica(const Route& route, const ReadGuard& guard) {
  redirects_.inc();
  guard_rejected_.inc();
  observe(route, guard);
}

void ReadRouter::observe(const Route& route, const ReadGuard& guard) {
  const auto& answer = guard.answer();
  if (!answer || !answer->in_recovery || !answer->replay_lsn) return;
  manager_->observe_replay(*route.replica, route.generation, *answer->replay_lsn,
                           answer->replay_paused);
}

void ReadRouter::replica_failed(std::size_t replica, std::exception_ptr failure) {
  static obs::LogLimiter limiter(std::chrono::seconds(5));
  std::string what;
  bool connection_level = false;
  try {
    std::rethrow_exception(failure);
  } catch (const ConnectionError& e) {
    what = e.what();
    connection_level = true;
  } catch (const PoolTimeout& e) {
    what = e.what();
    connection_level = true;
  } catch (const Error& e) {
    what = e.what();
  }
  const auto& name = manager_->replicas()[replica].name;
  log().log_limited(limiter, obs::Level::kWarn, "replica read failed; retrying on the primary",
                    {{"replica", name}, {"error", what}});
  if (connection_level) manager_->report_failure(replica, what);
}

}  // namespace folio::db
