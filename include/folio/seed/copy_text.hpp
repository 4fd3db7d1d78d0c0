// Writers for PostgreSQL COPY *text* format fields: escaped text, integers, dates and UTC
// timestamps, each written straight into a caller-provided char buffer.
//
// COPY text format (the default of `COPY … FROM STDIN` and of psql `\copy`): one line per
// row, columns separated by a tab, `\N` for NULL, and inside a value a backslash, newline,
// carriage return, tab, backspace, form feed and vertical tab written as `\\`, `\n`, `\r`,
// `\t`, `\b`, `\f`, `\v` — the same escapes PostgreSQL's own `COPY TO` produces.
//
// The `write_*` functions are the hot path of the seed generator: they never allocate and
// return the position after the written bytes. The caller guarantees room:
// REQUIRES: at least kMaxEscapedFactor * text.size() bytes for write_copy_escaped,
// kMaxInt64Chars for write_int, kDateChars for write_date, kTimestampChars for
// write_timestamp.
//
// Thread-safety: all functions are pure; call them from any thread.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace folio::seed {

inline constexpr std::string_view kCopyNull = "\\N";
inline constexpr std::size_t kMaxEscapedFactor = 2;
inline constexpr std::size_t kMaxInt64Chars = 20;   // "-9223372036854775808"
inline constexpr std::size_t kDateChars = 10;       // "2026-03-14"
inline constexpr std::size_t kTimestampChars = 22;  // "2026-03-14 09:21:07+00"

// The escape COPY text format needs for byte c, or 0 when c stands for itself.
constexpr char copy_escape_letter(char c) noexcept {
  switch (c) {
    case '\\':
      return '\\';
    case '\n':
      return 'n';
    case '\r':
      return 'r';
    case '\t':
      return 't';
    case '\b':
      return 'b';
    case '\f':
      return 'f';
    case '\v':
      return 'v';
    default:
      return 0;
  }
}

// Writes text escaped for COPY text format. Bytes >= 0x80 pass through, so UTF-8 stays
// UTF-8. REQUIRES: text contains no NUL byte (PostgreSQL text cannot hold one).
inline char* write_copy_escaped(char* out, std::string_view text) noexcept {
  for (const char c : text) {
    const char letter = copy_escape_letter(c);
    if (letter == 0) {
      *out++ = c;
    } else {
      *out++ = '\\';
      *out++ = letter;
    }
  }
  return out;
}

inline char* write_int(char* out, std::int64_t value) noexcept {
  return std::to_chars(out, out + kMaxInt64Chars, value).ptr;
}

// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
struct CivilDate {
  std::int32_t year;
  std::uint32_t month;  // 1..12
  std::uint32_t day;    // 1..31
};

constexpr CivilDate civil_from_days(std::int64_t days) noexcept {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<std::uint32_t>(days - era * 146097);
  const std::uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::uint32_t mp = (5 * doy + 2) / 153;
  const std::uint32_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::uint32_t month = mp < 10 ? mp + 3 : mp - 9;
  const auto year =
      static_cast<std::int32_t>(static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0));
  return {year, month, day};
}

namespace detail {

inline constexpr char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

inline char* write_2digits(char* out, std::uint32_t v) noexcept {
  const std::size_t i = std::size_t{2} * v;
  out[0] = kDigitPairs[i];
  out[1] = kDigitPairs[i + 1];
  return out + 2;
}

}  // namespace detail

// "YYYY-MM-DD" of a day count since 1970-01-01. REQUIRES: year in [0, 9999].
inline char* write_date(char* out, std::int64_t days_since_epoch) noexcept {
  const CivilDate d = civil_from_days(days_since_epoch);
  const auto y = static_cast<std::uint32_t>(d.year);
  out = detail::write_2digits(out, y / 100);
  out = detail::write_2digits(out, y % 100);
  *out++ = '-';
  out = detail::write_2digits(out, d.month);
  *out++ = '-';
  return detail::write_2digits(out, d.day);
}

// "YYYY-MM-DD HH:MM:SS+00", the UTC instant `unix_seconds` as PostgreSQL timestamptz input.
// REQUIRES: year in [0, 9999].
inline char* write_timestamp(char* out, std::int64_t unix_seconds) noexcept {
  std::int64_t days = unix_seconds / 86400;
  std::int64_t secs = unix_seconds % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  out = write_date(out, days);
  const auto s = static_cast<std::uint32_t>(secs);
  *out++ = ' ';
  out = detail::write_2digits(out, s / 3600);
  *out++ = ':';
  out = detail::write_2digits(out, s / 60 % 60);
  *out++ = ':';
  out = detail::write_2digits(out, s % 60);
  *out++ = '+';
  *out++ = '0';
  *out++ = '0';
  return out;
}

// Convenience for non-hot callers: text escaped for COPY text format.
std::string copy_escape(std::string_view text);

// Appends text escaped for COPY text format to out.
void append_copy_escaped(std::string& out, std::string_view text);

// Parses one COPY text field back (the inverse of write_copy_escaped; `\N` is not handled
// here — compare against kCopyNull first). Returns the unescaped text, for tests and tools.
std::string copy_unescape(std::string_view field);

}  // namespace folio::seed
