// What the switch phases and the status report need to know about the cutover's state:
// which tables exist on which side (and whether finalize archived them) and whether the
// partitioned side is ready for traffic (the verification gate is verify_gate.hpp).
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

}  // namespace folio::cutover::detail
