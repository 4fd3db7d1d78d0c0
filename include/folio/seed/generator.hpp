// The deterministic seed-data generator: hospitality organizations with their revenues,
// expenses and daily balances, as PostgreSQL COPY text lines for the legacy tables
// (SPEC.md §1). It feeds `folioctl seed` and the bulk-load benchmark; it touches no database.
//
// Determinism: everything generated for organization index k is a function of
// (options, k) only — one PRNG stream per organization — so the organizations can be
// generated in any order, in chunks or on several threads, and concatenating the chunks in
// index order yields byte-identical output to one pass. The output is also identical across
// compilers and standard libraries (integer arithmetic only, no <random> distributions).
//
// What the rows look like:
// - organization ids first_org_id + k; names like "Harbor View Hotel 00042"; one currency
//   per organization, used by all its rows, and a timezone of that currency's region;
// - revenue and expense rows share one id space: organization k owns the contiguous block
//   [first_row_id + k * rows_per_org, first_row_id + (k+1) * rows_per_org), ids ascending
//   with occurred_at; about 65 % of the rows are revenues;
// - occurred_at falls in [first day of (until - months + 1), first day of (until + 1)) in
//   UTC, weighted by month (summer and December peaks) and weekday (weekend peak), at a
//   local time of day that follows business hours;
// - created_at is shortly after occurred_at, updated_at >= created_at, both clamped to the
//   window's end;
// - one balances row per (organization, UTC day) with at least one revenue or expense:
//   the sums of that day's amount_cents, net = revenue - expense, updated_at = the latest
//   updated_at of the day's rows. The balance day is the UTC date of occurred_at.
//
// Thread-safety: a Generator is immutable after construction; append_org may be called
// concurrently from many threads as long as each uses its own TableBuffers.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "folio/seed/random.hpp"

namespace folio::seed {

// Column lists in the order of the generated fields, for `COPY table (<columns>) FROM …`.
inline constexpr std::string_view kOrganizationColumns = "id, name, currency, timezone, created_at";
inline constexpr std::string_view kRevenueColumns =
    "id, org_id, category, amount_cents, currency, occurred_at, description, created_at, "
    "updated_at";
inline constexpr std::string_view kExpenseColumns =
    "id, org_id, category, amount_cents, currency, occurred_at, description, vendor, "
    "created_at, updated_at";
inline constexpr std::string_view kBalanceColumns =
    "org_id, balance_date, revenue_cents, expense_cents, net_cents, updated_at";

struct SeedOptions {
  std::int64_t orgs = 100;         // number of organizations
  int rows_per_org = 20;           // revenue + expense rows per organization
  int months = 12;                 // history length, 1..120
  std::uint64_t seed = 42;         // same seed and options: same bytes
  std::int64_t first_org_id = 1;   // organization ids first_org_id .. first_org_id + orgs - 1
  std::int64_t first_row_id = 1;   // first id of the shared revenue/expense id space
  std::chrono::year_month until =  // last month of history; callers usually pass the current
      std::chrono::year{2025} / std::chrono::December;  // month (see current_utc_month)
};

// Why the options cannot be used, or nullopt when they can: orgs >= 1, 0 <= rows_per_org <=
// 1,000,000, 1 <= months <= 120, ids >= 1 and the last id fits in bigint, until a valid
// month whose window lies within years 1980..9998.
[[nodiscard]] std::optional<std::string> validate(const SeedOptions& options);

// The current month in UTC, from the system clock (the one non-deterministic input, kept
// out of SeedOptions' defaults on purpose).
std::chrono::year_month current_utc_month();

struct RowCounts {
  std::int64_t organizations = 0;
  std::int64_t revenues = 0;
  std::int64_t expenses = 0;
  std::int64_t balances = 0;

  std::int64_t total() const { return organizations + revenues + expenses + balances; }
  RowCounts& operator+=(const RowCounts& other);
  friend bool operator==(const RowCounts&, const RowCounts&) = default;
};

// COPY text lines of the four tables, appended to by Generator. Reuse one across chunks
// (clear() keeps the capacity) so steady-state generation does not allocate.
struct TableBuffers {
  std::string organizations;
  std::string revenues;
  std::string expenses;
  std::string balances;
  RowCounts rows;  // lines currently held, per table

  // Working memory of Generator::append_org (one organization's timestamps), kept here so
  // that it is reused and owned by the same thread as the output. Not part of the output.
  std::vector<std::int64_t> scratch;

  void clear();
  std::size_t bytes() const {
    return organizations.size() + revenues.size() + expenses.size() + balances.size();
  }
};

class Generator {
 public:
  // Throws std::invalid_argument with the message of validate() when options are invalid.
  explicit Generator(SeedOptions options);

  const SeedOptions& options() const { return options_; }

  // Appends every row of organization index k (0-based; id first_org_id + k): one
  // organizations line, rows_per_org revenue/expense lines and its balances lines. Memory
  // use is bounded by rows_per_org, whatever k. REQUIRES: 0 <= k < options().orgs.
  void append_org(std::int64_t k, TableBuffers& out) const;

  // append_org for k in [begin, end). REQUIRES: 0 <= begin <= end <= options().orgs.
  void append_orgs(std::int64_t begin, std::int64_t end, TableBuffers& out) const;

  // orgs * rows_per_org: the revenue and expense lines of a full run together.
  std::int64_t total_rows() const { return options_.orgs * options_.rows_per_org; }

  // First id after the last generated revenue/expense id: what the shared sequence must be
  // advanced to (setval(seq, end_row_id() - 1)) before live writes start.
  std::int64_t end_row_id() const { return options_.first_row_id + total_rows(); }

  // [window_begin, window_end): the UTC instants occurred_at is drawn from.
  std::chrono::sys_seconds window_begin() const;
  std::chrono::sys_seconds window_end() const;

 private:
  struct OrgProfile;
  OrgProfile profile(std::int64_t k, Rng& rng) const;

  SeedOptions options_;
  std::int64_t first_day_ = 0;  // window_begin in days since 1970-01-01
  std::int64_t day_count_ = 0;
  std::vector<std::uint32_t> day_month_;  // per window day: calendar month index 0..11
  AliasTable day_table_;                  // window day, weighted by month and weekday
  AliasTable hour_table_;                 // local hour of day
  AliasTable currency_table_;
  AliasTable kind_table_;
  std::vector<AliasTable> revenue_category_tables_;  // per kind
  std::vector<AliasTable> expense_category_tables_;  // per kind
};

}  // namespace folio::seed
