#include "folio/db/read_guard.hpp"

#include <string>

#include "folio/db/errors.hpp"

namespace folio::db {
namespace {

// pg_is_wal_replay_paused() raises an error outside recovery, hence the CASE (evaluated
// lazily: the function is volatile). The comparison with the caller's position is made by
// the client (confirms()), so the statement has no parameter and the replay position comes
// back for the router to learn. Every function here may be called by any role.
constexpr std::string_view kGuardSql =
    "SELECT pg_is_in_recovery(),"
    " pg_last_wal_replay_lsn()::text,"
    " CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END,"
    " current_setting('transaction_isolation') = 'read committed'";

}  // namespace

bool confirms(const GuardAnswer& answer, Lsn min_lsn) noexcept {
  return answer.in_recovery && answer.read_committed && answer.replay_lsn.has_value() &&
         *answer.replay_lsn >= min_lsn;
}

Statement ReadGuard::statement() { return Statement{std::string(kGuardSql), Params{}}; }

void ReadGuard::confirm(const Result& result) {
  answer_.reset();
  confirmed_ = false;
  if (result.size() != 1 || result.columns() != 4) return;
  try {
    const Row row = result[0];
    GuardAnswer answer;
    answer.in_recovery = row.get<bool>(0);
    if (const Field replay = row[1]; !replay.is_null()) answer.replay_lsn = parse_lsn(replay.raw());
    answer.replay_paused = row.get<bool>(2);
    answer.read_committed = row.get<bool>(3);
    confirm(answer);
  } catch (const DecodeError&) {
    // Not the guard's result: not confirmed.
  }
}

void ReadGuard::confirm(const GuardAnswer& answer) {
  answer_ = answer;
  confirmed_ = min_lsn_.has_value() && confirms(answer, *min_lsn_);
}

}  // namespace folio::db
