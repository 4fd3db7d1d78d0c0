#include "folio/seed/random.hpp"

#include <stdexcept>

namespace folio::seed {

AliasTable::AliasTable(std::span<const std::uint32_t> weights) {
  const std::size_t n = weights.size();
  if (n == 0 || n >= (std::size_t{1} << 31)) {
    throw std::invalid_argument("AliasTable: need between 1 and 2^31-1 weights");
  }
  std::uint64_t sum = 0;
  for (const std::uint32_t w : weights) sum += w;
  if (sum == 0 || sum >= (std::uint64_t{1} << 32)) {
    throw std::invalid_argument("AliasTable: sum of weights must be in (0, 2^32)");
  }

  // Vose's method in integers: column i has capacity `sum`; weight i scaled by n fills it.
  // Under-full columns are topped up from an over-full one, which becomes their alias.
  std::vector<std::uint64_t> scaled(n);
  std::vector<std::uint32_t> small;
  std::vector<std::uint32_t> large;
  for (std::size_t i = 0; i < n; ++i) {
    scaled[i] = std::uint64_t{weights[i]} * n;
    (scaled[i] < sum ? small : large).push_back(static_cast<std::uint32_t>(i));
  }
  prob_.assign(n, sum);
  alias_.resize(n);
  for (std::size_t i = 0; i < n; ++i) alias_[i] = static_cast<std::uint32_t>(i);
  while (!small.empty() && !large.empty()) {
    const std::uint32_t s = small.back();
    small.pop_back();
    const std::uint32_t l = large.back();
    prob_[s] = scaled[s];
    alias_[s] = l;
    scaled[l] -= sum - scaled[s];
    if (scaled[l] < sum) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // Whatever is left is exactly full (integer arithmetic leaves no rounding residue).
  for (const std::uint32_t i : small) prob_[i] = sum;
  for (const std::uint32_t i : large) prob_[i] = sum;
  total_ = sum;
}

}  // namespace folio::seed
