#include "folio/db/lsn.hpp"

#include <charconv>

namespace folio::db {

namespace {

// One half of an LSN: 1 to 8 hex digits, exactly filling `text`.
std::optional<std::uint32_t> parse_half(std::string_view text) {
  if (text.empty() || text.size() > 8) return std::nullopt;
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<Lsn> parse_lsn(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto high = parse_half(text.substr(0, slash));
  const auto low = parse_half(text.substr(slash + 1));
  if (!high || !low) return std::nullopt;
  return (static_cast<Lsn>(*high) << 32) | *low;
}

std::string format_lsn(Lsn lsn) {
  char buffer[18];  // 8 hex digits, '/', 8 hex digits
  char* p = buffer;
  for (const auto half : {static_cast<std::uint32_t>(lsn >> 32), static_cast<std::uint32_t>(lsn)}) {
    if (p != buffer) *p++ = '/';
    p = std::to_chars(p, buffer + sizeof buffer, half, 16).ptr;
  }
  std::string out(buffer, p);
  for (char& c : out) {
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace folio::db
