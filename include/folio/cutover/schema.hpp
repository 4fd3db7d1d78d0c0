// The partitioned schema (SPEC §1, `folioctl switchover prepare`): revenues_partitioned,
// expenses_partitioned and balances_partitioned, RANGE by month on the time column, each
// month HASH (org_id) into `hash_modulus` leaves, the same columns, defaults and CHECKs as
// the legacy table (so rows compare column for column), primary keys that include both
// partition keys, and a DEFAULT partition for rows whose month has no partition yet (a date
// outside the prepared window is accepted as legacy accepts it; partition maintenance then
// creates its month and moves the rows there).
//
// Months are created detached and then attached, so creating one on a live table never
// queues writers behind a lock on the parent: ATTACH takes SHARE UPDATE EXCLUSIVE on it,
// which writers do not conflict with, and ACCESS EXCLUSIVE only on the new month and the
// DEFAULT partition, under lock_timeout with retries. In the same transaction the month's
// rows are moved out of the DEFAULT partition first, so the attach never fails on them; the
// scan ATTACH makes of the DEFAULT partition is of a table maintenance keeps empty.
//
// Thread-safety: stateless; the pool must be used from its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "folio/cutover/lock_retry.hpp"
#include "folio/cutover/tables.hpp"
#include "folio/db/pool.hpp"

namespace folio::cutover {

struct PrepareOptions {
  int hash_modulus = 16;  // 1..1024
  int future_months = 3;  // months after the current one to create in advance
  LockRetryOptions locks;
};

struct PrepareReport {
  int tables_created = 0;
  int months_created = 0;
  std::chrono::year_month first_month;  // covered range, inclusive
  std::chrono::year_month last_month;
  int hash_modulus = 0;
};

// Creates whatever of the partitioned schema is missing (idempotent). Covers every month
// that holds legacy data, through `future_months` after the current month. Throws
// std::invalid_argument for a bad modulus, and db::Error when the tables exist with a
// different modulus.
boost::asio::awaitable<PrepareReport> prepare(db::Pool& pool, const PrepareOptions& options);

struct MonthsCreated {
  int months = 0;               // partitions created (each with its hash leaves)
  std::int64_t rows_moved = 0;  // rows moved out of the DEFAULT partition into them
};

// Creates the months of `months` that `spec`'s partitioned table lacks, each with its
// `hash_modulus` leaves, moving the month's rows out of the DEFAULT partition as it attaches
// it (the sync and locator triggers do not fire for the move: the rows stay the same rows),
// then announces the new layout on the routing channel so services name the new leaves.
// With a `pace`, the detached month is built one table per transaction with that pause
// between them (maintenance on a live database: the catalog work comes in small slices).
// REQUIRES: the partitioned parent exists.
boost::asio::awaitable<MonthsCreated> ensure_months(db::Pool& pool, const TableSpec& spec,
                                                    std::vector<std::chrono::year_month> months,
                                                    int hash_modulus, const LockRetryOptions& locks,
                                                    std::chrono::milliseconds pace = {});
// The same for every month in [first, last].
boost::asio::awaitable<MonthsCreated> ensure_months(db::Pool& pool, const TableSpec& spec,
                                                    std::chrono::year_month first,
                                                    std::chrono::year_month last, int hash_modulus,
                                                    const LockRetryOptions& locks);

// The hash modulus the partitioned tables were created with; nullopt before `prepare`.
boost::asio::awaitable<std::optional<int>> partitioned_modulus(db::Pool& pool);

// Months (first day) that have a partition in `spec`'s partitioned table, ascending.
boost::asio::awaitable<std::vector<std::chrono::year_month>> partition_months(
    db::Pool& pool, const TableSpec& spec);

// The DEFAULT partition of `spec`'s partitioned table: "revenues_partitioned_default".
std::string default_partition_name(const TableSpec& spec);

// "revenues_partitioned_y2025m01", and its leaf "revenues_partitioned_y2025m01_h03".
std::string month_partition_name(const TableSpec& spec, std::chrono::year_month month);
std::string leaf_partition_name(const TableSpec& spec, std::chrono::year_month month,
                                int remainder);

}  // namespace folio::cutover
