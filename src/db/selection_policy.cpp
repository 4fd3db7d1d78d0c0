#include "folio/db/selection_policy.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <string>

namespace folio::db {

namespace {

constexpr double kMinToleranceUs = 100.0;
constexpr double kMaxTolerance = 1e6;  // keeps the limit finite: every candidate is eligible

class RoundRobinPolicy final : public SelectionPolicy {
 public:
  std::size_t pick(std::span<const ReplicaCandidate> candidates) override {
    return next_.fetch_add(1, std::memory_order_relaxed) % candidates.size();
  }
  std::string_view name() const noexcept override { return "round-robin"; }

 private:
  std::atomic<std::size_t> next_{0};
};

class LowestRttPolicy final : public SelectionPolicy {
 public:
  explicit LowestRttPolicy(double tolerance)
      : tolerance_(std::isnan(tolerance) ? 0.0 : std::clamp(tolerance, 0.0, kMaxTolerance)) {}

  std::size_t pick(std::span<const ReplicaCandidate> candidates) override {
    // Two passes over the (short) list instead of building a filtered copy: no allocation.
    auto fastest = candidates.front().rtt;
    for (const auto& c : candidates) fastest = std::min(fastest, c.rtt);
    // In double: a huge tolerance must not overflow the microsecond count.
    const double base = static_cast<double>(fastest.count());
    const double limit = base + std::max(base * tolerance_, kMinToleranceUs);
    const auto near_fastest = [limit](const ReplicaCandidate& c) {
      return static_cast<double>(c.rtt.count()) <= limit;
    };
    std::size_t eligible = 0;
    for (const auto& c : candidates) eligible += near_fastest(c) ? 1 : 0;
    std::size_t turn = next_.fetch_add(1, std::memory_order_relaxed) % eligible;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (near_fastest(candidates[i]) && turn-- == 0) return i;
    }
    return 0;  // unreachable: `turn` < eligible
  }
  std::string_view name() const noexcept override { return "lowest-rtt"; }

 private:
  double tolerance_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace

std::unique_ptr<SelectionPolicy> make_round_robin_policy() {
  return std::make_unique<RoundRobinPolicy>();
}

std::unique_ptr<SelectionPolicy> make_lowest_rtt_policy(double tolerance) {
  return std::make_unique<LowestRttPolicy>(tolerance);
}

std::unique_ptr<SelectionPolicy> make_selection_policy(std::string_view name) {
  if (name == "round-robin") return make_round_robin_policy();
  if (name == "lowest-rtt") return make_lowest_rtt_policy();
  throw std::invalid_argument("unknown replica selection policy '" + std::string(name) +
                              "': use \"round-robin\" or \"lowest-rtt\"");
}

}  // namespace folio::db
