// Sync failures (SPEC §2 "Trigger failures are visible"): a sync trigger that cannot mirror
// a write raises SQLSTATE FS001 with a JSON DETAIL and the write's transaction rolls back.
// The folio code that sees that error records it in sync_failures (in a transaction of its
// own), logs it as JSON and counts it in folio_sync_failures_total{table,operation}.
//
// Thread-safety: stateless; the metric is thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <exception>
#include <optional>
#include <string>

#include "folio/db/errors.hpp"
#include "folio/db/pool.hpp"

namespace folio::cutover {

struct SyncFailure {
  std::string table;      // revenues, expenses, balances
  std::string operation;  // insert, update, delete
  std::string direction;  // the side that was being written: partitioned or legacy
  boost::json::value key;
  std::string sqlstate;  // of the underlying error, e.g. 23514
  std::string message;
};

// The failure an FS001 error describes; nullopt for any other error.
std::optional<SyncFailure> parse_sync_failure(const db::Error& error);

// Records, logs and counts `failure`. Never throws: a failure to record is logged.
boost::asio::awaitable<void> report_sync_failure(db::Pool& pool, const SyncFailure& failure);

// Registers folio_sync_failures_total at 0 for every table and operation, so that the first
// failure is an increase a rate() or increase() in an alert rule can see (a series born at 1
// is not). Call once at start-up; idempotent.
void register_sync_failure_metrics();

// If `error` holds a db::SyncTriggerFailure, reports it. Returns whether it did.
boost::asio::awaitable<bool> report_if_sync_failure(db::Pool& pool, std::exception_ptr error);

}  // namespace folio::cutover
