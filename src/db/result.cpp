#include "folio/db/result.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "folio/db/errors.hpp"

namespace folio::db {

namespace {

[[noreturn]] void decode_error(const Field& f, std::string_view wanted, std::string_view why) {
  throw DecodeError("", "cannot decode column '" + std::string(f.name()) + "' (type oid " +
                            std::to_string(f.type_oid()) + ") as " + std::string(wanted) + ": " +
                            std::string(why));
}

void require_not_null(const Field& f, std::string_view wanted) {
  if (f.is_null()) decode_error(f, wanted, "value is NULL (decode into std::optional)");
}

template <typename Int>
Int decode_int(const Field& f, std::string_view wanted) {
  require_not_null(f, wanted);
  const unsigned t = f.type_oid();
  if (t != oid::kInt2 && t != oid::kInt4 && t != oid::kInt8 && t != oid::kOid &&
      t != oid::kNumeric) {
    decode_error(f, wanted, "not an integer column");
  }
  const auto s = f.raw();
  Int v{};
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size()) {
    decode_error(f, wanted, "value '" + std::string(s) + "' out of range or not integral");
  }
  return v;
}

// Parses the leading "YYYY-MM-DD" of a date or timestamp in ISO DateStyle.
std::chrono::sys_days parse_day(const Field& f, std::string_view s) {
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' ||
      std::from_chars(s.data(), s.data() + 4, y).ec != std::errc() ||
      std::from_chars(s.data() + 5, s.data() + 7, m).ec != std::errc() ||
      std::from_chars(s.data() + 8, s.data() + 10, d).ec != std::errc()) {
    decode_error(f, "date", "unexpected format '" + std::string(s) + "' (DateStyle must be ISO)");
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m),
                                        std::chrono::day(d)};
  if (!ymd.ok()) decode_error(f, "date", "invalid date '" + std::string(s) + "'");
  return std::chrono::sys_days(ymd);
}

}  // namespace

void Result::Deleter::operator()(pg_result* r) const noexcept { PQclear(r); }

Result::Result(pg_result* res) noexcept : res_(res) {}

std::size_t Result::size() const noexcept {
  return res_ ? static_cast<std::size_t>(PQntuples(res_.get())) : 0;
}

int Result::columns() const noexcept { return res_ ? PQnfields(res_.get()) : 0; }

std::int64_t Result::affected_rows() const {
  if (!res_) return 0;
  const char* s = PQcmdTuples(res_.get());
  if (s == nullptr || *s == '\0') return 0;
  return std::strtoll(s, nullptr, 10);
}

std::string_view Result::command_tag() const {
  if (!res_) return {};
  const char* s = PQcmdStatus(res_.get());
  return s == nullptr ? std::string_view() : std::string_view(s);
}

Row Result::front() const {
  if (empty()) throw DecodeError("", "the query returned no row");
  return (*this)[0];
}

void Result::throw_shape_error() const {
  throw DecodeError("", "expected exactly one row and one column, got " + std::to_string(size()) +
                            " rows and " + std::to_string(columns()) + " columns");
}

Field Row::operator[](int column) const {
  if (column < 0 || column >= result_->columns()) {
    throw DecodeError("", "column index " + std::to_string(column) + " out of range");
  }
  return Field(*result_, row_, column);
}

Field Row::operator[](std::string_view column_name) const {
  const std::string name(column_name);
  const int c = PQfnumber(result_->native(), ("\"" + name + "\"").c_str());
  if (c < 0) throw DecodeError("", "no column named '" + name + "' in the result");
  return Field(*result_, row_, c);
}

bool Field::is_null() const { return PQgetisnull(result_->native(), row_, column_) != 0; }

std::string_view Field::raw() const {
  return std::string_view(PQgetvalue(result_->native(), row_, column_),
                          static_cast<std::size_t>(PQgetlength(result_->native(), row_, column_)));
}

unsigned Field::type_oid() const { return PQftype(result_->native(), column_); }

std::string_view Field::name() const { return PQfname(result_->native(), column_); }

template <>
std::int64_t Field::as<std::int64_t>() const {
  return decode_int<std::int64_t>(*this, "int64");
}
template <>
std::int32_t Field::as<std::int32_t>() const {
  return decode_int<std::int32_t>(*this, "int32");
}
template <>
std::int16_t Field::as<std::int16_t>() const {
  return decode_int<std::int16_t>(*this, "int16");
}
template <>
std::uint64_t Field::as<std::uint64_t>() const {
  return decode_int<std::uint64_t>(*this, "uint64");
}

template <>
double Field::as<double>() const {
  require_not_null(*this, "double");
  const unsigned t = type_oid();
  if (t != oid::kFloat4 && t != oid::kFloat8 && t != oid::kNumeric && t != oid::kInt2 &&
      t != oid::kInt4 && t != oid::kInt8) {
    decode_error(*this, "double", "not a numeric column");
  }
  const auto s = raw();
  double v = 0;
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (res.ec != std::errc()) decode_error(*this, "double", "bad number '" + std::string(s) + "'");
  return v;
}

template <>
bool Field::as<bool>() const {
  require_not_null(*this, "bool");
  if (type_oid() != oid::kBool) decode_error(*this, "bool", "not a boolean column");
  return raw() == "t";
}

template <>
std::string_view Field::as<std::string_view>() const {
  require_not_null(*this, "string");
  return raw();
}

template <>
std::string Field::as<std::string>() const {
  require_not_null(*this, "string");
  return std::string(raw());
}

template <>
std::chrono::sys_days Field::as<std::chrono::sys_days>() const {
  require_not_null(*this, "date");
  if (type_oid() != oid::kDate) decode_error(*this, "date", "not a date column");
  return parse_day(*this, raw());
}

template <>
std::chrono::sys_time<std::chrono::microseconds>
Field::as<std::chrono::sys_time<std::chrono::microseconds>>() const {
  using namespace std::chrono;
  require_not_null(*this, "timestamptz");
  if (type_oid() != oid::kTimestamptz && type_oid() != oid::kTimestamp) {
    decode_error(*this, "timestamptz", "not a timestamp column");
  }
  // ISO DateStyle: "2026-03-14 09:21:07.123456+00" (offset may be +HH, +HH:MM; absent for
  // timestamp without time zone).
  const auto s = raw();
  const sys_days day = parse_day(*this, s);
  int hh = 0;
  int mm = 0;
  int ss = 0;
  if (s.size() < 19 || std::from_chars(s.data() + 11, s.data() + 13, hh).ec != std::errc() ||
      std::from_chars(s.data() + 14, s.data() + 16, mm).ec != std::errc() ||
      std::from_chars(s.data() + 17, s.data() + 19, ss).ec != std::errc()) {
    decode_error(*this, "timestamptz", "unexpected format '" + std::string(s) + "'");
  }
  std::size_t i = 19;
  long long micros = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 6) {
        micros = micros * 10 + (s[i] - '0');
        ++digits;
      }
      ++i;
    }
    for (; digits < 6; ++digits) micros *= 10;
  }
  // Offset: +HH, +HH:MM or +HH:MM:SS.
  long long offset_seconds = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const long long sign = s[i] == '-' ? -1 : 1;
    long long unit = 3600;
    for (std::size_t p = i + 1; p + 2 <= s.size() && unit >= 1; p += 3, unit /= 60) {
      int part = 0;
      std::from_chars(s.data() + p, s.data() + p + 2, part);
      offset_seconds += part * unit;
      if (p + 2 >= s.size() || s[p + 2] != ':') break;
    }
    offset_seconds *= sign;
  }
  return time_point_cast<microseconds>(day) + hours(hh) + minutes(mm) + seconds(ss) +
         microseconds(micros) - seconds(offset_seconds);
}

// std::optional<T>: NULL becomes nullopt.
#define FOLIO_DB_OPTIONAL_AS(T)                          \
  template <>                                            \
  std::optional<T> Field::as<std::optional<T>>() const { \
    if (is_null()) return std::nullopt;                  \
    return as<T>();                                      \
  }
FOLIO_DB_OPTIONAL_AS(std::int64_t)
FOLIO_DB_OPTIONAL_AS(std::int32_t)
FOLIO_DB_OPTIONAL_AS(std::int16_t)
FOLIO_DB_OPTIONAL_AS(double)
FOLIO_DB_OPTIONAL_AS(bool)
FOLIO_DB_OPTIONAL_AS(std::string)
FOLIO_DB_OPTIONAL_AS(std::chrono::sys_days)
FOLIO_DB_OPTIONAL_AS(std::chrono::sys_time<std::chrono::microseconds>)
#undef FOLIO_DB_OPTIONAL_AS

}  // namespace folio::db
