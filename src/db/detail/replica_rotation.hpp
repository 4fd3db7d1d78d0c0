// The rotation rules of the ReplicaManager, free of I/O: whether one check's outcome is
// healthy, and how a replica enters and leaves rotation.
//
// Thread-safety: pure functions over the caller's values.
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "folio/db/replica_manager.hpp"

namespace folio::db::detail {

// The replay lag of a replica that is behind but has replayed no commit since it started, so
// PostgreSQL cannot date its replay position: how long replay has stood still at one position,
// as seen by successive checks (0 at the first check that sees it).
class StallClock {
 public:
  using Clock = std::chrono::steady_clock;
  double lag_seconds(Lsn replay_lsn, Clock::time_point now);
  void reset() { at_.reset(); }

 private:
  std::optional<Lsn> at_;
  Clock::time_point since_{};
};

// The primary's WAL position over time, one sample per health round (oldest first), kept for a
// few lag limits. A replica's replay lag is then how long ago the primary first stood past the
// replica's replay position — what pg_stat_replication.replay_lag measures on the primary —
// which neither mistakes an idle primary for lag nor a briefly-behind replica after a quiet
// hour for one that is hours behind (the age of the last replayed commit would).
class PrimarySamples {
 public:
  using Clock = std::chrono::steady_clock;
  explicit PrimarySamples(std::chrono::milliseconds keep) : keep_(keep) {}
  void add(Clock::time_point at, Lsn lsn);
  bool empty() const noexcept { return samples_.empty(); }
  // Seconds since the oldest sample past `replay_lsn`; 0 when none is.
  // REQUIRES: !empty().
  double lag_seconds(Lsn replay_lsn, Clock::time_point now) const;

 private:
  std::chrono::milliseconds keep_;
  std::deque<std::pair<Clock::time_point, Lsn>> samples_;
};

// lag_seconds of one check: 0 when not behind, else the age of the last replayed commit when
// known, else what `stall` measured.
double replay_lag_seconds(StallClock& stall, bool behind, std::optional<double> replay_age_seconds,
                          Lsn replay_lsn, StallClock::Clock::time_point now);

// A replica's rotation bookkeeping beside its ReplicaStatus.
struct RotationState {
  bool judged = false;     // some check (or a reported failure) has been applied
  int healthy_streak = 0;  // consecutive checks good enough to rejoin, while out
  std::string out_reason;  // why it left rotation (or never joined)
  StallClock stall;
};

struct Verdict {
  std::string problem;     // empty when healthy
  bool rejoin_ok = false;  // healthy with lag under rejoin_lag_fraction of both limits
};

// Judges a status already updated with the latest check; `check_error` says why the check
// failed when !status.reachable. `lag_bytes_known`: lag_bytes was computed this round (the
// primary answered); otherwise only lag_seconds counts.
Verdict judge(const ReplicaStatus& status, std::string_view check_error, bool lag_bytes_known,
              const ReplicaHealthOptions& options);

enum class Transition { kNone, kJoined, kLeft, kStayedOut };

// Applies a verdict: sets status.in_rotation and status.last_error and returns what changed.
// kStayedOut is returned once, for a replica whose very first verdict keeps it out, so the
// caller can say why it never joined. In the first round a healthy replica joins at once.
Transition apply_verdict(RotationState& state, ReplicaStatus& status, const Verdict& verdict,
                         bool first_round, const ReplicaHealthOptions& options);

// Takes a replica out of rotation because a read on it failed. Returns kLeft if it was in.
Transition apply_failure(RotationState& state, ReplicaStatus& status, std::string reason);

}  // namespace folio::db::detail
