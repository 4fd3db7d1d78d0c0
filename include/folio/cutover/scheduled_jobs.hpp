// The cutover's scheduled jobs (docs/operations.md), as jobs::JobDefinition for folio-server's
// runner and `folioctl jobs run NAME`:
//   partition-maintenance  maintain_partitions: future months, DEFAULT rows moved
//   partition-retention    archive_old_months (retention.hpp) when retention_months > 0;
//                          "noop" when it is 0 (off, the default) or before finalize
//   verify-recent          verification of the last `recent_days` days (verify --since)
//   verify-full            full verification
// The verification jobs compare both sides only while the sync is on for every table
// (otherwise the sides legitimately differ) and before finalize; else they record "noop".
// They never repair: differences are reported (cutover_audit, metrics) for an operator to
// look at and repair with `folioctl switchover verify --repair`.
//
// Thread-safety: the definitions capture `pool` by reference; run them on its executor.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "folio/cutover/lock_retry.hpp"
#include "folio/db/pool.hpp"
#include "folio/jobs/runner.hpp"

namespace folio::cutover {

struct ScheduledJobsOptions {
  std::chrono::milliseconds maintenance_period{std::chrono::hours(1)};
  int future_months = 3;
  std::chrono::milliseconds retention_period{std::chrono::hours(24)};
  int retention_months = 0;  // months kept before the current one; 0: retention is off
  std::chrono::milliseconds verify_recent_period{std::chrono::minutes(15)};
  int recent_days = 2;
  std::chrono::milliseconds verify_full_period{std::chrono::hours(24)};
  int verify_workers = 2;  // the pool needs verify_workers + 1 connections
  // Each job's jitter is this fraction of its period.
  double jitter_fraction = 0.1;
  // A run longer than this stops at its next step (outcome timeout); 0: the job's period, at
  // least 10 min and at most 6 h.
  std::chrono::milliseconds timeout{0};
  LockRetryOptions locks;
};

// "partition-maintenance", "partition-retention", "verify-recent", "verify-full".
std::vector<std::string> scheduled_job_names();

// The definitions of `names` (all of them when empty). Throws std::invalid_argument for an
// unknown name.
std::vector<jobs::JobDefinition> scheduled_jobs(db::Pool& pool, const ScheduledJobsOptions& options,
                                                const std::vector<std::string>& names = {});

// Fleet-wide state every instance with jobs exports, whoever ran the jobs: refreshes the
// partition gauges (observe_partitions) and, from cutover_audit,
//   folio_verify_last_clean_timestamp_seconds   end of the latest clean full verification
//                                               (absent until there is one)
//   folio_verify_last_differences               differences the latest full verification found
//   folio_verify_last_mismatched_buckets        its (month, bucket) cells that differed
// from folio_jobs
//   folio_job_fleet_last_success_timestamp_seconds{job}  last ok/noop run by any instance
//   folio_job_fleet_last_run_failed{job}                 1: the latest finished run failed
// and from backfill_progress
//   folio_backfill_pending_ranges{table}                 ranges not finished
//   folio_backfill_last_progress_timestamp_seconds{table} when a range last advanced
//   folio_backfill_copied_rows{table}                    rows copied so far
// Alert on time() - the timestamps, and on the others > 0 (max over instances).
boost::asio::awaitable<void> observe_fleet_state(db::Pool& pool);

}  // namespace folio::cutover
