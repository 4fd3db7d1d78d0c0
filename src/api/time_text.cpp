#include "folio/api/time_text.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace folio::api {

namespace {

using namespace std::chrono;

// Exactly `n` decimal digits at `text[pos]`.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t n) {
  if (pos + n > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// "YYYY-MM-DD" at the start of `text`.
std::optional<Day> parse_date_part(std::string_view text) {
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto y = digits(text, 0, 4);
  const auto m = digits(text, 5, 2);
  const auto d = digits(text, 8, 2);
  if (!y || !m || !d || *y < kMinYear || *y > kMaxYear) return std::nullopt;
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*m)},
                           day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd};
}

}  // namespace

std::string format_timestamp(Timestamp t) {
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> tod{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     tod.hours().count(), tod.minutes().count(), tod.seconds().count(),
                     tod.subseconds().count());
}

std::optional<Timestamp> parse_timestamp(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS  = 19 characters, then [.f{1,6}], then Z | ±HH:MM.
  if (text.size() < 20 || text[10] != 'T' || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const auto date = parse_date_part(text.substr(0, 10));
  const auto hh = digits(text, 11, 2);
  const auto mm = digits(text, 14, 2);
  const auto ss = digits(text, 17, 2);
  if (!date || !hh || !mm || !ss || *hh > 23 || *mm > 59 || *ss > 59) return std::nullopt;
  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (text[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++n > 6) return std::nullopt;
      micros = micros * 10 + (text[pos] - '0');
      ++pos;
    }
    if (n == 0) return std::nullopt;
    for (; n < 6; ++n) micros *= 10;
  }
  minutes offset{0};
  const auto zone = text.substr(pos);
  if (zone == "Z") {
    // UTC.
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    const auto oh = digits(zone, 1, 2);
    const auto om = digits(zone, 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
    offset = hours{*oh} + minutes{*om};
    if (zone[0] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  const Timestamp local = *date + hours{*hh} + minutes{*mm} + seconds{*ss} + microseconds{micros};
  const Timestamp utc = local - offset;
  // The offset may carry a time across the supported range's edges.
  const auto utc_year = static_cast<int>(year_month_day{floor<days>(utc)}.year());
  if (utc_year < kMinYear || utc_year > kMaxYear) return std::nullopt;
  return utc;
}

std::string format_day(Day day) {
  const year_month_day ymd{day};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

std::optional<Day> parse_day(std::string_view text) {
  if (text.size() != 10) return std::nullopt;
  return parse_date_part(text);
}

}  // namespace folio::api
