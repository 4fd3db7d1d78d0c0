// A replica read's own proof of freshness (read-your-writes without waiting for the next
// health round): when the ReadRouter sends a read to a replica it does not yet know to have
// replayed the caller's write position, the read carries a ReadGuard. The read runs the
// guard's statement in its own transaction, before its data statements, and hands the
// result to confirm(); the router serves the read only if the guard confirmed, and otherwise
// discards it and reruns it on the primary.
//
// Why the guard's answer holds for the rest of the transaction: the statements of one
// pipeline run in order in one implicit transaction on one server connection (also through
// PgBouncer in transaction mode). Under READ COMMITTED every statement takes a new snapshot
// when it starts, after the statements before it finished; on a standby, a commit is visible
// to any snapshot taken after its commit record was replayed, and pg_last_wal_replay_lsn()
// moves past a record only after replaying it. So if the guard saw the replay position at or
// past min_lsn, every later statement sees every commit up to min_lsn. Under REPEATABLE READ
// or SERIALIZABLE the snapshot may predate the guard, so the guard checks the isolation level
// too and does not confirm otherwise. The statements before the guard must not read data the
// caller relies on (a scope statement of set_config() calls is fine).
//
// Thread-safety: a ReadGuard is a plain value owned by one read; statement() and confirms()
// are pure.
#pragma once

#include <optional>
#include <string_view>

#include "folio/db/connection.hpp"
#include "folio/db/lsn.hpp"
#include "folio/db/result.hpp"

namespace folio::db {

// What the guard statement reported about the server that ran it.
struct GuardAnswer {
  bool in_recovery = false;       // pg_is_in_recovery(): a standby
  std::optional<Lsn> replay_lsn;  // pg_last_wal_replay_lsn(); nullopt when NULL or unparseable
  bool replay_paused = false;     // pg_is_wal_replay_paused() (false outside recovery)
  bool read_committed = false;    // the transaction runs under READ COMMITTED
};

// Whether `answer` proves that later statements of its transaction see every commit up to
// `min_lsn`: a standby under READ COMMITTED whose replay position is at or past min_lsn.
bool confirms(const GuardAnswer& answer, Lsn min_lsn) noexcept;

class ReadGuard {
 public:
  ReadGuard() = default;  // nothing to confirm: the read may use any server it is given
  explicit ReadGuard(Lsn min_lsn) : min_lsn_(min_lsn) {}

  // True when the read must run statement() and pass its result to confirm().
  bool required() const noexcept { return min_lsn_.has_value(); }
  std::optional<Lsn> min_lsn() const noexcept { return min_lsn_; }

  // The guard statement (no parameters, one row): run it in the read's transaction after any
  // scope statement and before the statements that read data.
  static Statement statement();
  // Records the guard statement's result. A result of another shape counts as not confirmed.
  void confirm(const Result& result);
  // Records an answer directly (tests, or a caller that ran the statement itself).
  void confirm(const GuardAnswer& answer);

  // Not required, or required and confirmed by the answer given to confirm().
  bool passed() const noexcept { return !required() || confirmed_; }
  // What the server answered; nullopt before confirm() (or when the result was malformed).
  const std::optional<GuardAnswer>& answer() const noexcept { return answer_; }

 private:
  std::optional<Lsn> min_lsn_;
  std::optional<GuardAnswer> answer_;
  bool confirmed_ = false;
};

}  // namespace folio::db
