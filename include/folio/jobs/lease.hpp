// A fenced lease per scheduled job (sql/migrations/0006_scheduled_operations.sql): the one
// way folio makes sure a job runs on exactly one instance at a time, through PgBouncer in
// transaction mode. Every call is one short transaction; nothing is held between calls.
//
//   claim   a new term (term + 1) and an expiry, if the job is due (or `force`) and nobody
//           holds an unexpired lease
//   renew   pushes the expiry out, only while the term is still ours and unexpired
//   fence   in the caller's transaction, before its writes: throws LeaseLost unless the term
//           is still ours and unexpired, and holds a share lock on the lease row so a claim
//           by another instance waits for that transaction to end
//   release ends the run: records its outcome and when the job is due next
//
// Thread-safety: stateless functions; the pool must be used from its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "folio/db/errors.hpp"
#include "folio/db/pool.hpp"
#include "folio/db/transaction.hpp"

namespace folio::jobs {

// SQLSTATE of folio_job_fence's refusal.
inline constexpr std::string_view kLeaseLostState = "FJ001";

// A run's write was refused because its lease is gone (expired, or claimed under a newer
// term by another instance).
class LeaseLost : public db::Error {
 public:
  explicit LeaseLost(const std::string& message)
      : db::Error(std::string(kLeaseLostState), message) {}
};

struct Lease {
  std::string job;
  std::int64_t term = 0;
  std::string instance;
  std::int64_t run_id = 0;  // the folio_job_runs row the claim opened
};

// Creates the job's lease row if it does not exist (due at once).
boost::asio::awaitable<void> register_job(db::Pool& pool, std::string job);

// A new term for `instance` when the job is due (next_run_at has passed, or `force`) and no
// unexpired lease is held; nullopt otherwise. In the same statement it opens the run's
// folio_job_runs row (started_at = the claim's time) and closes the rows of earlier terms
// still 'running' (their holder died) as 'lost'.
boost::asio::awaitable<std::optional<Lease>> try_claim(db::Pool& pool, std::string job,
                                                       std::string instance,
                                                       std::chrono::milliseconds ttl, bool force);

// Extends the lease to now + ttl. False when it is lost (another term, or already expired).
boost::asio::awaitable<bool> renew(db::Pool& pool, Lease lease, std::chrono::milliseconds ttl);

// Throws LeaseLost unless `lease` is still held and unexpired. Call first in every
// transaction that writes on the job's behalf.
boost::asio::awaitable<void> fence(db::Transaction& tx, const Lease& lease);

// Gives the lease back (when still ours): last_outcome, last_finished_at, last_success_at
// (outcome ok or noop) and next_run_at = the run's start + `next_after`. False when the lease
// was lost meanwhile (nothing is changed then).
boost::asio::awaitable<bool> release(db::Pool& pool, Lease lease, std::string outcome,
                                     std::chrono::milliseconds next_after);

// One job's lease row, for status displays.
struct LeaseState {
  std::string job;
  std::int64_t term = 0;
  std::optional<std::string> holder;
  std::optional<double> expires_in_s;   // negative: expired
  std::optional<double> next_run_in_s;  // negative: due
  std::optional<std::string> last_outcome;
  std::optional<double> last_success_age_s;
};
boost::asio::awaitable<std::vector<LeaseState>> lease_states(db::Pool& pool);

}  // namespace folio::jobs
