// Partition retention (docs/operations.md, "Retention"): after finalize, month partitions of
// the partitioned tables older than the retention are detached and moved, with their hash
// leaves, into an archive schema (default folio_archive), and recorded in the manifest
// `partition_archive` (sql/migrations/0007_partition_archive.sql) with the row count and
// checksum they had when they were detached. Dropping an archive is a separate, explicit
// step (drop_archived) that first checks the archive still matches its manifest row.
//
// Retention refuses while the legacy tables are live (before finalize): archiving months of
// one side would make the two sides differ, and verification, rollback and the sync all
// assume they do not.
//
// Each month is archived in one transaction under lock_timeout with retries (lock_retry.hpp):
// DETACH (ACCESS EXCLUSIVE on the parent, briefly), SET SCHEMA of the month and its leaves,
// the count and checksum of what was detached, the manifest row, and for revenues and
// expenses the deletion of the month's locator rows (the locator places only rows on the
// partitioned side). Services are told the layout changed on the routing channel, as after
// ensure_months. A run that archived something is recorded in cutover_audit (phase
// 'retention').
//
// Metrics (registered once, updated by every call here):
//   folio_partition_archived_total{table}   month partitions archived by retention
//   folio_partition_archived_months{table}  archived months not dropped yet
//
// Thread-safety: stateless functions; the pool must be used from its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "folio/cutover/lock_retry.hpp"
#include "folio/db/pool.hpp"

namespace folio::cutover {

inline constexpr std::string_view kDefaultArchiveSchema = "folio_archive";

struct RetentionOptions {
  // The current month and the `keep_months` before it stay; older months are archived.
  // REQUIRES: 1..1200 (there is no "off" here: the scheduled job is off at 0 and never calls).
  int keep_months = 0;
  // A plain lower-case identifier ([a-z_][a-z0-9_]*, at most 63 characters); created when
  // missing.
  std::string archive_schema = std::string(kDefaultArchiveSchema);
  LockRetryOptions locks;  // its fence, when set, guards every transaction of the run
};

// One manifest row (partition_archive).
struct ArchivedPartition {
  std::string table;  // the partitioned parent: "revenues_partitioned"
  std::chrono::year_month month;
  std::string partition_name;  // "revenues_partitioned_y2024m01"
  std::string archive_schema;
  std::int64_t rows = 0;
  std::string checksum;     // numeric, as text (exact)
  std::string archived_at;  // UTC, "2026-12-03 14:02:11"
  std::string archived_by;
  std::optional<std::string> dropped_at;  // UTC; none while the archive exists
};

struct RetentionReport {
  std::chrono::year_month first_kept;       // months before it are archived
  std::vector<ArchivedPartition> archived;  // by this run
  // Months older than the retention left in place, with why ("already archived on ...").
  std::vector<std::string> not_archived;
  double seconds = 0;
  bool changed() const { return !archived.empty(); }
};

// Archives every month partition of the three partitioned tables older than the retention.
// Throws std::invalid_argument for bad options, SwitchRefused (switchover.hpp) before
// finalize, db::LockNotAvailable when a parent stays locked, and what the fence throws when
// the run lost its lease. Months archived before a failure stay archived and recorded.
boost::asio::awaitable<RetentionReport> archive_old_months(db::Pool& pool,
                                                           RetentionOptions options);

// Every manifest row, oldest month first, table by table. Sets the gauge above.
boost::asio::awaitable<std::vector<ArchivedPartition>> list_archived(db::Pool& pool);

struct DropArchivedOptions {
  bool confirm = false;  // dropping deletes the archived rows for good: required
  LockRetryOptions locks;
};

struct DropArchivedResult {
  ArchivedPartition partition;  // the manifest row, after the drop
  bool dropped = false;         // false: it had been dropped before (nothing done)
};

// Drops the archived month table of `table` ("revenues" or "revenues_partitioned") and
// `month` (its leaves go with it) and sets dropped_at, after recomputing its row count and
// checksum in the same transaction. Throws std::invalid_argument for an unknown table or a
// month with no manifest row, SwitchRefused without confirm, when the archived table is
// missing, or when its rows differ from the manifest (the message names the difference;
// nothing is dropped).
boost::asio::awaitable<DropArchivedResult> drop_archived(db::Pool& pool, std::string table,
                                                         std::chrono::year_month month,
                                                         DropArchivedOptions options);

// {first_kept, milliseconds, archived: [...], not_archived: ["why", ...]}.
boost::json::object to_json(const RetentionReport& report);
// {table, month, partition_name, archive_schema, rows, checksum, archived_at, archived_by,
//  dropped_at}.
boost::json::object to_json(const ArchivedPartition& partition);
// Aligned tables for a terminal.
std::string format_report(const RetentionReport& report);
std::string format_archived(const std::vector<ArchivedPartition>& partitions);

}  // namespace folio::cutover
