#include "folio/finance/model.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace folio::finance {
namespace {

// Cursor text: base64url (no padding) of 18 bytes: a format byte, occurred_at in
// microseconds and the id (both big-endian), and a check byte over the 17 before it.
constexpr unsigned char kCursorFormat = 1;
constexpr std::size_t kCursorBytes = 18;
constexpr std::size_t kCursorChars = 24;  // 18 bytes * 4 / 3
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

unsigned char check_byte(const unsigned char* bytes, std::size_t n) {
  std::uint32_t h = 2166136261u;  // FNV-1a, folded to one byte
  for (std::size_t i = 0; i < n; ++i) {
    h = (h ^ bytes[i]) * 16777619u;
  }
  return static_cast<unsigned char>((h >> 24) ^ (h >> 16) ^ (h >> 8) ^ h);
}

void put_be(unsigned char* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<unsigned char>(v & 0xff);
    v >>= 8;
  }
}

std::uint64_t get_be(const unsigned char* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

int sextet(char c) {
  const auto pos = kAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

bool is_supported_time(Timestamp t) {
  using namespace std::chrono;
  static constexpr sys_days kFirst = year{1} / January / 1;
  static constexpr sys_days kEnd = year{10000} / January / 1;
  return t >= kFirst && t < kEnd;
}

std::string_view to_string(EntryKind kind) {
  return kind == EntryKind::revenue ? "revenue" : "expense";
}

const std::vector<std::string_view>& categories(EntryKind kind) {
  // Must match the CHECK constraints of sql/migrations/0001_legacy_schema.sql.
  static const std::vector<std::string_view> revenue = {"room", "food_beverage", "spa", "events",
                                                        "other"};
  static const std::vector<std::string_view> expense = {"payroll",     "supplies",  "utilities",
                                                        "maintenance", "marketing", "other"};
  return kind == EntryKind::revenue ? revenue : expense;
}

bool is_category(EntryKind kind, std::string_view category) {
  const auto& all = categories(kind);
  return std::find(all.begin(), all.end(), category) != all.end();
}

std::string_view to_string(Granularity granularity) {
  return granularity == Granularity::day ? "day" : "month";
}

std::string encode_cursor(const Cursor& cursor) {
  std::array<unsigned char, kCursorBytes> bytes{};
  bytes[0] = kCursorFormat;
  put_be(&bytes[1], static_cast<std::uint64_t>(cursor.occurred_at.time_since_epoch().count()));
  put_be(&bytes[9], static_cast<std::uint64_t>(cursor.id));
  bytes[17] = check_byte(bytes.data(), 17);
  std::string out;
  out.reserve(kCursorChars);
  for (std::size_t i = 0; i < kCursorBytes; i += 3) {
    const std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  return out;
}

std::optional<Cursor> decode_cursor(std::string_view text) {
  if (text.size() != kCursorChars) return std::nullopt;
  std::array<unsigned char, kCursorBytes> bytes{};
  for (std::size_t i = 0, o = 0; i < kCursorChars; i += 4, o += 3) {
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const int s = sextet(text[i + k]);
      if (s < 0) return std::nullopt;
      v = (v << 6) | static_cast<std::uint32_t>(s);
    }
    bytes[o] = static_cast<unsigned char>(v >> 16);
    bytes[o + 1] = static_cast<unsigned char>(v >> 8);
    bytes[o + 2] = static_cast<unsigned char>(v);
  }
  if (bytes[0] != kCursorFormat || bytes[17] != check_byte(bytes.data(), 17)) {
    return std::nullopt;
  }
  const auto id = static_cast<std::int64_t>(get_be(&bytes[9]));
  const Timestamp at(std::chrono::microseconds(static_cast<std::int64_t>(get_be(&bytes[1]))));
  if (id <= 0 || !is_supported_time(at)) return std::nullopt;
  return Cursor{.occurred_at = at, .id = id};
}

}  // namespace folio::finance
