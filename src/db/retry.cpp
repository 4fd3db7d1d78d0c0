#include "folio/db/retry.hpp"

#include <algorithm>
#include <random>

namespace folio::db::detail {

std::chrono::milliseconds retry_backoff(const RetryPolicy& policy, int attempt) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  const auto cap = std::min<std::int64_t>(policy.max_backoff.count(), policy.initial_backoff.count()
                                                                          << std::min(attempt, 20));
  if (cap <= 0) return std::chrono::milliseconds(0);
  std::uniform_int_distribution<std::int64_t> dist(0, cap);
  return std::chrono::milliseconds(dist(rng));
}

}  // namespace folio::db::detail
