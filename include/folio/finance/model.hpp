// The finance domain as the services see it: revenue and expense entries, daily balances,
// reports and the values their queries take. Plain values, no database types.
//
// Conventions: amounts are integer cents (non-negative for entries); currencies are ISO-4217
// codes; times are UTC microseconds; a balance day is the UTC date of occurred_at; date
// ranges are inclusive UTC days [from, to].
//
// Thread-safety: values only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace folio::finance {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;
using Day = std::chrono::sys_days;

// Times the repositories accept and cursors carry: UTC years 1 to 9999.
bool is_supported_time(Timestamp t);

enum class EntryKind { revenue, expense };
std::string_view to_string(EntryKind kind);  // "revenue" / "expense"

// The categories the tables accept (their CHECK constraints).
const std::vector<std::string_view>& categories(EntryKind kind);
bool is_category(EntryKind kind, std::string_view category);

struct Entry {
  std::int64_t id = 0;
  std::int64_t org_id = 0;
  EntryKind kind = EntryKind::revenue;
  std::string category;
  std::int64_t amount_cents = 0;
  std::string currency;
  Timestamp occurred_at{};
  std::optional<std::string> description;
  std::optional<std::string> vendor;  // expenses only; always nullopt for revenues
  Timestamp created_at{};
  Timestamp updated_at{};
  bool operator==(const Entry&) const = default;
};

struct NewEntry {
  std::string category;
  std::int64_t amount_cents = 0;
  std::optional<std::string> currency;  // nullopt: the organization's currency
  Timestamp occurred_at{};
  std::optional<std::string> description;
  std::optional<std::string> vendor;  // expenses only
};

// Fields to change; an outer nullopt leaves the field alone, an inner one sets it NULL.
struct EntryPatch {
  std::optional<std::string> category;
  std::optional<std::int64_t> amount_cents;
  std::optional<std::string> currency;
  std::optional<Timestamp> occurred_at;
  std::optional<std::optional<std::string>> description;
  std::optional<std::optional<std::string>> vendor;
  bool empty() const {
    return !category && !amount_cents && !currency && !occurred_at && !description && !vendor;
  }
};

// Keyset position in a list ordered by (occurred_at, id): the last entry of a page.
struct Cursor {
  Timestamp occurred_at{};
  std::int64_t id = 0;
  bool operator==(const Cursor&) const = default;
};
// Opaque URL-safe text for a cursor, and back (nullopt when the text is not one).
std::string encode_cursor(const Cursor& cursor);
std::optional<Cursor> decode_cursor(std::string_view text);

struct EntryPage {
  std::vector<Entry> items;
  std::optional<Cursor> next;  // set when more entries follow
};

struct BalanceDay {
  Day date{};
  std::int64_t revenue_cents = 0;
  std::int64_t expense_cents = 0;
  std::int64_t net_cents = 0;
  bool operator==(const BalanceDay&) const = default;
};

enum class Granularity { day, month };
std::string_view to_string(Granularity granularity);

// One period of a profit-and-loss report; every period of the range is present (zeros when
// nothing happened). period_start is the day, or the first day of the month.
struct PnlRow {
  Day period_start{};
  std::int64_t revenue_cents = 0;
  std::int64_t expense_cents = 0;
  std::int64_t net_cents = 0;
  bool operator==(const PnlRow&) const = default;
};

struct CategoryRow {
  std::string category;
  std::int64_t amount_cents = 0;
  std::int64_t entries = 0;
  bool operator==(const CategoryRow&) const = default;
};

// A day of balance history: the day's net and the running balance at its end (the sum of
// all net amounts up to and including the day).
struct BalanceHistoryRow {
  Day date{};
  std::int64_t net_cents = 0;
  std::int64_t closing_cents = 0;
  bool operator==(const BalanceHistoryRow&) const = default;
};

// ---- errors the repositories throw (besides db::Error) ------------------------------------

// The organization does not exist (a create for an unknown org).
class OrgNotFound : public std::runtime_error {
 public:
  OrgNotFound() : std::runtime_error("organization not found") {}
};

// A value the database would refuse or that breaks a domain rule the repository checks
// (e.g. a currency other than the organization's). field() names the input field.
class InvalidValue : public std::runtime_error {
 public:
  InvalidValue(std::string field, const std::string& message)
      : std::runtime_error(message), field_(std::move(field)) {}
  const std::string& field() const noexcept { return field_; }

 private:
  std::string field_;
};

}  // namespace folio::finance
