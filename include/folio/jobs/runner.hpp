// Scheduled jobs that run once per fleet (SPEC §6, docs/operations.md). Every folio-server
// with jobs enabled runs a Runner; `folioctl jobs run NAME` runs one job once, for cron or
// a Kubernetes CronJob. Whoever claims a job's lease (lease.hpp) runs it; the others skip
// that period.
//
// A run:
//   1. claims the lease (a new term) when the job is due, or at once when forced;
//   2. records itself in folio_job_runs (job, term, instance, start) and renews the lease
//      every ttl/3 while the body runs;
//   3. runs the body with a JobContext whose fence() every data-changing transaction calls
//      first: after the lease is lost (a renewal failed, or the holder was paused past its
//      expiry) those writes are refused by the database, not applied;
//   4. completes the run row (outcome ok | noop | failed | lost | timeout, details, error)
//      and gives the lease back, due again one period (plus jitter) after the start.
// A holder that dies leaves its lease to expire; the job is still due, so another instance
// claims it within the lease TTL and runs it again from the start (jobs are idempotent).
//
// Metrics (no org labels): folio_job_runs_total{job,outcome},
// folio_job_duration_seconds{job}, folio_job_last_success_timestamp_seconds{job},
// folio_job_lease_term{job} (the last term this instance ran), folio_job_running{job}.
//
// Thread-safety: a Runner lives on one executor (its pool's); stop() may be called from any
// thread.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "folio/db/pool.hpp"
#include "folio/db/transaction.hpp"
#include "folio/jobs/lease.hpp"

namespace folio::jobs {

// The run went past its timeout; thrown by JobContext::check().
class JobTimedOut : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The process is shutting down (Runner::stop); thrown by JobContext::check().
class JobStopped : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a running body sees: its lease, and the checks it must make.
class JobContext {
 public:
  struct State;
  explicit JobContext(std::shared_ptr<State> state) : state_(std::move(state)) {}

  const Lease& lease() const;
  // Call first in every transaction that writes on the job's behalf (jobs::fence).
  boost::asio::awaitable<void> fence(db::Transaction& tx) const;
  // The same as a callable, for code below this layer (cutover::LockRetryOptions::fence).
  std::function<boost::asio::awaitable<void>(db::Transaction&)> fence_fn() const;
  // Throws LeaseLost when a renewal failed, JobTimedOut past the timeout, JobStopped once the
  // runner is stopping. Call between steps: a step in progress finishes first.
  void check() const;

 private:
  std::shared_ptr<State> state_;
};

struct JobResult {
  std::string outcome = "ok";  // ok, noop or failed (ran to the end with a bad result)
  boost::json::object details;
};

struct JobDefinition {
  std::string name;  // lease row name: "partition-maintenance"
  std::chrono::milliseconds period{std::chrono::hours(1)};
  std::chrono::milliseconds jitter{0};  // up to this much is added to each period, at random
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  std::function<boost::asio::awaitable<JobResult>(JobContext&)> body;
};

struct RunnerOptions {
  std::string instance;  // unique per process: host:pid:random
  std::chrono::milliseconds lease_ttl{std::chrono::seconds(30)};
  std::chrono::milliseconds tick{std::chrono::seconds(1)};  // how often due jobs are looked for
};

// A finished (or skipped) run.
struct RunRecord {
  bool ran = false;  // false: the job was not due or another instance holds it
  std::string job;
  std::int64_t term = 0;
  std::string outcome;  // ok, noop, failed, lost, timeout, stopped
  double seconds = 0;
  boost::json::object details;
  std::string error;
};

// "host:pid:4-hex-digits": an instance id unique enough for lease holders and run rows.
std::string make_instance_id();

// Claims and runs `job` once if it is due (or at once when `force`) and free. Never throws
// for what the body throws: that becomes the record's outcome and error. `stopping`, when
// given, is polled by JobContext::check().
boost::asio::awaitable<RunRecord> run_once(db::Pool& pool, const JobDefinition& job,
                                           const RunnerOptions& options, bool force,
                                           const std::atomic<bool>* stopping = nullptr);

class Runner {
 public:
  Runner(db::Pool& pool, RunnerOptions options, std::vector<JobDefinition> jobs);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Runs until stop(): registers the jobs, then every tick runs the ones that are due, one
  // at a time. A run in progress stops at its next check() (outcome "stopped"; its lease is
  // given back, so another instance runs the job) before run() returns.
  boost::asio::awaitable<void> run();
  void stop();

 private:
  db::Pool& pool_;
  RunnerOptions options_;
  std::vector<JobDefinition> jobs_;
  std::atomic<bool> stopping_{false};
  std::shared_ptr<boost::asio::steady_timer> wake_;  // cancelled by stop()
};

// {job, ran, term, outcome, milliseconds, details, error}.
boost::json::object to_json(const RunRecord& record);

}  // namespace folio::jobs
