// How the ReplicaManager picks one replica among those in rotation (and caught up) for a read.
//
// Thread-safety: pick() may be called from many threads at once; implementations keep their
// state in atomics and never block or allocate.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace folio::db {

// One replica a read may go to: its position in the manager's configuration and the round
// trip of its last health check.
struct ReplicaCandidate {
  std::size_t index;
  std::chrono::microseconds rtt;
};

class SelectionPolicy {  // thread-safe: pick() may be called from many threads at once
 public:
  virtual ~SelectionPolicy() = default;
  // Returns the position in `candidates` (not the .index) of the replica to use.
  // REQUIRES: non-empty.
  virtual std::size_t pick(std::span<const ReplicaCandidate> candidates) = 0;
  virtual std::string_view name() const noexcept = 0;
};

// Takes the candidates in turn with one shared counter: exactly even over any run of calls
// with the same list, also when the list changes between runs. (Calls with lists of different
// sizes that strictly alternate can favour some positions; concurrent callers make that
// unlikely in practice.)
std::unique_ptr<SelectionPolicy> make_round_robin_policy();

// Lowest round-trip time; candidates within `tolerance` (relative, e.g. 0.2 = 20%, and at
// least 100us absolute) of the fastest are treated as equal and taken in turn, so near-equal
// replicas share load. A negative or NaN tolerance counts as 0.
std::unique_ptr<SelectionPolicy> make_lowest_rtt_policy(double tolerance = 0.2);

// "round-robin" | "lowest-rtt"; throws std::invalid_argument naming the accepted values.
std::unique_ptr<SelectionPolicy> make_selection_policy(std::string_view name);

}  // namespace folio::db
