// The API's time and date text: RFC 3339 timestamps in, a fixed UTC form out, and
// YYYY-MM-DD days.
//
//   format_timestamp(t)  -> "2026-03-01T09:30:00.000000Z" (always UTC, microseconds)
//   parse_timestamp(s)   <- "2026-03-01T10:30:00+01:00", "2026-03-01T09:30:00Z",
//                           "2026-03-01T09:30:00.25Z" (at most 6 fraction digits)
//   format_day / parse_day: "2026-03-01"
//
// Parsing is strict: exactly these shapes ('T' and 'Z' upper case), real calendar dates
// (no 2026-02-30), hours 00-23, minutes and seconds 00-59 (no leap second), offsets up to
// ±23:59, and years kMinYear..kMaxYear. Anything else is nullopt.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace folio::api {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;
using Day = std::chrono::sys_days;

inline constexpr int kMinYear = 1970;
inline constexpr int kMaxYear = 9999;

std::string format_timestamp(Timestamp t);
std::optional<Timestamp> parse_timestamp(std::string_view text);

std::string format_day(Day day);
std::optional<Day> parse_day(std::string_view text);

}  // namespace folio::api
