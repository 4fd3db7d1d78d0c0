// Sync triggers (SPEC §2 phase 3): sync_<table>_insert|update|delete on both sides of every
// table, running the functions of sql/migrations/0003_sync_functions.sql. Installed one table
// per transaction (both sides together, so no write is ever mirrored one way only) under a
// short lock_timeout with retries: a long-running transaction makes sync-on give up with the
// blocker's pid and query instead of queueing every writer behind it.
//
// Thread-safety: stateless; the pool must be used from its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "folio/cutover/lock_retry.hpp"
#include "folio/db/pool.hpp"

namespace folio::cutover {

struct SyncState {
  std::string table;
  int legacy_triggers = 0;       // of 3
  int partitioned_triggers = 0;  // of 3
  bool on() const { return legacy_triggers == 3 && partitioned_triggers == 3; }
};

// Trigger state of every table. Tables that do not exist count 0 triggers.
boost::asio::awaitable<std::vector<SyncState>> sync_state(db::Pool& pool);

// Installs the missing triggers. Returns how many tables changed (0: already on).
// REQUIRES: `prepare` ran. Throws db::LockNotAvailable when a table stays locked.
boost::asio::awaitable<int> sync_on(db::Pool& pool, const LockRetryOptions& locks);

// Drops the triggers (used by finalize, and to stop a cutover before any pilot). Returns how
// many tables changed.
boost::asio::awaitable<int> sync_off(db::Pool& pool, const LockRetryOptions& locks);

}  // namespace folio::cutover
