// The rows of one statement's result, decoded on demand into C++ types.
//
// A Result owns the libpq PGresult. Rows and fields are cheap views into it and must not
// outlive it. Decoding checks the column's PostgreSQL type against the requested C++ type
// (an int64 from a text column is a DecodeError, not a silent parse) and treats NULL as an
// error unless the requested type is std::optional<T>.
//
// A Result is move-only (it owns the PGresult); moving it invalidates its Rows and Fields.
//
// Thread-safety: a Result is immutable after construction; const access from several threads
// is safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct pg_result;

namespace folio::db {

// PostgreSQL type oids folio decodes.
namespace oid {
inline constexpr unsigned kBool = 16;
inline constexpr unsigned kBytea = 17;
inline constexpr unsigned kName = 19;
inline constexpr unsigned kInt8 = 20;
inline constexpr unsigned kInt2 = 21;
inline constexpr unsigned kInt4 = 23;
inline constexpr unsigned kText = 25;
inline constexpr unsigned kOid = 26;
inline constexpr unsigned kJson = 114;
inline constexpr unsigned kFloat4 = 700;
inline constexpr unsigned kFloat8 = 701;
inline constexpr unsigned kBpchar = 1042;
inline constexpr unsigned kVarchar = 1043;
inline constexpr unsigned kDate = 1082;
inline constexpr unsigned kTimestamp = 1114;
inline constexpr unsigned kTimestamptz = 1184;
inline constexpr unsigned kNumeric = 1700;
inline constexpr unsigned kPgLsn = 3220;
inline constexpr unsigned kJsonb = 3802;
}  // namespace oid

class Result;

class Field {
 public:
  Field(const Result& result, int row, int column) : result_(&result), row_(row), column_(column) {}

  bool is_null() const;
  std::string_view raw() const;  // text form; "" for NULL
  unsigned type_oid() const;
  std::string_view name() const;

  // REQUIRES: T is one of int16_t, int32_t, int64_t, double, bool, std::string,
  // std::string_view, std::chrono::sys_days, std::chrono::sys_time<microseconds>,
  // or std::optional of those. Throws DecodeError on NULL (non-optional) or type mismatch.
  template <typename T>
  T as() const;

 private:
  const Result* result_;
  int row_;
  int column_;
};

class Row {
 public:
  Row(const Result& result, int row) : result_(&result), row_(row) {}

  Field operator[](int column) const;
  Field operator[](std::string_view column_name) const;  // throws DecodeError if absent

  template <typename T>
  T get(int column) const {
    return (*this)[column].template as<T>();
  }
  template <typename T>
  T get(std::string_view column_name) const {
    return (*this)[column_name].template as<T>();
  }

 private:
  const Result* result_;
  int row_;
};

class Result {
 public:
  Result() = default;
  explicit Result(pg_result* res) noexcept;

  std::size_t size() const noexcept;  // number of rows
  bool empty() const noexcept { return size() == 0; }
  int columns() const noexcept;
  // Rows affected by INSERT/UPDATE/DELETE/COPY/...; 0 when the command reports none.
  std::int64_t affected_rows() const;
  std::string_view command_tag() const;

  Row operator[](std::size_t row) const { return Row(*this, static_cast<int>(row)); }
  Row front() const;  // throws DecodeError when there is no row

  // The single value of a one-row, one-column result; throws DecodeError otherwise.
  template <typename T>
  T scalar() const {
    if (size() != 1 || columns() != 1) throw_shape_error();
    return (*this)[0][0].template as<T>();
  }

  class iterator {
   public:
    using value_type = Row;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const Result* r, std::size_t i) : r_(r), i_(i) {}
    Row operator*() const { return (*r_)[i_]; }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    iterator operator++(int) {
      auto old = *this;
      ++i_;
      return old;
    }
    bool operator==(const iterator& o) const { return i_ == o.i_; }

   private:
    const Result* r_ = nullptr;
    std::size_t i_ = 0;
  };
  iterator begin() const { return iterator(this, 0); }
  iterator end() const { return iterator(this, size()); }

  pg_result* native() const noexcept { return res_.get(); }

 private:
  [[noreturn]] void throw_shape_error() const;

  struct Deleter {
    void operator()(pg_result* r) const noexcept;
  };
  std::unique_ptr<pg_result, Deleter> res_;
};

// Decoders live in result.cpp; these declarations keep every use on the same definitions.
#define FOLIO_DB_DECLARE_AS(T) \
  template <>                  \
  T Field::as<T>() const;      \
  template <>                  \
  std::optional<T> Field::as<std::optional<T>>() const;
FOLIO_DB_DECLARE_AS(std::int64_t)
FOLIO_DB_DECLARE_AS(std::int32_t)
FOLIO_DB_DECLARE_AS(std::int16_t)
FOLIO_DB_DECLARE_AS(double)
FOLIO_DB_DECLARE_AS(bool)
FOLIO_DB_DECLARE_AS(std::string)
FOLIO_DB_DECLARE_AS(std::chrono::sys_days)
FOLIO_DB_DECLARE_AS(std::chrono::sys_time<std::chrono::microseconds>)
#undef FOLIO_DB_DECLARE_AS
template <>
std::string_view Field::as<std::string_view>() const;
template <>
std::uint64_t Field::as<std::uint64_t>() const;

}  // namespace folio::db
