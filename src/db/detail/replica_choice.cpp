#include "detail/replica_choice.hpp"

#include <limits>

namespace folio::db::detail {

Eligible eligible_replicas(std::span<const ReplicaCandidate> candidates,
                           std::span<const ReplayView> views, std::optional<Lsn> min_lsn,
                           Unconfirmed unconfirmed, ReplicaCandidate* out) noexcept {
  Eligible eligible;
  if (!min_lsn) {
    for (const auto& c : candidates) out[eligible.count++] = c;
    eligible.confirmed = true;
    return eligible;
  }
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (views[i].replay_lsn >= *min_lsn) out[eligible.count++] = candidates[i];
  }
  if (eligible.count > 0) {
    eligible.confirmed = true;
    return eligible;
  }
  if (unconfirmed != Unconfirmed::allow || *min_lsn == std::numeric_limits<Lsn>::max()) {
    return eligible;
  }
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!views[i].replay_paused) out[eligible.count++] = candidates[i];
  }
  return eligible;
}

}  // namespace folio::db::detail
