// Which replicas in rotation a read may go to, free of I/O and of the manager's state: the
// filter ReplicaManager::choose() applies before its SelectionPolicy picks one.
//
// Thread-safety: pure functions over the caller's values.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "folio/db/lsn.hpp"
#include "folio/db/replica_manager.hpp"
#include "folio/db/selection_policy.hpp"

namespace folio::db::detail {

// What is known about a replica in rotation: its last health check, raised by reads' guards
// since.
struct ReplayView {
  Lsn replay_lsn = 0;          // replayed at least this far
  bool replay_paused = false;  // replay was seen paused
};

struct Eligible {
  std::size_t count = 0;   // candidates written to `out`
  bool confirmed = false;  // they are known to have replayed min_lsn (or none was asked for)
};

// Writes to `out` the candidates a read with `min_lsn` may use, in their order: all of them
// without min_lsn; else those known to have replayed it (confirmed); else, with `unconfirmed`
// allow and min_lsn below the largest position (which stands for "unknown"), those whose
// replay is not paused (not confirmed: the read must confirm); else none.
// REQUIRES: views.size() == candidates.size(); `out` has room for candidates.size().
Eligible eligible_replicas(std::span<const ReplicaCandidate> candidates,
                           std::span<const ReplayView> views, std::optional<Lsn> min_lsn,
                           Unconfirmed unconfirmed, ReplicaCandidate* out) noexcept;

}  // namespace folio::db::detail
