#include "folio/db/params.hpp"

#include <cstdio>

namespace folio::db {

void Params::add(double v) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  values_.emplace_back(std::string(buf, res.ptr));
}

void Params::add(std::chrono::sys_days day) { values_.emplace_back(format_date(day)); }

void Params::add(std::chrono::sys_time<std::chrono::microseconds> t) {
  values_.emplace_back(format_timestamp(t));
}

std::string format_date(std::chrono::sys_days day) {
  const std::chrono::year_month_day ymd(day);
  char buf[16];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                              static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string format_timestamp(std::chrono::sys_time<std::chrono::microseconds> t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const hh_mm_ss<microseconds> tod(t - day);
  const year_month_day ymd(day);
  char buf[48];
  const int n = std::snprintf(
      buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d.%06lld+00", static_cast<int>(ymd.year()),
      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
      static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
      static_cast<int>(tod.seconds().count()), static_cast<long long>(tod.subseconds().count()));
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace folio::db
