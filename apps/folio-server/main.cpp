// folio-server: the finance and reporting HTTP service (docs/api.md). Wiring only: options
// from flags and the environment, logging, then folio::api::Server.
//
// Exit codes: 0 after a graceful shutdown (SIGTERM/SIGINT), 1 on a runtime failure (the
// port cannot be bound, routing cannot start), 2 on bad options.
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "folio/api/server.hpp"
#include "folio/cutover/pilot_guard.hpp"
#include "folio/cutover/scheduled_jobs.hpp"
#include "folio/db/pool.hpp"
#include "folio/jobs/runner.hpp"
#include "folio/obs/log.hpp"
#include "folio/partitioning/partitioning_manager.hpp"

namespace {

// "host:port", "[v6]:port" or ":port" (all interfaces is never implied: host defaults to
// 127.0.0.1).
void parse_listen(const std::string& text, folio::api::ServerOptions& o) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw CLI::ValidationError("--listen", "expected HOST:PORT");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (!host.empty()) o.listen_host = host;
  const std::string port = text.substr(colon + 1);
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535) {
    throw CLI::ValidationError("--listen", "bad port '" + port + "'");
  }
  o.listen_port = static_cast<std::uint16_t>(value);
}

// Read replicas: where, how they are checked, how far behind they may be.
void add_replica_options(CLI::App& app, folio::api::ServerOptions& o, std::int64_t& interval_ms,
                         std::int64_t& lag_ms) {
  app.add_option("--replica-urls", o.replica_urls,
                 "Comma-separated PostgreSQL URLs of the read replicas (PgBouncer's replica "
                 "databases); empty: no replicas, reads use the primary")
      ->envname("REPLICA_URLS");
  app.add_option("--replica-health-urls", o.replica_health_urls,
                 "The same replicas, direct (not through PgBouncer), for health checks; "
                 "empty: check through --replica-urls")
      ->envname("REPLICA_HEALTH_URLS");
  app.add_option("--replica-policy", o.replica_policy, "round-robin or lowest-rtt")
      ->envname("FOLIO_REPLICA_POLICY")
      ->capture_default_str()
      ->check(CLI::IsMember({"round-robin", "lowest-rtt"}));
  app.add_option("--replica-pool-size", o.replica_pool_size,
                 "Connections per worker and replica at most; 0: --pool-size")
      ->envname("FOLIO_REPLICA_POOL_SIZE")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  app.add_option("--replica-check-interval-ms", interval_ms, "Replica health check period")
      ->envname("FOLIO_REPLICA_CHECK_INTERVAL_MS")
      ->capture_default_str()
      ->check(CLI::Range(50, 600000));
  app.add_option("--replica-max-lag-ms", lag_ms,
                 "A replica further behind (replay lag) leaves rotation; also the lifetime of "
                 "read-your-writes markers (plus two check periods)")
      ->envname("FOLIO_REPLICA_MAX_LAG_MS")
      ->capture_default_str()
      ->check(CLI::Range(100, 3600000));
  app.add_option("--replica-max-lag-bytes", o.replica_max_lag_bytes,
                 "A replica further behind the primary's WAL leaves rotation")
      ->envname("FOLIO_REPLICA_MAX_LAG_BYTES")
      ->capture_default_str();
}

// The Redis cache: where, how it is trusted, how long values live.
void add_cache_options(CLI::App& app, folio::api::ServerOptions& o, std::int64_t& timeout_ms,
                       std::int64_t& ttl_s) {
  app.add_option("--redis-url", o.redis_url,
                 "rediss://user:password@host:port/db of the cache; empty: no cache")
      ->envname("REDIS_URL");
  app.add_option("--redis-ca-file", o.redis_ca_file,
                 "PEM CA bundle the Redis certificate must verify against; empty: system CAs")
      ->envname("REDIS_CA_FILE");
  app.add_option("--redis-pool-size", o.redis_pool_size, "Redis connections per worker at most")
      ->envname("FOLIO_REDIS_POOL_SIZE")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--redis-command-timeout-ms", timeout_ms,
                 "Deadline of one Redis round trip; slower counts as a failure and the request "
                 "is served from the database")
      ->envname("FOLIO_REDIS_COMMAND_TIMEOUT_MS")
      ->capture_default_str()
      ->check(CLI::Range(1, 60000));
  app.add_option("--cache-ttl-s", ttl_s, "Lifetime of a cached report (plus or minus 10%)")
      ->envname("FOLIO_CACHE_TTL_S")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  app.add_flag("--cache-fail-open", o.cache_fail_open,
               "If Redis refuses TLS or AUTH at start, serve from the database without the "
               "cache instead of exiting")
      ->envname("FOLIO_CACHE_FAIL_OPEN");
}

// Scheduled jobs (docs/operations.md): which ones this instance takes part in, and how often
// they run fleet-wide. Whichever instance claims a job's lease runs it.
struct JobsConfig {
  std::vector<std::string> names;  // empty: no job runner
  std::string database_url;        // DDL rights: maintenance creates partitions
  std::int64_t lease_ttl_ms = 30000;
  std::int64_t maintenance_period_s = 3600;
  std::int64_t retention_period_s = 86400;
  std::int64_t timeout_s = 0;
  std::int64_t verify_recent_period_s = 900;
  std::int64_t verify_full_period_s = 86400;
  folio::cutover::ScheduledJobsOptions options;
  // The pilot guard job: on when a Prometheus URL is given.
  folio::cutover::PilotGuardOptions guard;
  std::int64_t guard_hold_s = 120;
  std::int64_t guard_interval_s = 30;
};

void add_guard_options(CLI::App& app, JobsConfig& j) {
  app.add_option("--pilot-guard-prometheus-url", j.guard.prometheus_url,
                 "http://host:port of Prometheus: run the pilot-guard job, which removes the "
                 "pilots when the pilot-regression query holds (docs/runbook.md); empty: off")
      ->envname("FOLIO_PILOT_GUARD_PROMETHEUS_URL");
  app.add_option("--pilot-guard-query", j.guard.query,
                 "PromQL that has a series while the pilots regress")
      ->envname("FOLIO_PILOT_GUARD_QUERY")
      ->capture_default_str();
  app.add_option("--pilot-guard-hold-s", j.guard_hold_s,
                 "Remove the pilots once the regression held this long")
      ->envname("FOLIO_PILOT_GUARD_HOLD_S")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400));
  app.add_option("--pilot-guard-interval-s", j.guard_interval_s, "Time between guard checks")
      ->envname("FOLIO_PILOT_GUARD_INTERVAL_S")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_flag("--pilot-guard-dry-run", j.guard.dry_run,
               "The guard only logs and counts the pilots it would remove")
      ->envname("FOLIO_PILOT_GUARD_DRY_RUN");
}

void add_job_options(CLI::App& app, JobsConfig& j) {
  std::string names = "partition-maintenance, partition-retention, verify-recent, verify-full";
  app.add_option("--jobs", j.names,
                 "Scheduled jobs this instance runs when it holds their lease: all, or some "
                 "of: " +
                     names + " (comma-separated); empty: none")
      ->envname("FOLIO_JOBS")
      ->delimiter(',');
  app.add_option("--jobs-database-url", j.database_url,
                 "PostgreSQL URL for the jobs (a role that may create partitions; PgBouncer "
                 "in transaction mode works); empty: --database-direct-url, else --database-url")
      ->envname("FOLIO_JOBS_DATABASE_URL");
  app.add_option("--job-lease-ttl-ms", j.lease_ttl_ms,
                 "A job's lease expires this long after its last renewal (renewed every "
                 "third of it); another instance takes over a dead holder's job after it")
      ->envname("FOLIO_JOB_LEASE_TTL_MS")
      ->capture_default_str()
      ->check(CLI::Range(300, 3600000));
  app.add_option("--maintenance-period-s", j.maintenance_period_s,
                 "partition-maintenance runs this often, fleet-wide")
      ->envname("FOLIO_MAINTENANCE_PERIOD_S")
      ->capture_default_str()
      ->check(CLI::Range(1, 604800));
  app.add_option("--future-months", j.options.future_months,
                 "Months after the current one that maintenance keeps partitioned")
      ->envname("FOLIO_FUTURE_MONTHS")
      ->capture_default_str()
      ->check(CLI::Range(0, 120));
  app.add_option("--retention-months", j.options.retention_months,
                 "partition-retention keeps the current month and this many before it; older "
                 "month partitions are detached into folio_archive (only after finalize); 0: off")
      ->envname("FOLIO_RETENTION_MONTHS")
      ->capture_default_str()
      ->check(CLI::Range(0, 1200));
  app.add_option("--retention-period-s", j.retention_period_s,
                 "partition-retention runs this often, fleet-wide")
      ->envname("FOLIO_RETENTION_PERIOD_S")
      ->capture_default_str()
      ->check(CLI::Range(1, 2678400));
  app.add_option("--job-jitter-fraction", j.options.jitter_fraction,
                 "Each run is due its period plus up to this fraction of it, at random")
      ->envname("FOLIO_JOB_JITTER_FRACTION")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--job-timeout-s", j.timeout_s,
                 "A run longer than this stops at its next step; 0: the job's period, at "
                 "least 10 min, at most 6 h")
      ->envname("FOLIO_JOB_TIMEOUT_S")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400));
  app.add_option("--verify-recent-period-s", j.verify_recent_period_s,
                 "verify-recent (the last --verify-recent-days days) runs this often")
      ->envname("FOLIO_VERIFY_RECENT_PERIOD_S")
      ->capture_default_str()
      ->check(CLI::Range(1, 604800));
  app.add_option("--verify-recent-days", j.options.recent_days, "Days verify-recent checks")
      ->envname("FOLIO_VERIFY_RECENT_DAYS")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));
  app.add_option("--verify-full-period-s", j.verify_full_period_s,
                 "verify-full (everything) runs this often")
      ->envname("FOLIO_VERIFY_FULL_PERIOD_S")
      ->capture_default_str()
      ->check(CLI::Range(1, 2678400));
}

// The job runner on a thread of its own, with its own pool: a long verification never takes
// a request's connection or its worker's time.
class JobsThread {
 public:
  explicit JobsThread(JobsConfig config) : config_(std::move(config)) {
    const bool scheduled = !config_.names.empty();
    if (config_.names.size() == 1 && config_.names.front() == "all") config_.names.clear();
    config_.options.maintenance_period = std::chrono::seconds(config_.maintenance_period_s);
    config_.options.retention_period = std::chrono::seconds(config_.retention_period_s);
    config_.options.timeout = std::chrono::seconds(config_.timeout_s);
    config_.options.verify_recent_period = std::chrono::seconds(config_.verify_recent_period_s);
    config_.options.verify_full_period = std::chrono::seconds(config_.verify_full_period_s);
    pool_.emplace(io_.get_executor(),
                  folio::db::PoolOptions{
                      .dsn = config_.database_url,
                      .name = "jobs",
                      .max_size = static_cast<std::size_t>(config_.options.verify_workers + 2)});
    folio::jobs::RunnerOptions options;
    options.instance = folio::jobs::make_instance_id();
    options.lease_ttl = std::chrono::milliseconds(config_.lease_ttl_ms);
    // Throws std::invalid_argument for an unknown job name, before anything starts.
    std::vector<folio::jobs::JobDefinition> definitions;
    if (scheduled)
      definitions = folio::cutover::scheduled_jobs(*pool_, config_.options, config_.names);
    if (!config_.guard.prometheus_url.empty()) {
      config_.guard.hold = std::chrono::seconds(config_.guard_hold_s);
      definitions.push_back(folio::cutover::pilot_guard_job(
          *pool_, config_.guard, std::chrono::seconds(config_.guard_interval_s)));
    }
    runner_.emplace(*pool_, options, std::move(definitions));
    thread_ = std::thread([this] {
      boost::asio::co_spawn(io_, runner_->run(), boost::asio::detached);
      boost::asio::co_spawn(io_, observe(), boost::asio::detached);
      io_.run();
    });
  }
  ~JobsThread() {
    stopping_ = true;
    boost::asio::post(io_, [this] { observe_timer_.cancel(); });
    runner_->stop();
    thread_.join();
  }
  JobsThread(const JobsThread&) = delete;
  JobsThread& operator=(const JobsThread&) = delete;

 private:
  // Every instance with jobs exports the fleet's partition and verification state, whoever
  // ran the jobs (cutover::observe_fleet_state).
  boost::asio::awaitable<void> observe() {
    static const folio::obs::Logger log("jobs.observe");
    folio::obs::LogLimiter limiter(std::chrono::minutes(1));
    while (!stopping_) {
      try {
        co_await folio::cutover::observe_fleet_state(*pool_);
      } catch (const std::exception& e) {
        log.log_limited(limiter, folio::obs::Level::kWarn, "fleet state not refreshed",
                        {{"error", e.what()}});
      }
      observe_timer_.expires_after(std::chrono::seconds(5));
      boost::system::error_code ec;
      co_await observe_timer_.async_wait(
          boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
  }

  JobsConfig config_;
  boost::asio::io_context io_;
  boost::asio::steady_timer observe_timer_{io_};
  std::atomic<bool> stopping_{false};
  std::optional<folio::db::Pool> pool_;
  std::optional<folio::jobs::Runner> runner_;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  folio::api::ServerOptions o;
  CLI::App app{"folio-server — the finance and reporting HTTP service of folio"};
  app.get_formatter()->column_width(44);

  std::string listen = "127.0.0.1:8080";
  std::string use_partitioned;
  std::string log_level;
  std::int64_t acquire_ms = o.acquire_timeout.count();
  std::int64_t statement_ms = o.statement_timeout.count();
  std::int64_t poll_ms = o.routing_poll_interval.count();
  std::int64_t token_ttl_ms = o.token_cache_ttl.count();
  std::int64_t grace_ms = o.shutdown_grace.count();
  std::int64_t idle_ms = o.idle_timeout.count();
  std::int64_t replica_interval_ms = o.replica_check_interval.count();
  std::int64_t replica_lag_ms = o.replica_max_lag.count();
  std::int64_t redis_timeout_ms = o.redis_command_timeout.count();
  std::int64_t cache_ttl_s = o.cache_ttl.count();

  app.add_option("--listen", listen, "Address and port to listen on, HOST:PORT (port 0: any free)")
      ->envname("FOLIO_LISTEN")
      ->capture_default_str();
  app.add_option("--database-url", o.database_url,
                 "PostgreSQL URL of the request pool (PgBouncer in production)")
      ->envname("DATABASE_URL")
      ->required();
  app.add_option("--database-direct-url", o.direct_database_url,
                 "Direct PostgreSQL URL (not PgBouncer) for routing LISTEN and readiness; "
                 "empty: poll routing and check readiness through --database-url")
      ->envname("DATABASE_DIRECT_URL");
  app.add_option("--use-partitioned-tables", use_partitioned,
                 "Routing default when partition_routing has no row: true/false (default false)")
      ->envname("USE_PARTITIONED_TABLES");
  app.add_option("--pool-size", o.pool_size, "Database connections per worker at most")
      ->envname("FOLIO_POOL_SIZE")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--pool-acquire-timeout-ms", acquire_ms,
                 "Wait for a free pooled connection at most this long, then 503")
      ->envname("FOLIO_POOL_ACQUIRE_TIMEOUT_MS")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  app.add_option("--statement-timeout-ms", statement_ms,
                 "statement_timeout of every repository transaction")
      ->envname("FOLIO_STATEMENT_TIMEOUT_MS")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  app.add_option("--max-body-bytes", o.max_body_bytes, "Largest request body accepted (else 413)")
      ->envname("FOLIO_MAX_BODY_BYTES")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1024}, std::size_t{64} * 1024 * 1024));
  app.add_option("--routing-poll-interval-ms", poll_ms,
                 "Routing reload period while LISTEN is down or not configured")
      ->envname("FOLIO_ROUTING_POLL_INTERVAL_MS")
      ->capture_default_str()
      ->check(CLI::Range(10, 3600000));
  app.add_option("--routing-log-sample-rate", o.routing_log_sample_rate,
                 "Fraction of routing decisions logged")
      ->envname("FOLIO_ROUTING_LOG_SAMPLE_RATE")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--access-log-sample-rate", o.access_log_sample_rate,
                 "Fraction of successful requests logged (errors: always, 4xx rate-limited)")
      ->envname("FOLIO_ACCESS_LOG_SAMPLE_RATE")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--token-cache-ttl-ms", token_ttl_ms,
                 "How long a token lookup's answer is cached, found or not: a revoked token "
                 "keeps working, and a token first presented before it was created keeps being "
                 "refused, for at most this long; 0: off (every request asks the database)")
      ->envname("FOLIO_TOKEN_CACHE_TTL_MS")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600000));
  app.add_option("--shutdown-grace-ms", grace_ms,
                 "On SIGTERM/SIGINT, wait this long for in-flight requests, then exit")
      ->envname("FOLIO_SHUTDOWN_GRACE_MS")
      ->capture_default_str()
      ->check(CLI::Range(100, 3600000));
  app.add_option("--idle-timeout-ms", idle_ms, "Close a keep-alive connection idle this long")
      ->envname("FOLIO_IDLE_TIMEOUT_MS")
      ->capture_default_str()
      ->check(CLI::Range(100, 3600000));
  app.add_option("--workers", o.workers,
                 "Threads, each with its own listener (SO_REUSEPORT), pool and repositories")
      ->envname("FOLIO_WORKERS")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  add_replica_options(app, o, replica_interval_ms, replica_lag_ms);
  add_cache_options(app, o, redis_timeout_ms, cache_ttl_s);
  JobsConfig jobs;
  add_job_options(app, jobs);
  add_guard_options(app, jobs);
  app.add_option("--log-level", log_level, "debug, info, warn or error (default info)")
      ->envname("FOLIO_LOG_LEVEL");

  try {
    app.parse(argc, argv);
    parse_listen(listen, o);
    o.env_default = folio::partitioning::env_default_from(use_partitioned.c_str());
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "folio-server: USE_PARTITIONED_TABLES: " << e.what() << "\n";
    return 2;
  }
  o.acquire_timeout = std::chrono::milliseconds(acquire_ms);
  o.statement_timeout = std::chrono::milliseconds(statement_ms);
  o.routing_poll_interval = std::chrono::milliseconds(poll_ms);
  o.token_cache_ttl = std::chrono::milliseconds(token_ttl_ms);
  o.shutdown_grace = std::chrono::milliseconds(grace_ms);
  o.idle_timeout = std::chrono::milliseconds(idle_ms);
  o.replica_check_interval = std::chrono::milliseconds(replica_interval_ms);
  o.replica_max_lag = std::chrono::milliseconds(replica_lag_ms);
  o.redis_command_timeout = std::chrono::milliseconds(redis_timeout_ms);
  o.cache_ttl = std::chrono::seconds(cache_ttl_s);
  if (!log_level.empty()) {
    const auto level = folio::obs::parse_level(log_level);
    if (!level) {
      std::cerr << "folio-server: unknown log level '" << log_level << "'\n";
      return 2;
    }
    folio::obs::set_log_level(*level);
  }

  const folio::obs::Logger log("folio-server");
  if (jobs.database_url.empty()) {
    jobs.database_url = o.direct_database_url.empty() ? o.database_url : o.direct_database_url;
  }
  try {
    std::optional<JobsThread> jobs_thread;
    if (!jobs.names.empty() || !jobs.guard.prometheus_url.empty()) {
      jobs_thread.emplace(std::move(jobs));
    }
    folio::api::Server server(std::move(o));
    return server.run();  // then the jobs stop at their next check, before the process ends
  } catch (const std::invalid_argument& e) {
    std::cerr << "folio-server: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    log.error("folio-server failed", {{"error", e.what()}});
    return 1;
  }
}
