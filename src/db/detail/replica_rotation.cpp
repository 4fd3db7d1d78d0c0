#include "detail/replica_rotation.hpp"

#include <fmt/format.h>

namespace folio::db::detail {

namespace {

double seconds(std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1000.0; }

}  // namespace

void PrimarySamples::add(Clock::time_point at, Lsn lsn) {
  samples_.emplace_back(at, lsn);
  // Drop samples older than `keep`, except the newest of those: a replica behind it reads as
  // at least `keep` behind, over any sane limit.
  while (samples_.size() > 1 && at - samples_[1].first >= keep_) samples_.pop_front();
}

double PrimarySamples::lag_seconds(Lsn replay_lsn, Clock::time_point now) const {
  for (const auto& [at, lsn] : samples_) {
    if (lsn > replay_lsn) return std::chrono::duration<double>(now - at).count();
  }
  return 0.0;
}

double StallClock::lag_seconds(Lsn replay_lsn, Clock::time_point now) {
  if (at_ != replay_lsn) {
    at_ = replay_lsn;
    since_ = now;
  }
  return std::chrono::duration<double>(now - since_).count();
}

double replay_lag_seconds(StallClock& stall, bool behind, std::optional<double> replay_age_seconds,
                          Lsn replay_lsn, StallClock::Clock::time_point now) {
  if (!behind || replay_age_seconds) {
    stall.reset();
    return behind ? *replay_age_seconds : 0.0;
  }
  return stall.lag_seconds(replay_lsn, now);
}

Verdict judge(const ReplicaStatus& status, std::string_view check_error, bool lag_bytes_known,
              const ReplicaHealthOptions& options) {
  Verdict v;
  const double max_lag = seconds(options.max_lag);
  if (!status.reachable) {
    v.problem = fmt::format("health check failed: {}", check_error);
  } else if (!status.in_recovery) {
    v.problem = "not in recovery (promoted, or a primary): never used as a replica";
  } else if (lag_bytes_known && status.lag_bytes > options.max_lag_bytes) {
    v.problem = fmt::format("replay lag {} bytes is over the limit of {} bytes", status.lag_bytes,
                            options.max_lag_bytes);
  } else if (status.lag_seconds > max_lag) {
    v.problem = fmt::format("replay lag {:.3f} s is over the limit of {:.3f} s", status.lag_seconds,
                            max_lag);
  }
  const double fraction = options.rejoin_lag_fraction;
  v.rejoin_ok = v.problem.empty() &&
                (!lag_bytes_known || static_cast<double>(status.lag_bytes) <=
                                         fraction * static_cast<double>(options.max_lag_bytes)) &&
                status.lag_seconds <= fraction * max_lag;
  return v;
}

Transition apply_verdict(RotationState& state, ReplicaStatus& status, const Verdict& verdict,
                         bool first_round, const ReplicaHealthOptions& options) {
  const bool first_verdict = !state.judged;
  state.judged = true;
  if (status.in_rotation) {
    if (verdict.problem.empty()) {
      status.last_error.clear();
      return Transition::kNone;
    }
    status.in_rotation = false;
    state.healthy_streak = 0;
    state.out_reason = verdict.problem;
    status.last_error = verdict.problem;
    return Transition::kLeft;
  }
  if (first_round && verdict.problem.empty()) {
    status.in_rotation = true;
    state.healthy_streak = 0;
    state.out_reason.clear();
    status.last_error.clear();
    return Transition::kJoined;
  }
  if (!verdict.problem.empty()) {
    state.healthy_streak = 0;
    state.out_reason = verdict.problem;
    status.last_error = verdict.problem;
  } else if (!verdict.rejoin_ok) {
    state.healthy_streak = 0;
    status.last_error = fmt::format(
        "replay lag ({} bytes, {:.3f} s) is above {} of the limits, needed to rejoin (left "
        "rotation: {})",
        status.lag_bytes, status.lag_seconds, options.rejoin_lag_fraction, state.out_reason);
  } else if (++state.healthy_streak >= options.rejoin_after) {
    status.in_rotation = true;
    state.healthy_streak = 0;
    state.out_reason.clear();
    status.last_error.clear();
    return Transition::kJoined;
  } else {
    status.last_error = fmt::format("rejoining after {} of {} healthy checks (left rotation: {})",
                                    state.healthy_streak, options.rejoin_after, state.out_reason);
  }
  return first_verdict ? Transition::kStayedOut : Transition::kNone;
}

Transition apply_failure(RotationState& state, ReplicaStatus& status, std::string reason) {
  state.judged = true;
  state.healthy_streak = 0;
  state.out_reason = std::move(reason);
  status.last_error = state.out_reason;
  if (!status.in_rotation) return Transition::kNone;
  status.in_rotation = false;
  return Transition::kLeft;
}

}  // namespace folio::db::detail
