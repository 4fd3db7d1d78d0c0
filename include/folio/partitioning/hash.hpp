// PostgreSQL's hash partitioning of one key (src/backend/partitioning/partbounds.c): with h
// the key's extended hash under HASH_PARTITION_SEED, the row hash is hash_combine64(0, h) =
// h + kHashCombine (mod 2^64), and the remainder is the row hash mod the modulus. Shared by
// PartitionLayout (the remainder in C++) and the cutover's verification (the same in SQL).
//
// Thread-safety: constants.
#pragma once

#include <cstdint>

namespace folio::partitioning {

inline constexpr std::uint64_t kHashPartitionSeed = 0x7A5B22367996DCFDULL;
inline constexpr std::uint64_t kHashCombine = 0x49a0f4dd15e5a8e3ULL;

}  // namespace folio::partitioning
