// Key names, stored-value encoding and Lua scripts of CacheService (see cache_service.hpp for
// the scheme and why it is never stale).
//
// Thread-safety: pure functions, except jittered_ttl() which uses a thread-local generator.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace folio::cache::detail {

// "{prefix}:{42}" — the hash-tagged stem of every key of one organization.
std::string org_stem(std::string_view prefix, std::int64_t org);
std::string version_key(std::string_view prefix, std::int64_t org);
std::string position_key(std::string_view prefix, std::int64_t org);
// "{prefix}:{42}:<kind>:<key or sha256:hex>".
std::string value_key(std::string_view prefix, std::int64_t org, std::string_view kind,
                      std::string_view key);
// `key` itself, or "sha256:<hex>" when it is longer than 64 bytes or holds a byte outside
// printable ASCII (spaces included).
std::string safe_key_part(std::string_view key);

// Microseconds since the Unix epoch, as decimal: a fresh version.
std::string unique_version();

// ttl * (1 + u), u uniform in [-jitter, +jitter], in whole milliseconds, at least 1.
std::chrono::milliseconds jittered_ttl(std::chrono::seconds ttl, double jitter);
// ttl * (1 + jitter): the longest a value may live.
std::chrono::milliseconds max_ttl(std::chrono::seconds ttl, double jitter);

// "<version>|<payload>"; the payload of `stored` when it is tagged with `version`.
std::string encode_value(std::string_view version, std::string_view payload);
std::optional<std::string_view> payload_if_version(std::string_view stored,
                                                   std::string_view version);

// LSN <-> the marker's 20-digit zero-padded decimal (fixed width, so the script compares
// strings: Lua numbers are doubles and would round LSNs above 2^53).
std::string encode_lsn(std::uint64_t lsn);
std::optional<std::uint64_t> decode_lsn(std::string_view text);

// KEYS[1] version key, ARGV[1] unique version: INCR when it exists, else SET to ARGV[1].
extern const std::string kBumpScript;
// KEYS[1] marker key, ARGV[1] encoded LSN, ARGV[2] PX milliseconds: set when greater.
extern const std::string kRaisePositionScript;

}  // namespace folio::cache::detail
