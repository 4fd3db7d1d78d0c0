// The backfill's adaptive batch span: after each full batch the span is scaled by
// target / actual duration, at most halved or doubled per step, within [min, max]. A fixed
// span never changes.
//
// Thread-safety: a plain value; one per worker and table.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace folio::cutover::detail {

class BatchSizer {
 public:
  // A fixed span when `fixed` > 0, else adaptive from `initial`.
  // REQUIRES: 1 <= min <= max.
  BatchSizer(std::int64_t fixed, std::int64_t initial, std::int64_t min, std::int64_t max,
             std::chrono::duration<double> target)
      : fixed_(fixed > 0),
        span_(fixed > 0 ? fixed : std::clamp(initial, min, max)),
        min_(min),
        max_(max),
        target_(target.count()) {}

  std::int64_t span() const { return span_; }

  // Adapts to a batch of the current span that took `actual`.
  void observe(std::chrono::duration<double> actual) {
    if (fixed_ || target_ <= 0) return;
    const double factor = std::clamp(target_ / std::max(actual.count(), 1e-6), 0.5, 2.0);
    const double next = std::round(static_cast<double>(span_) * factor);
    span_ = std::clamp(static_cast<std::int64_t>(next), min_, max_);
  }

 private:
  bool fixed_;
  std::int64_t span_;
  std::int64_t min_;
  std::int64_t max_;
  double target_;
};

}  // namespace folio::cutover::detail
