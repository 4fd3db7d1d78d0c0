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
          "organization's latest write")) {
  const std::size_t configured = manager_ != nullptr ? manager_->size() : 0;
  if (replicas_.size() != configured) {
    throw std::invalid_argument("ReadRouter: one pool per configured replica is required");
  }
}

std::optional<std::size_t> ReadRouter::choose(const ReadPolicy& policy) {
  if (manager_ == nullptr || policy.primary_only) return std::nullopt;
  const ReplicaChoice choice = manager_->choose(policy.min_lsn);
  if (choice.reason == ReplicaChoiceReason::not_caught_up) redirects_.inc();
  return choice.replica;
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
