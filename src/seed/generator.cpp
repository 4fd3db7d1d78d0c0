#include "folio/seed/generator.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>
#include <limits>
#include <stdexcept>

#include "folio/seed/catalog.hpp"
#include "folio/seed/copy_text.hpp"

namespace folio::seed {
namespace {

using std::chrono::days;
using std::chrono::sys_days;

constexpr std::int64_t kSecondsPerHour = 3600;
constexpr std::int64_t kSecondsPerDay = 86400;
constexpr std::int64_t kMaxRowsPerOrg = 1'000'000;
constexpr int kMaxMonths = 120;
constexpr int kMinYear = 1980;  // org created_at reaches 10 years before the window
constexpr int kMaxYear = 9998;  // timestamps are written with four-digit years

// Catalog texts are copied verbatim; only the free-text notes go through the escaper.
static_assert(catalog_texts_are_escape_free(), "catalog texts are written without escaping");

// Upper bounds of one line of each table; lines are built in a stack buffer of this size.
constexpr std::size_t kMaxRowLine =
    4 * kMaxInt64Chars + 3 * kTimestampChars + max_category_chars() + 3 /* currency */ +
    kMaxEscapedFactor * max_description_chars() + max_vendor_chars() + 16 /* tabs, newline */;
constexpr std::size_t kMaxOrgLine = 2 * kMaxInt64Chars + max_org_name_words_chars() +
                                    3 /* currency */ + max_zone_chars() + kTimestampChars +
                                    16 /* spaces, tabs, newline */;
constexpr std::size_t kMaxBalanceLine = 6 * kMaxInt64Chars + kDateChars + kTimestampChars + 8;

char* put(char* out, std::string_view text) {
  std::memcpy(out, text.data(), text.size());
  return out + text.size();
}

char* put_tab(char* out) {
  *out = '\t';
  return out + 1;
}

void append_line(std::string& out, const char* begin, const char* end) {
  out.append(begin, static_cast<std::size_t>(end - begin));
}

// A log-normal multiplier (per mille) from a quantile table, interpolated.
std::uint32_t spread(Rng& rng, bool wide) {
  const auto& table = wide ? kWideSpread : kNarrowSpread;
  const auto r = static_cast<std::uint32_t>(rng.next() >> 32);
  const std::uint32_t i = r >> 26;  // 0..63
  const std::uint32_t frac = (r >> 10) & 0xffffU;
  return table[i] + (((table[i + 1] - table[i]) * frac) >> 16);
}

std::int64_t amount_cents(Rng& rng, const AmountShape& shape, std::uint32_t scale_per_mille,
                          std::uint32_t season_per_mille, const Currency& currency) {
  std::int64_t x = shape.median_eur_cents * scale_per_mille / 1000;
  x = x * spread(rng, shape.wide) / 1000;
  x = x * season_per_mille / 1000;
  x = x * currency.per_mille_of_eur / 1000;
  if (shape.whole_units || currency.whole_units) {
    return std::max<std::int64_t>(100, (x + 50) / 100 * 100);
  }
  return std::max<std::int64_t>(1, x);
}

char* write_description(char* out, Rng& rng, std::span<const DescriptionTemplate> templates) {
  const DescriptionTemplate& t = templates[rng.below(static_cast<std::uint32_t>(templates.size()))];
  out = put(out, t.head);
  if (t.hi > 0) out = write_int(out, rng.between(t.lo, t.hi));
  out = put(out, t.tail);
  if (rng.chance(5)) {
    constexpr auto kNotes = static_cast<std::uint32_t>(std::size(kDescriptionNotes));
    out = write_copy_escaped(out, kDescriptionNotes[rng.below(kNotes)]);
  }
  return out;
}

// Delay between occurred_at and created_at: mostly minutes to hours, sometimes days.
std::int64_t entry_delay(Rng& rng) {
  const std::uint32_t r = rng.below(100);
  if (r < 70) return rng.between(0, 2 * kSecondsPerHour);
  if (r < 95) return rng.between(2 * kSecondsPerHour, 2 * kSecondsPerDay);
  return rng.between(2 * kSecondsPerDay, 14 * kSecondsPerDay);
}

std::int64_t days_of(std::chrono::year_month ym) {
  return sys_days{ym / 1}.time_since_epoch().count();
}

}  // namespace

struct Generator::OrgProfile {
  std::int64_t id;
  const OrgKind* kind;
  std::uint32_t kind_index;
  const Currency* currency;
  const Timezone* zone;
  std::uint32_t scale_per_mille;
  std::uint32_t revenue_share_per_mille;
  std::int64_t created_at;
};

std::optional<std::string> validate(const SeedOptions& o) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  if (o.orgs < 1) return "seed: orgs must be at least 1 (got " + std::to_string(o.orgs) + ")";
  if (o.rows_per_org < 0 || o.rows_per_org > kMaxRowsPerOrg) {
    return "seed: rows_per_org must be in 0.." + std::to_string(kMaxRowsPerOrg) + " (got " +
           std::to_string(o.rows_per_org) + ")";
  }
  if (o.months < 1 || o.months > kMaxMonths) {
    return "seed: months must be in 1.." + std::to_string(kMaxMonths) + " (got " +
           std::to_string(o.months) + ")";
  }
  if (o.first_org_id < 1) {
    return "seed: first_org_id must be at least 1 (got " + std::to_string(o.first_org_id) + ")";
  }
  if (o.first_org_id - 1 > kMax - o.orgs)
    return std::string("seed: organization ids overflow bigint");
  if (o.first_row_id < 1) {
    return "seed: first_row_id must be at least 1 (got " + std::to_string(o.first_row_id) + ")";
  }
  if (o.rows_per_org > 0 && o.orgs > (kMax - o.first_row_id) / o.rows_per_org) {
    return std::string("seed: revenue/expense ids overflow bigint");
  }
  if (!o.until.ok()) return std::string("seed: until is not a valid year-month");
  const std::chrono::year_month first = o.until - std::chrono::months{o.months - 1};
  if (static_cast<int>(first.year()) < kMinYear || static_cast<int>(o.until.year()) > kMaxYear) {
    return "seed: the history window must lie within years " + std::to_string(kMinYear) + ".." +
           std::to_string(kMaxYear);
  }
  return std::nullopt;
}

std::chrono::year_month current_utc_month() {
  const std::chrono::year_month_day today{
      std::chrono::floor<days>(std::chrono::system_clock::now())};
  return today.year() / today.month();
}

RowCounts& RowCounts::operator+=(const RowCounts& other) {
  organizations += other.organizations;
  revenues += other.revenues;
  expenses += other.expenses;
  balances += other.balances;
  return *this;
}

void TableBuffers::clear() {
  organizations.clear();
  revenues.clear();
  expenses.clear();
  balances.clear();
  rows = RowCounts{};
}

Generator::Generator(SeedOptions options) : options_(options) {
  if (auto error = validate(options_)) throw std::invalid_argument(*error);

  first_day_ = days_of(options_.until - std::chrono::months{options_.months - 1});
  day_count_ = days_of(options_.until + std::chrono::months{1}) - first_day_;

  std::vector<std::uint32_t> day_weights(static_cast<std::size_t>(day_count_));
  day_month_.resize(static_cast<std::size_t>(day_count_));
  for (std::int64_t d = 0; d < day_count_; ++d) {
    const CivilDate date = civil_from_days(first_day_ + d);
    const auto weekday = static_cast<std::size_t>(((first_day_ + d) % 7 + 7 + 4) % 7);  // Thu
    const auto i = static_cast<std::size_t>(d);
    day_month_[i] = date.month - 1;
    day_weights[i] = kMonthFactor[date.month - 1] * kWeekdayFactor[weekday] / 1000;
  }
  day_table_ = AliasTable(day_weights);
  hour_table_ = AliasTable(kHourWeight);

  std::vector<std::uint32_t> weights;
  for (const auto& c : kCurrencies) weights.push_back(c.weight);
  currency_table_ = AliasTable(weights);
  weights.clear();
  for (const auto& k : kOrgKinds) weights.push_back(k.weight);
  kind_table_ = AliasTable(weights);
  for (const auto& k : kOrgKinds) {
    revenue_category_tables_.emplace_back(k.revenue_weights);
    expense_category_tables_.emplace_back(k.expense_weights);
  }
}

std::chrono::sys_seconds Generator::window_begin() const {
  return std::chrono::sys_seconds{std::chrono::seconds{first_day_ * kSecondsPerDay}};
}

std::chrono::sys_seconds Generator::window_end() const {
  return std::chrono::sys_seconds{std::chrono::seconds{(first_day_ + day_count_) * kSecondsPerDay}};
}

Generator::OrgProfile Generator::profile(std::int64_t k, Rng& rng) const {
  OrgProfile p{};
  p.id = options_.first_org_id + k;
  p.kind_index = kind_table_.sample(rng);
  p.kind = &kOrgKinds[p.kind_index];
  p.currency = &kCurrencies[currency_table_.sample(rng)];
  p.zone = &p.currency->zones[rng.below(static_cast<std::uint32_t>(p.currency->zones.size()))];
  p.scale_per_mille = p.kind->scale_per_mille * spread(rng, false) / 1000;
  p.revenue_share_per_mille = static_cast<std::uint32_t>(rng.between(600, 700));
  p.created_at =
      first_day_ * kSecondsPerDay - rng.between(30 * kSecondsPerDay, 3650 * kSecondsPerDay);
  return p;
}

void Generator::append_orgs(std::int64_t begin, std::int64_t end, TableBuffers& out) const {
  for (std::int64_t k = begin; k < end; ++k) append_org(k, out);
}

void Generator::append_org(std::int64_t k, TableBuffers& out) const {
  Rng rng = Rng::for_stream(options_.seed, static_cast<std::uint64_t>(k));
  const OrgProfile org = profile(k, rng);

  {  // organizations: id, name, currency, timezone, created_at
    std::array<char, kMaxOrgLine> line;
    char* p = line.data();
    p = write_int(p, org.id);
    p = put_tab(p);
    p = put(p, kNamePrefixes[rng.below(static_cast<std::uint32_t>(std::size(kNamePrefixes)))]);
    *p++ = ' ';
    p = put(p, kNameSuffixes[rng.below(static_cast<std::uint32_t>(std::size(kNameSuffixes)))]);
    *p++ = ' ';
    p = put(p, org.kind->word);
    *p++ = ' ';
    std::array<char, kMaxInt64Chars> digits;
    const char* digits_end = write_int(digits.data(), org.id);
    for (auto n = digits_end - digits.data(); n < 5; ++n) *p++ = '0';
    p = put(p,
            std::string_view(digits.data(), static_cast<std::size_t>(digits_end - digits.data())));
    p = put_tab(p);
    p = put(p, org.currency->code);
    p = put_tab(p);
    p = put(p, org.zone->name);
    p = put_tab(p);
    p = write_timestamp(p, org.created_at);
    *p++ = '\n';
    append_line(out.organizations, line.data(), p);
    ++out.rows.organizations;
  }

  // occurred_at first, sorted, so that ids ascend with time and balances group by day.
  const auto n = static_cast<std::size_t>(options_.rows_per_org);
  std::vector<std::int64_t>& times = out.scratch;
  times.resize(n);
  const std::int64_t offset = org.zone->utc_offset_seconds;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t day = first_day_ + day_table_.sample(rng);
    const std::int64_t local =
        std::int64_t{hour_table_.sample(rng)} * kSecondsPerHour + rng.below(3600);
    const std::int64_t utc = ((local - offset) % kSecondsPerDay + kSecondsPerDay) % kSecondsPerDay;
    times[i] = day * kSecondsPerDay + utc;
  }
  std::sort(times.begin(), times.end());

  const std::int64_t last_second = (first_day_ + day_count_) * kSecondsPerDay - 1;
  const std::string_view currency = org.currency->code;
  const std::size_t kind = org.kind_index;
  std::int64_t id = options_.first_row_id + k * options_.rows_per_org;

  std::int64_t balance_day = std::numeric_limits<std::int64_t>::min();
  std::int64_t revenue_sum = 0;
  std::int64_t expense_sum = 0;
  std::int64_t balance_updated = 0;
  auto flush_balance = [&] {
    std::array<char, kMaxBalanceLine> line;
    char* p = line.data();
    p = write_int(p, org.id);
    p = put_tab(p);
    p = write_date(p, balance_day);
    p = put_tab(p);
    p = write_int(p, revenue_sum);
    p = put_tab(p);
    p = write_int(p, expense_sum);
    p = put_tab(p);
    p = write_int(p, revenue_sum - expense_sum);
    p = put_tab(p);
    p = write_timestamp(p, balance_updated);
    *p++ = '\n';
    append_line(out.balances, line.data(), p);
    ++out.rows.balances;
  };

  std::array<char, kMaxRowLine> line;
  for (std::size_t i = 0; i < n; ++i, ++id) {
    const std::int64_t occurred = times[i];
    const std::int64_t day = occurred / kSecondsPerDay;  // window days are after 1970
    if (day != balance_day) {
      if (i > 0) flush_balance();
      balance_day = day;
      revenue_sum = 0;
      expense_sum = 0;
      balance_updated = 0;
    }

    const bool revenue = rng.chance(org.revenue_share_per_mille);
    std::size_t category;
    std::int64_t amount;
    if (revenue) {
      category = revenue_category_tables_[kind].sample(rng);
      const std::uint32_t season =
          kMonthFactor[day_month_[static_cast<std::size_t>(day - first_day_)]];
      amount =
          amount_cents(rng, kRevenueAmounts[category], org.scale_per_mille, season, *org.currency);
      revenue_sum += amount;
    } else {
      category = expense_category_tables_[kind].sample(rng);
      amount =
          amount_cents(rng, kExpenseAmounts[category], org.scale_per_mille, 1000, *org.currency);
      expense_sum += amount;
    }
    const std::int64_t created = std::min(occurred + entry_delay(rng), last_second);
    const std::int64_t updated =
        rng.chance(800) ? created
                        : std::min(created + rng.between(60, 30 * kSecondsPerDay), last_second);
    balance_updated = std::max(balance_updated, updated);

    char* p = line.data();
    p = write_int(p, id);
    p = put_tab(p);
    p = write_int(p, org.id);
    p = put_tab(p);
    p = put(p, revenue ? kRevenueCategories[category] : kExpenseCategories[category]);
    p = put_tab(p);
    p = write_int(p, amount);
    p = put_tab(p);
    p = put(p, currency);
    p = put_tab(p);
    p = write_timestamp(p, occurred);
    p = put_tab(p);
    if (rng.chance(revenue ? 800 : 850)) {
      p = write_description(
          p, rng, revenue ? kRevenueDescriptions[category] : kExpenseDescriptions[category]);
    } else {
      p = put(p, kCopyNull);
    }
    p = put_tab(p);
    if (!revenue) {
      if (rng.chance(880)) {
        const auto vendors = kVendors[category];
        p = put(p, vendors[rng.below(static_cast<std::uint32_t>(vendors.size()))]);
      } else {
        p = put(p, kCopyNull);
      }
      p = put_tab(p);
    }
    p = write_timestamp(p, created);
    p = put_tab(p);
    p = write_timestamp(p, updated);
    *p++ = '\n';
    if (revenue) {
      append_line(out.revenues, line.data(), p);
      ++out.rows.revenues;
    } else {
      append_line(out.expenses, line.data(), p);
      ++out.rows.expenses;
    }
  }
  if (n > 0) flush_balance();
}

}  // namespace folio::seed
