// Query parameters: values sent beside an SQL text ($1, $2, ...) in PostgreSQL's text format,
// never spliced into the SQL string.
//
// Supported C++ types: integers, bool, double, std::string / std::string_view / const char*,
// std::chrono::sys_days (date), std::chrono::sys_time<> (timestamptz, UTC), std::nullopt /
// nullptr (NULL) and std::optional<T> of any of these.
//
// Thread-safety: a Params is a plain value; not safe for concurrent mutation.
#pragma once

#include <charconv>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace folio::db {

class Params {
 public:
  Params() = default;

  template <typename... Args>
  static Params of(const Args&... args) {
    Params p;
    p.values_.reserve(sizeof...(Args));
    (p.add(args), ...);
    return p;
  }

  void add_null() { values_.emplace_back(std::nullopt); }
  void add(std::nullptr_t) { add_null(); }
  void add(std::nullopt_t) { add_null(); }
  void add(bool v) { values_.emplace_back(v ? "t" : "f"); }
  void add(std::string_view v) { values_.emplace_back(std::string(v)); }
  void add(const std::string& v) { values_.emplace_back(v); }
  void add(const char* v) { values_.emplace_back(std::string(v)); }
  void add(double v);
  void add(std::chrono::sys_days day);
  void add(std::chrono::sys_time<std::chrono::microseconds> t);

  template <std::integral T>
  requires(!std::same_as<T, bool>) void add(T v) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    values_.emplace_back(std::string(buf, res.ptr));
  }
  template <typename T>
  void add(const std::optional<T>& v) {
    if (v) {
      add(*v);
    } else {
      add_null();
    }
  }
  template <typename Duration>
  requires(!std::same_as<Duration, std::chrono::microseconds> &&
           !std::same_as<Duration, std::chrono::days>) void add(std::chrono::sys_time<Duration> t) {
    add(std::chrono::time_point_cast<std::chrono::microseconds>(t));
  }

  std::size_t size() const noexcept { return values_.size(); }
  const std::vector<std::optional<std::string>>& values() const noexcept { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

// Formats a UTC timestamp as PostgreSQL accepts it: "2026-03-14 09:21:07.123456+00".
std::string format_timestamp(std::chrono::sys_time<std::chrono::microseconds> t);
// Formats a date as "2026-03-14".
std::string format_date(std::chrono::sys_days day);

}  // namespace folio::db
