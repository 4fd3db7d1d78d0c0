// Partition maintenance (SPEC §6, docs/operations.md): keeps `future_months` months after the
// current one partitioned on all three partitioned tables, and empties their DEFAULT
// partitions by creating the months of the rows found there and moving the rows in
// (schema.hpp, ensure_months: no writer is queued behind a lock on the parent, the sync and
// locator triggers see no change because the rows do not change). A run that created or
// moved anything is recorded in cutover_audit (phase 'maintenance').
//
// Metrics (registered once, updated by every run and by observe_partitions):
//   folio_partition_months_ready_ahead{table}  months after the current one with partitions,
//                                              contiguous (0 when the current one lacks one)
//   folio_partition_default_rows{table}        rows in the DEFAULT partition
//   folio_partition_months_created_total{table}, folio_partition_rows_moved_total{table}
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
#include "folio/cutover/tables.hpp"
#include "folio/db/pool.hpp"

namespace folio::cutover {

struct MaintenanceOptions {
  int future_months = 3;   // 0..120
  LockRetryOptions locks;  // its fence, when set, guards every write of the run
  // Pause between the statements that build a new month (ensure_months): live writers keep
  // the CPU on a small machine while 16 leaves per table are created.
  std::chrono::milliseconds pace{5};
};

// What a DEFAULT partition holds.
struct DefaultRows {
  std::int64_t rows = 0;
  std::optional<std::chrono::year_month> first_month;  // of the rows found; none when empty
  std::optional<std::chrono::year_month> last_month;
};

// One partitioned table's state: how far ahead it is ready and what its DEFAULT holds.
struct PartitionHealth {
  std::string table;  // "revenues_partitioned"
  bool exists = false;
  int months_ready_ahead = 0;
  DefaultRows default_rows;
};

struct TableMaintenance {
  PartitionHealth before;
  PartitionHealth after;
  int months_created = 0;
  std::int64_t rows_moved = 0;
};

struct MaintenanceReport {
  std::vector<TableMaintenance> tables;
  double seconds = 0;
  bool changed() const;  // created a month or moved a row
};

// Reads the state of every partitioned table (that exists) and sets the gauges above.
boost::asio::awaitable<std::vector<PartitionHealth>> observe_partitions(db::Pool& pool);

// One maintenance run over the three tables. Tables not prepared yet are skipped. Throws
// std::invalid_argument for bad options, db::LockNotAvailable when a lock stays taken, and
// what the fence throws when the run lost its lease.
boost::asio::awaitable<MaintenanceReport> maintain_partitions(db::Pool& pool,
                                                              MaintenanceOptions options);

// {milliseconds, tables: [{table, months_created, rows_moved, before: {...}, after: {...}}]}.
boost::json::object to_json(const MaintenanceReport& report);
boost::json::object to_json(const PartitionHealth& health);
// An aligned table for a terminal.
std::string format_report(const MaintenanceReport& report);

}  // namespace folio::cutover
