#include "detail/cache_keys.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <random>
#include <stdexcept>

namespace folio::cache::detail {

namespace {
constexpr std::size_t kMaxPlainKey = 64;
constexpr int kLsnDigits = 20;  // 2^64 - 1 has 20 digits
}  // namespace

const std::string kBumpScript =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCR', KEYS[1]) end\n"
    "redis.call('SET', KEYS[1], ARGV[1])\n"
    "return tonumber(ARGV[1])\n";

// Compares the 20 digits as two 10-digit halves: exact in Lua's doubles, and independent of
// the server's collation locale (Lua compares strings with strcoll).
const std::string kRaisePositionScript =
    "local current = redis.call('GET', KEYS[1])\n"
    "if current and string.len(current) == 20 then\n"
    "  local ch, cl = tonumber(string.sub(current, 1, 10)), tonumber(string.sub(current, 11))\n"
    "  local nh, nl = tonumber(string.sub(ARGV[1], 1, 10)), tonumber(string.sub(ARGV[1], 11))\n"
    "  if ch and cl and (ch > nh or (ch == nh and cl >= nl)) then return 0 end\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "return 1\n";

std::string org_stem(std::string_view prefix, std::int64_t org) {
  std::string stem;
  stem.reserve(prefix.size() + 24);
  stem.append(prefix).append(":{").append(std::to_string(org)).append("}");
  return stem;
}

std::string version_key(std::string_view prefix, std::int64_t org) {
  return org_stem(prefix, org) + ":v";
}

std::string position_key(std::string_view prefix, std::int64_t org) {
  return org_stem(prefix, org) + ":lsn";
}

std::string value_key(std::string_view prefix, std::int64_t org, std::string_view kind,
                      std::string_view key) {
  std::string out = org_stem(prefix, org);
  out.append(":").append(kind).append(":").append(safe_key_part(key));
  return out;
}

std::string safe_key_part(std::string_view key) {
  const bool plain = key.size() <= kMaxPlainKey && std::all_of(key.begin(), key.end(), [](char c) {
                       return c > 0x20 && c < 0x7f;
                     });
  if (plain) return std::string(key);
  std::array<unsigned char, EVP_MAX_MD_SIZE> hash{};
  unsigned int len = 0;
  if (EVP_Digest(key.data(), key.size(), hash.data(), &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 of a cache key failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[hash[i] >> 4]);
    out.push_back(kHex[hash[i] & 0xf]);
  }
  return out;
}

std::string unique_version() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
}

std::chrono::milliseconds jittered_ttl(std::chrono::seconds ttl, double jitter) {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  jitter = std::clamp(std::isnan(jitter) ? 0.0 : jitter, 0.0, 1.0);
  std::uniform_real_distribution<double> factor(1.0 - jitter, 1.0 + jitter);
  const double ms = static_cast<double>(ttl.count()) * 1000.0 * factor(generator);
  return std::chrono::milliseconds(std::max<std::int64_t>(1, std::llround(ms)));
}

std::chrono::milliseconds max_ttl(std::chrono::seconds ttl, double jitter) {
  jitter = std::clamp(std::isnan(jitter) ? 0.0 : jitter, 0.0, 1.0);
  return std::chrono::milliseconds(
      std::llround(std::ceil(static_cast<double>(ttl.count()) * 1000.0 * (1.0 + jitter))));
}

std::string encode_value(std::string_view version, std::string_view payload) {
  std::string out;
  out.reserve(version.size() + 1 + payload.size());
  out.append(version).push_back('|');
  out.append(payload);
  return out;
}

std::optional<std::string_view> payload_if_version(std::string_view stored,
                                                   std::string_view version) {
  if (stored.size() <= version.size() || stored.substr(0, version.size()) != version ||
      stored[version.size()] != '|') {
    return std::nullopt;
  }
  return stored.substr(version.size() + 1);
}

std::string encode_lsn(std::uint64_t lsn) {
  std::string digits = std::to_string(lsn);
  return std::string(kLsnDigits - digits.size(), '0') + digits;
}

std::optional<std::uint64_t> decode_lsn(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace folio::cache::detail
