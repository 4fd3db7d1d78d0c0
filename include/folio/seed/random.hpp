// Deterministic random numbers for the seed generator: a xoshiro256** engine seeded through
// splitmix64, bounded integers and an integer alias table for weighted choices.
//
// Why not <random>: the engines are portable but the distributions (uniform_int_distribution,
// normal_distribution…) are implementation-defined, so libstdc++ and libc++ would seed
// different data from the same options. Everything here is integer arithmetic, so a given
// (seed, stream) yields the same numbers on every compiler, library and CPU.
//
// Thread-safety: Rng is a small value type with no shared state; use one per thread (or per
// organization). AliasTable is immutable after construction and may be sampled from any
// number of threads at once, each with its own Rng.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace folio::seed {

// The splitmix64 finalizer: a bijective 64-bit mix with good avalanche.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Advances a splitmix64 state and returns the next output.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  state += 0x9e3779b97f4a7c15ULL;
  return mix64(state);
}

// xoshiro256** (Blackman & Vigna): fast, 256-bit state, passes BigCrush.
class Rng {
 public:
  constexpr explicit Rng(std::uint64_t seed) noexcept {
    std::uint64_t sm = seed;
    for (auto& word : s_) word = splitmix64(sm);
  }

  // An independent stream per (seed, stream) pair, e.g. one per organization index, so any
  // subset of streams can be generated in any order with identical results.
  static constexpr Rng for_stream(std::uint64_t seed, std::uint64_t stream) noexcept {
    return Rng(mix64(seed ^ 0x6a09e667f3bcc909ULL) ^ mix64(stream + 0x3c6ef372fe94f82bULL));
  }

  constexpr std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n) by multiply-shift (Lemire); the bias is below n / 2^32, irrelevant for
  // the small ranges the generator uses. REQUIRES: n > 0.
  constexpr std::uint32_t below(std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
  }

  // Uniform in [lo, hi]. REQUIRES: lo <= hi and hi - lo < 2^32 - 1.
  constexpr std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept {
    return lo + below(static_cast<std::uint32_t>(hi - lo + 1));
  }

  // True with probability per_mille / 1000.
  constexpr bool chance(std::uint32_t per_mille) noexcept { return below(1000) < per_mille; }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }

  std::uint64_t s_[4] = {};
};

// Walker/Vose alias table over integer weights: O(1) weighted choice with one draw. Built
// with exact integer arithmetic, so the table (and every sample) is identical everywhere.
class AliasTable {
 public:
  AliasTable() = default;

  // REQUIRES: weights non-empty with fewer than 2^31 entries, 0 < sum of weights < 2^32.
  // Throws std::invalid_argument otherwise.
  explicit AliasTable(std::span<const std::uint32_t> weights);

  std::size_t size() const noexcept { return prob_.size(); }

  // An index in [0, size()) with probability weight[i] / sum. REQUIRES: !empty.
  std::uint32_t sample(Rng& rng) const noexcept {
    const std::uint64_t r = rng.next();
    const auto i = static_cast<std::uint32_t>(((r >> 32) * prob_.size()) >> 32);
    // The lower 32 bits pick a point in [0, total_) inside column i; total_ < 2^32.
    const std::uint64_t point = ((r & 0xffffffffULL) * total_) >> 32;
    return point < prob_[i] ? i : alias_[i];
  }

 private:
  std::vector<std::uint64_t> prob_;  // column i keeps i while point < prob_[i] (of total_)
  std::vector<std::uint32_t> alias_;
  std::uint64_t total_ = 0;
};

}  // namespace folio::seed
