#include "folio/jobs/runner.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <optional>
#include <random>

#include "folio/obs/log.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::jobs {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

struct JobContext::State {
  Lease lease;
  steady_clock::time_point deadline;
  bool lost = false;
  bool done = false;
  const std::atomic<bool>* stopping = nullptr;
  std::optional<asio::steady_timer> renew_wait;  // the renewal's sleep; cancelled when done
};

const Lease& JobContext::lease() const { return state_->lease; }

asio::awaitable<void> JobContext::fence(db::Transaction& tx) const {
  check();
  co_await jobs::fence(tx, state_->lease);
}

std::function<asio::awaitable<void>(db::Transaction&)> JobContext::fence_fn() const {
  return [state = state_](db::Transaction& tx) -> asio::awaitable<void> {
    co_await JobContext(state).fence(tx);
  };
}

void JobContext::check() const {
  if (state_->lost) {
    throw LeaseLost(fmt::format("job {} lost its lease (term {}): a renewal failed",
                                state_->lease.job, state_->lease.term));
  }
  if (state_->stopping != nullptr && state_->stopping->load()) {
    throw JobStopped(
        fmt::format("job {} stopped: the instance is shutting down", state_->lease.job));
  }
  if (steady_clock::now() > state_->deadline) {
    throw JobTimedOut(fmt::format("job {} ran past its timeout", state_->lease.job));
  }
}

namespace {

// One set of series per job, registered the first time the job runs in this process.
struct JobMetrics {
  obs::Counter& runs(const std::string& job, const std::string& outcome) {
    return obs::Registry::global().counter("folio_job_runs_total",
                                           "Scheduled job runs by how they ended.",
                                           {{"job", job}, {"outcome", outcome}});
  }
  obs::Histogram& duration(const std::string& job) {
    return obs::Registry::global().histogram(
        "folio_job_duration_seconds", "Duration of scheduled job runs.",
        {0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600}, {{"job", job}});
  }
  obs::Gauge& last_success(const std::string& job) {
    return obs::Registry::global().gauge(
        "folio_job_last_success_timestamp_seconds",
        "Unix time of the last successful run of a job by this instance.", {{"job", job}});
  }
  obs::Gauge& term(const std::string& job) {
    return obs::Registry::global().gauge("folio_job_lease_term",
                                         "Lease term of the last run of a job by this instance.",
                                         {{"job", job}});
  }
  obs::Gauge& running(const std::string& job) {
    return obs::Registry::global().gauge("folio_job_running",
                                         "1 while this instance holds the job's lease and runs it.",
                                         {{"job", job}});
  }
};

const obs::Logger& log() {
  static const obs::Logger logger("jobs");
  return logger;
}

milliseconds with_jitter(const JobDefinition& job) {
  if (job.jitter.count() <= 0) return job.period;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> extra(0, job.jitter.count());
  return job.period + milliseconds(extra(rng));
}

// Renews every ttl/3 until the run is done; marks the state lost when a renewal fails.
asio::awaitable<void> keep_renewed(db::Pool& pool, std::shared_ptr<JobContext::State> state,
                                   milliseconds ttl) {
  const milliseconds every = std::max(ttl / 3, milliseconds(10));
  while (!state->done && !state->lost) {
    state->renew_wait->expires_after(every);
    boost::system::error_code ec;
    co_await state->renew_wait->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (state->done) break;
    try {
      if (!co_await renew(pool, state->lease, ttl)) state->lost = true;
    } catch (const std::exception& e) {
      // Unknown: the lease may still be ours; the fence decides at the next write, and an
      // expiry without renewal makes it lost for everyone.
      log().warn("job lease renewal failed", {{"job", state->lease.job}, {"error", e.what()}});
    }
  }
}

asio::awaitable<void> finish_run_row(db::Pool& pool, std::int64_t run_id, const RunRecord& r) {
  co_await pool.query(
      "UPDATE folio_job_runs SET finished_at = clock_timestamp(), outcome = $2, "
      "details = $3::jsonb, error = nullif($4, '') WHERE id = $1",
      run_id, r.outcome, boost::json::serialize(r.details), r.error);
}

}  // namespace

std::string make_instance_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device rd;
  return fmt::format("{}:{}:{:04x}", host, static_cast<long>(getpid()), rd() & 0xffff);
}

asio::awaitable<RunRecord> run_once(db::Pool& pool, const JobDefinition& job,
                                    const RunnerOptions& options, bool force,
                                    const std::atomic<bool>* stopping) {
  RunRecord record;
  record.job = job.name;
  const auto lease = co_await try_claim(pool, job.name, options.instance, options.lease_ttl, force);
  if (!lease) co_return record;
  JobMetrics metrics;
  record.ran = true;
  record.term = lease->term;
  metrics.term(job.name).set(static_cast<double>(lease->term));
  metrics.running(job.name).set(1);
  const auto started = steady_clock::now();
  auto state = std::make_shared<JobContext::State>();
  state->lease = *lease;
  state->deadline = started + job.timeout;
  state->stopping = stopping;
  const std::int64_t run_id = lease->run_id;
  const auto log_run = log().with({{"job", job.name}, {"term", lease->term}});
  {
    log_run.info("job run started", {{"instance", options.instance}});
    // The renewal runs beside the body and is awaited before this frame (and the pool's
    // user) goes away.
    const auto executor = co_await asio::this_coro::executor;
    state->renew_wait.emplace(executor);
    bool renewal_finished = false;
    asio::steady_timer renewal_done(executor, steady_clock::time_point::max());
    asio::co_spawn(executor, keep_renewed(pool, state, options.lease_ttl),
                   [&renewal_finished, &renewal_done](std::exception_ptr) {
                     renewal_finished = true;
                     renewal_done.cancel();
                   });
    try {
      JobContext context(state);
      JobResult result = co_await job.body(context);
      if (state->lost) {  // a run that lost its lease meanwhile did not finish as the holder
        throw LeaseLost(
            fmt::format("job {} lost its lease (term {}) while it ran", job.name, lease->term));
      }
      record.outcome = result.outcome;
      record.details = std::move(result.details);
    } catch (const LeaseLost& e) {
      record.outcome = "lost";
      record.error = e.what();
    } catch (const JobTimedOut& e) {
      record.outcome = "timeout";
      record.error = e.what();
    } catch (const JobStopped& e) {
      record.outcome = "stopped";
      record.error = e.what();
    } catch (const std::exception& e) {
      record.outcome = "failed";
      record.error = e.what();
    }
    state->done = true;
    state->renew_wait->cancel();
    if (!renewal_finished) {
      boost::system::error_code ec;
      co_await renewal_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  record.seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
  try {
    co_await finish_run_row(pool, run_id, record);
    // A stopped run is due again at once, for another instance to take over.
    const milliseconds next = record.outcome == "stopped" ? milliseconds(0) : with_jitter(job);
    if (!co_await release(pool, *lease, record.outcome, next) && record.outcome != "lost") {
      record.outcome = "lost";
      record.error = "the lease expired before the run ended";
      co_await finish_run_row(pool, run_id, record);
    }
  } catch (const std::exception& e) {
    // The lease expires by itself; the job is then due again.
    log_run.warn("could not record the end of a job run", {{"error", e.what()}});
  }
  metrics.running(job.name).set(0);
  metrics.runs(job.name, record.outcome).inc();
  metrics.duration(job.name).observe(record.seconds);
  if (record.outcome == "ok" || record.outcome == "noop") {
    metrics.last_success(job.name).set(
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  }
  boost::json::object fields{{"outcome", record.outcome},
                             {"milliseconds", static_cast<std::int64_t>(record.seconds * 1000)}};
  if (!record.error.empty()) fields["error"] = record.error;
  const bool bad = record.outcome != "ok" && record.outcome != "noop";
  log_run.log(bad ? obs::Level::kWarn : obs::Level::kInfo, "job run finished", std::move(fields));
  co_return record;
}

Runner::Runner(db::Pool& pool, RunnerOptions options, std::vector<JobDefinition> jobs)
    : pool_(pool),
      options_(std::move(options)),
      jobs_(std::move(jobs)),
      wake_(std::make_shared<asio::steady_timer>(pool.executor())) {
  // Known from the start: alert rules compare the last success with the period, and a
  // failure is an increase from 0 that rate() sees.
  JobMetrics metrics;
  for (const auto& job : jobs_) {
    obs::Registry::global()
        .gauge("folio_job_period_seconds", "The period this instance schedules a job with.",
               {{"job", job.name}})
        .set(std::chrono::duration<double>(job.period).count());
    for (const char* outcome : {"ok", "noop", "failed", "timeout", "lost"}) {
      metrics.runs(job.name, outcome);
    }
  }
}

Runner::~Runner() = default;

asio::awaitable<void> Runner::run() {
  bool registered = false;
  while (!stopping_) {
    try {
      if (!registered) {
        for (const auto& job : jobs_) co_await register_job(pool_, job.name);
        registered = true;
      }
      for (const auto& job : jobs_) {
        if (stopping_) break;
        co_await run_once(pool_, job, options_, false, &stopping_);
      }
    } catch (const std::exception& e) {
      log().warn("job runner tick failed; retrying", {{"error", e.what()}});
    }
    if (stopping_) break;
    wake_->expires_after(options_.tick);
    boost::system::error_code ec;
    co_await wake_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void Runner::stop() {
  stopping_ = true;
  asio::post(wake_->get_executor(), [wake = wake_] { wake->cancel(); });
}

boost::json::object to_json(const RunRecord& r) {
  boost::json::object o;
  o["job"] = r.job;
  o["ran"] = r.ran;
  if (r.ran) {
    o["term"] = r.term;
    o["outcome"] = r.outcome;
    o["milliseconds"] = static_cast<std::int64_t>(r.seconds * 1000);
    o["details"] = r.details;
    if (!r.error.empty()) o["error"] = r.error;
  }
  return o;
}

}  // namespace folio::jobs
