#include "folio/cutover/scheduled_jobs.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "folio/cutover/maintenance.hpp"
#include "folio/cutover/retention.hpp"
#include "folio/cutover/switchover.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/cutover/tables.hpp"
#include "folio/cutover/verify.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::cutover {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view kMaintenance = "partition-maintenance";
constexpr std::string_view kRetention = "partition-retention";
constexpr std::string_view kVerifyRecent = "verify-recent";
constexpr std::string_view kVerifyFull = "verify-full";

milliseconds fraction_of(milliseconds period, double fraction) {
  return milliseconds(static_cast<std::int64_t>(static_cast<double>(period.count()) * fraction));
}

jobs::JobDefinition define(std::string_view name, milliseconds period,
                           const ScheduledJobsOptions& options) {
  jobs::JobDefinition job;
  job.name = std::string(name);
  job.period = period;
  job.jitter = fraction_of(period, options.jitter_fraction);
  job.timeout =
      options.timeout.count() > 0
          ? options.timeout
          : std::clamp<milliseconds>(period, std::chrono::minutes(10), std::chrono::hours(6));
  return job;
}

// Why the sides cannot be compared now, or "" when they can.
asio::awaitable<std::string> not_comparable(db::Pool& pool) {
  const auto states = co_await sync_state(pool);
  for (const auto& s : states) {
    if (!s.on()) co_return fmt::format("the sync is off for {}", s.table);
  }
  co_return std::string();
}

asio::awaitable<jobs::JobResult> run_retention(db::Pool& pool, jobs::JobContext& context,
                                               const ScheduledJobsOptions& options) {
  jobs::JobResult result;
  if (options.retention_months <= 0) {
    result.outcome = "noop";
    result.details["skipped"] = "retention is off (--retention-months 0)";
    co_return result;
  }
  RetentionOptions retention;
  retention.keep_months = options.retention_months;
  retention.locks = options.locks;
  retention.locks.fence = context.fence_fn();
  std::string refused;
  try {
    const auto report = co_await archive_old_months(pool, retention);
    result.outcome = report.changed() ? "ok" : "noop";
    result.details = to_json(report);
    co_return result;
  } catch (const SwitchRefused& e) {
    // Configured ahead of finalize: the job waits for it, as the verification jobs wait for
    // the sync, instead of failing every period.
    refused = e.what();
  }
  result.outcome = "noop";
  result.details["skipped"] = refused;
  co_return result;
}

asio::awaitable<jobs::JobResult> run_verify(db::Pool& pool, jobs::JobContext& context,
                                            const ScheduledJobsOptions& options, bool recent) {
  jobs::JobResult result;
  if (auto why = co_await not_comparable(pool); !why.empty()) {
    result.outcome = "noop";
    result.details["skipped"] = why;
    co_return result;
  }
  context.check();
  VerifyOptions verify;
  verify.workers = options.verify_workers;
  if (recent) {
    const auto today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
    verify.since = today - std::chrono::days(options.recent_days);
  }
  const VerifyPhase phase = co_await verify_phase(pool, verify, StatsLevel::none);
  result.outcome = phase.report.clean ? "ok" : "failed";
  result.details = audit_details(phase.report);
  result.details["audit_id"] = phase.audit.audit_id;
  co_return result;
}

// Per job, from its lease row: the last success fleet-wide and whether the latest finished
// run failed.
asio::awaitable<void> observe_jobs(db::Pool& pool) {
  auto& registry = obs::Registry::global();
  const auto rows = co_await pool.query(
      "SELECT name, coalesce(extract(epoch FROM last_success_at), 0)::float8, "
      "       coalesce(last_outcome IN ('failed', 'timeout', 'lost'), false) "
      "  FROM folio_jobs");
  for (const auto& row : rows) {
    const obs::Labels labels{{"job", row.get<std::string>(0)}};
    registry
        .gauge("folio_job_fleet_last_success_timestamp_seconds",
               "Unix time of a job's last successful (ok or noop) run by any instance; 0: never.",
               labels)
        .set(row.get<double>(1));
    registry
        .gauge("folio_job_fleet_last_run_failed",
               "1 when a job's latest finished run, by any instance, failed, timed out or lost "
               "its lease; else 0.",
               labels)
        .set(row.get<bool>(2) ? 1.0 : 0.0);
  }
}

// Per table, from the backfill checkpoints: ranges left, when one last advanced, rows copied.
asio::awaitable<void> observe_backfill(db::Pool& pool) {
  auto& registry = obs::Registry::global();
  struct Series {
    obs::Gauge* pending;
    obs::Gauge* progressed_at;
    obs::Gauge* copied;
  };
  std::map<std::string, Series, std::less<>> series;
  for (const auto& spec : all_tables()) {
    const obs::Labels labels{{"table", std::string(spec.name)}};
    series[std::string(spec.name)] = {
        &registry.gauge("folio_backfill_pending_ranges",
                        "Backfill id ranges not finished yet (0 when done or not started).",
                        labels),
        &registry.gauge("folio_backfill_last_progress_timestamp_seconds",
                        "Unix time a backfill range of the table last advanced; 0: never.", labels),
        &registry.gauge("folio_backfill_copied_rows", "Rows the backfill copied so far.", labels)};
  }
  const auto rows = co_await pool.query(
      "SELECT table_name, count(*) FILTER (WHERE next_start <= range_end), "
      "       coalesce(extract(epoch FROM max(updated_at)), 0)::float8, "
      "       coalesce(sum(rows_copied), 0)::bigint "
      "  FROM backfill_progress GROUP BY table_name");
  for (auto& [table, s] : series) {
    s.pending->set(0);
    s.progressed_at->set(0);
    s.copied->set(0);
  }
  for (const auto& row : rows) {
    const auto it = series.find(row.get<std::string>(0));
    if (it == series.end()) continue;
    it->second.pending->set(static_cast<double>(row.get<std::int64_t>(1)));
    it->second.progressed_at->set(row.get<double>(2));
    it->second.copied->set(static_cast<double>(row.get<std::int64_t>(3)));
  }
}

}  // namespace

asio::awaitable<void> observe_fleet_state(db::Pool& pool) {
  co_await observe_partitions(pool);
  co_await observe_jobs(pool);
  co_await observe_backfill(pool);
  auto& registry = obs::Registry::global();
  static auto& differences =
      registry.gauge("folio_verify_last_differences",
                     "Rows the latest full verification found differing between the two sides.");
  static auto& mismatched = registry.gauge(
      "folio_verify_last_mismatched_buckets",
      "(month, hash bucket) cells of the latest full verification whose sides differed.");
  // The latest full verification, and the end of the latest clean one.
  auto r = co_await pool.query(
      "SELECT (SELECT extract(epoch FROM finished_at)::float8 FROM cutover_audit "
      "         WHERE phase = 'verify' AND status = 'ok' AND (details->>'clean')::boolean "
      "           AND details->>'since' IS NULL "
      "         ORDER BY finished_at DESC LIMIT 1), "
      "       coalesce((details->>'differences')::bigint, 0), "
      "       coalesce((SELECT sum((t.value->>'mismatched_buckets')::bigint) "
      "                   FROM jsonb_each(details->'tables') t), 0)::bigint "
      "  FROM (SELECT details FROM cutover_audit "
      "         WHERE phase = 'verify' AND status IN ('ok', 'failed') "
      "           AND details->>'since' IS NULL AND details ? 'differences' "
      "         ORDER BY finished_at DESC NULLS LAST LIMIT 1) latest");
  if (r.empty()) co_return;  // no full verification yet
  if (const auto clean_at = r.front().get<std::optional<double>>(0)) {
    static auto& last_clean =
        registry.gauge("folio_verify_last_clean_timestamp_seconds",
                       "Unix time the latest clean full verification finished.");
    last_clean.set(*clean_at);
  }
  differences.set(static_cast<double>(r.front().get<std::int64_t>(1)));
  mismatched.set(static_cast<double>(r.front().get<std::int64_t>(2)));
}

std::vector<std::string> scheduled_job_names() {
  return {std::string(kMaintenance), std::string(kRetention), std::string(kVerifyRecent),
          std::string(kVerifyFull)};
}

std::vector<jobs::JobDefinition> scheduled_jobs(db::Pool& pool, const ScheduledJobsOptions& options,
                                                const std::vector<std::string>& names) {
  const auto all = scheduled_job_names();
  for (const auto& n : names) {
    if (std::find(all.begin(), all.end(), n) == all.end()) {
      throw std::invalid_argument(
          fmt::format("unknown job '{}'; the jobs are: {}", n, fmt::join(all, ", ")));
    }
  }
  const auto wanted = [&](std::string_view n) {
    return names.empty() || std::find(names.begin(), names.end(), n) != names.end();
  };
  std::vector<jobs::JobDefinition> out;
  if (wanted(kMaintenance)) {
    auto job = define(kMaintenance, options.maintenance_period, options);
    job.body = [&pool, options](jobs::JobContext& context) -> asio::awaitable<jobs::JobResult> {
      MaintenanceOptions maintenance;
      maintenance.future_months = options.future_months;
      maintenance.locks = options.locks;
      maintenance.locks.fence = context.fence_fn();
      const auto report = co_await maintain_partitions(pool, maintenance);
      jobs::JobResult result;
      result.outcome = report.changed() ? "ok" : "noop";
      result.details = to_json(report);
      co_return result;
    };
    out.push_back(std::move(job));
  }
  if (wanted(kRetention)) {
    auto job = define(kRetention, options.retention_period, options);
    job.body = [&pool, options](jobs::JobContext& context) -> asio::awaitable<jobs::JobResult> {
      co_return co_await run_retention(pool, context, options);
    };
    out.push_back(std::move(job));
  }
  if (wanted(kVerifyRecent)) {
    auto job = define(kVerifyRecent, options.verify_recent_period, options);
    job.body = [&pool, options](jobs::JobContext& context) -> asio::awaitable<jobs::JobResult> {
      co_return co_await run_verify(pool, context, options, true);
    };
    out.push_back(std::move(job));
  }
  if (wanted(kVerifyFull)) {
    auto job = define(kVerifyFull, options.verify_full_period, options);
    job.body = [&pool, options](jobs::JobContext& context) -> asio::awaitable<jobs::JobResult> {
      co_return co_await run_verify(pool, context, options, false);
    };
    out.push_back(std::move(job));
  }
  return out;
}

}  // namespace folio::cutover
