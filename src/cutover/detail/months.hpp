// Calendar months as the cutover names them: the month of a day, the current month (UTC),
// "2026-09" for people and logs, "2026-09-01" for SQL literals and manifests.
//
// Thread-safety: pure functions.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <string>

namespace folio::cutover::detail {

inline std::chrono::year_month to_month(std::chrono::sys_days day) {
  const std::chrono::year_month_day ymd{day};
  return ymd.year() / ymd.month();
}

inline std::chrono::year_month current_month() {
  return to_month(std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()));
}

inline std::string month_text(std::chrono::year_month m) {
  return fmt::format("{:04d}-{:02d}", static_cast<int>(m.year()), static_cast<unsigned>(m.month()));
}

inline std::string month_first_day(std::chrono::year_month m) { return month_text(m) + "-01"; }

}  // namespace folio::cutover::detail
