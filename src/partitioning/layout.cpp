#include "folio/partitioning/layout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "folio/partitioning/hash.hpp"

namespace folio::partitioning {

namespace asio = boost::asio;

namespace {

// PostgreSQL's hash_uint32_extended (src/common/hashfn.c, Bob Jenkins' lookup3 mix/final).
constexpr std::uint32_t rot(std::uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

constexpr void mix(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c) {
  a -= c;
  a ^= rot(c, 4);
  c += b;
  b -= a;
  b ^= rot(a, 6);
  a += c;
  c -= b;
  c ^= rot(b, 8);
  b += a;
  a -= c;
  a ^= rot(c, 16);
  c += b;
  b -= a;
  b ^= rot(a, 19);
  a += c;
  c -= b;
  c ^= rot(b, 4);
  b += a;
}

constexpr void final_mix(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c) {
  c ^= b;
  c -= rot(b, 14);
  a ^= c;
  a -= rot(c, 11);
  b ^= a;
  b -= rot(a, 25);
  c ^= b;
  c -= rot(b, 16);
  a ^= c;
  a -= rot(c, 4);
  b ^= a;
  b -= rot(a, 14);
  c ^= b;
  c -= rot(b, 24);
}

constexpr std::uint64_t hash_uint32_extended(std::uint32_t k, std::uint64_t seed) {
  std::uint32_t a = 0x9e3779b9U + static_cast<std::uint32_t>(sizeof(std::uint32_t)) + 3923095U;
  std::uint32_t b = a;
  std::uint32_t c = a;
  if (seed != 0) {
    a += static_cast<std::uint32_t>(seed >> 32);
    b += static_cast<std::uint32_t>(seed);
    mix(a, b, c);
  }
  a += k;
  final_mix(a, b, c);
  return (static_cast<std::uint64_t>(b) << 32) | c;
}

// hashint8extended (src/backend/access/hash/hashfunc.c): the two halves folded so that a
// value hashes like the same number as int4 when it fits.
constexpr std::uint64_t hashint8extended(std::int64_t value, std::uint64_t seed) {
  auto lo = static_cast<std::uint32_t>(static_cast<std::uint64_t>(value));
  const auto hi = static_cast<std::uint32_t>(static_cast<std::uint64_t>(value) >> 32);
  lo ^= value >= 0 ? hi : ~hi;
  return hash_uint32_extended(lo, seed);
}

constexpr std::string_view kModulusTag = "hash_modulus=";
constexpr std::array kAllTables = {Table::revenues, Table::expenses, Table::balances};

bool by_date(Table table) { return table == Table::balances; }
std::string_view time_column(Table table) {
  return by_date(table) ? "balance_date" : "occurred_at";
}

// The first instant of `month` as a literal of the table's time type (midnight UTC).
std::string bound(Table table, Month month) {
  const auto day = fmt::format("{:04d}-{:02d}-01", static_cast<int>(month.year()),
                               static_cast<unsigned>(month.month()));
  return by_date(table) ? "'" + day + "'" : "'" + day + " 00:00:00+00'";
}

}  // namespace

int hash_remainder(std::int64_t key, int modulus) {
  if (modulus < 1) throw std::invalid_argument("hash modulus must be at least 1");
  const std::uint64_t row_hash = hashint8extended(key, kHashPartitionSeed) + kHashCombine;
  return static_cast<int>(row_hash % static_cast<std::uint64_t>(modulus));
}

std::string month_partition_name(std::string_view parent, Month month) {
  return fmt::format("{}_y{:04d}m{:02d}", parent, static_cast<int>(month.year()),
                     static_cast<unsigned>(month.month()));
}

std::string leaf_partition_name(std::string_view parent, Month month, int remainder) {
  return fmt::format("{}_h{:02d}", month_partition_name(parent, month), remainder);
}

Month month_of(std::chrono::sys_days day) {
  const std::chrono::year_month_day ymd{day};
  return ymd.year() / ymd.month();
}

Month month_of(std::chrono::sys_time<std::chrono::microseconds> time) {
  return month_of(std::chrono::floor<std::chrono::days>(time));
}

bool PartitionLayout::has_month(Table table, Month month) const {
  const auto& known = months[static_cast<std::size_t>(table)];
  return std::binary_search(known.begin(), known.end(), month);
}

std::string PartitionLayout::source(Table table, std::int64_t org, Month first, Month last) const {
  const std::string_view parent = physical_name(table, Target::partitioned);
  if (hash_modulus < 1) return std::string(parent);
  const int remainder = hash_remainder(org, hash_modulus);
  const auto& known = months[static_cast<std::size_t>(table)];
  if (first == last && has_month(table, first)) {
    return leaf_partition_name(parent, first, remainder);
  }
  // Known months inside the range each get their leaf; every run of unknown months between
  // them (and beyond them) one arm through the parent, bounded to the run.
  std::vector<std::string> arms;
  Month next = first;  // the first month not covered yet
  const auto add_parent_run = [&](Month run_first, Month run_last) {
    if (run_last < run_first) return;
    arms.push_back(fmt::format("SELECT * FROM {0} WHERE {1} >= {2} AND {1} < {3}", parent,
                               time_column(table), bound(table, run_first),
                               bound(table, run_last + std::chrono::months{1})));
  };
  for (auto it = std::lower_bound(known.begin(), known.end(), first);
       it != known.end() && *it <= last; ++it) {
    add_parent_run(next, *it - std::chrono::months{1});
    arms.push_back("SELECT * FROM " + leaf_partition_name(parent, *it, remainder));
    next = *it + std::chrono::months{1};
  }
  add_parent_run(next, last);
  if (arms.size() == 1 && arms.front().find(" WHERE ") != std::string::npos) {
    // Nothing known in the range: the parent alone, which the planner prunes.
    return std::string(parent);
  }
  std::string out = "(";
  for (std::size_t i = 0; i < arms.size(); ++i) {
    if (i > 0) out += " UNION ALL ";
    out += arms[i];
  }
  return out + ")";
}

std::string PartitionLayout::target(Table table, std::int64_t org, Month month) const {
  const std::string_view parent = physical_name(table, Target::partitioned);
  if (hash_modulus < 1 || !has_month(table, month)) return std::string(parent);
  return leaf_partition_name(parent, month, hash_remainder(org, hash_modulus));
}

asio::awaitable<PartitionLayout> load_layout(db::Pool& pool) {
  PartitionLayout layout;
  std::vector<std::string> parents;
  for (const Table t : kAllTables) parents.emplace_back(physical_name(t, Target::partitioned));
  auto conn = co_await pool.acquire();
  const auto comment = co_await conn->execute("SELECT obj_description(to_regclass($1), 'pg_class')",
                                              db::Params::of(parents.front()));
  const auto text = comment.front().get<std::optional<std::string>>(0);
  if (!text) co_return layout;
  const auto at = text->find(kModulusTag);
  if (at == std::string::npos) co_return layout;
  layout.hash_modulus = std::stoi(text->substr(at + kModulusTag.size()));
  const auto rows = co_await conn->execute(
      "SELECT p.n, m[1]::int, m[2]::int"
      " FROM unnest($1::text[]) WITH ORDINALITY p (n, k)"
      " JOIN pg_inherits i ON i.inhparent = to_regclass(p.n)"
      " JOIN pg_class c ON c.oid = i.inhrelid,"
      " regexp_match(c.relname, '_y(\\d{4})m(\\d{2})$') m"
      " WHERE c.relkind = 'p' ORDER BY p.k, 2, 3",
      db::Params::of(fmt::format("{{{}}}", fmt::join(parents, ","))));
  for (const db::Row row : rows) {
    const auto name = row.get<std::string>(0);
    const auto idx =
        static_cast<std::size_t>(std::find(parents.begin(), parents.end(), name) - parents.begin());
    if (idx >= layout.months.size()) continue;
    layout.months[idx].push_back(
        std::chrono::year{row.get<std::int32_t>(1)} /
        std::chrono::month{static_cast<unsigned>(row.get<std::int32_t>(2))});
  }
  co_return layout;
}

}  // namespace folio::partitioning
