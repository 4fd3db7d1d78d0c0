// What the switch phases and the status report need to know about the cutover's state:
// which tables exist on which side (and whether finalize archived them), whether the
// partitioned side is ready for traffic, and the latest verification.
//
// Thread-safety: stateless functions; the pool must be used from its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "folio/cutover/tables.hpp"
#include "folio/db/pool.hpp"

namespace folio::cutover::detail {

struct TableState {
  const TableSpec* spec = nullptr;
  bool legacy = false;                // the legacy table exists
  bool partitioned = false;           // the partitioned table exists
  std::vector<std::string> archived;  // <table>_archived_* tables, by name
};

struct SchemaState {
  std::vector<TableState> tables;  // one per table of all_tables(), in that order
  bool finalize_recorded = false;  // cutover_audit holds a finalize that ended 'ok'
};

boost::asio::awaitable<SchemaState> schema_state(db::Pool& pool);

// Finalize ran: every legacy table is gone, and archived or recorded as finalized (an
// archive may be dropped after its retention period; finalize still ran).
bool finalized(const SchemaState& state);
// "revenues_archived_20261015, ..." (every archive of every table), "" when there is none.
std::string archive_names(const SchemaState& state);
// "the legacy tables were archived as ..." for messages about a finalized cutover.
std::string finalized_text(const SchemaState& state);

// Why the sync is not on for every table ("revenues (legacy 3/3, partitioned 0/3)"), with
// the command that fixes it; nullopt when it is on.
boost::asio::awaitable<std::optional<std::string>> sync_problem(db::Pool& pool);

// Why the partitioned side may not take traffic yet — sync not on for every table, or the
// backfill not finished (every backfill_progress range done, ranges recorded for all three
// tables) — naming the phase to run; nullopt when it may.
boost::asio::awaitable<std::optional<std::string>> readiness_problem(db::Pool& pool);

struct VerifyRecord {
  std::int64_t audit_id = 0;
  std::string finished_at;  // as the server prints it, UTC
  double age_seconds = 0;
  // A verify after it that failed or found differences (its audit id), if any.
  std::optional<std::int64_t> later_failure;
};

// The latest clean full verification: cutover_audit phase 'verify', status 'ok', details
// without 'since' and not {"clean": false}; nullopt when there is none.
boost::asio::awaitable<std::optional<VerifyRecord>> latest_clean_verify(db::Pool& pool);

}  // namespace folio::cutover::detail
