#include "verify_sql.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace folio::cutover::detail {

Checksum parse_checksum(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty() || text.size() > 38) {
    throw std::invalid_argument("checksum out of range: '" + std::string(text) + "'");
  }
  Checksum value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') throw std::invalid_argument("bad checksum '" + std::string(text) + "'");
    value = value * 10 + (c - '0');
  }
  return negative ? -value : value;
}

std::string format_checksum(Checksum value) {
  if (value == 0) return "0";
  const bool negative = value < 0;
  // Work on the magnitude as unsigned so that the most negative value formats too.
  auto magnitude = negative ? static_cast<unsigned __int128>(-(value + 1)) + 1
                            : static_cast<unsigned __int128>(value);
  std::string digits;
  while (magnitude > 0) {
    digits.push_back(static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  }
  if (negative) digits.push_back('-');
  std::reverse(digits.begin(), digits.end());
  return digits;
}

Cell cell_of_key(std::int64_t key) {
  // Floor division: days before 1970 are negative.
  std::int64_t days = key / kCellFactor;
  if (key % kCellFactor < 0) --days;
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  return Cell{ymd.year() / ymd.month(), static_cast<int>(key - days * kCellFactor)};
}

TimeWindow month_window(std::chrono::year_month month, std::optional<std::chrono::sys_days> since) {
  TimeWindow w{std::chrono::sys_days{month / 1},
               std::chrono::sys_days{(month + std::chrono::months{1}) / 1}};
  if (since && *since > w.from) w.from = *since;
  return w;
}

void add_time_bound(db::Params& params, const TableSpec& spec, std::chrono::sys_days day) {
  if (spec.time_type == "date") {
    params.add(day);
  } else {
    params.add(std::chrono::sys_time<std::chrono::microseconds>(day));
  }
}

std::string int_array(std::span<const std::int64_t> values) {
  return fmt::format("{{{}}}", fmt::join(values, ","));
}

std::string date_array(std::span<const std::chrono::sys_days> values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += db::format_date(values[i]);
  }
  return out + "}";
}

VerifySql::VerifySql(const TableSpec& spec, int hash_modulus, bool with_since) : spec_(&spec) {
  const std::string hash = row_hash_sql("t");
  const std::string bucket = hash_bucket_sql("t.org_id", hash_modulus);
  const std::string month = month_sql(spec, "t");
  const auto time = spec.time_column;
  const auto type = spec.time_type;
  const bool by_id = spec.keyed_by_id();
  // The bucket a row belongs to, restricted to one month and an org range: the same filter
  // for bisection probes and the row comparison, so they see exactly the rows of the bucket.
  const auto bucket_filter = [&](int from, int to, int bucket_param) {
    return fmt::format(
        "t.org_id BETWEEN $1 AND $2 AND t.{0} >= ${1}::{2} AND t.{0} < ${3}::{2} AND {4} = ${5}",
        time, from, type, to, bucket, bucket_param);
  };
  for (const Side side : {Side::legacy, Side::partitioned}) {
    const auto table = spec.table(side);
    const int i = index(side);
    // One integer group key per row is markedly cheaper to aggregate than (date, bucket).
    // The partitioned side needs no per-row computation at all: its leaf is its (month,
    // bucket), by the partition constraints.
    const std::string since_filter =
        with_since ? fmt::format(" AND t.{} >= $3::{}", time, type) : std::string();
    // A date column is keyed by its day (an integer subtraction; the days of a month fold
    // into its cell when read), a timestamptz one by month_sql.
    const std::string day =
        spec.time_type == "date" ? fmt::format("t.{}", time) : fmt::format("({})", month);
    chunk_[i] =
        side == Side::legacy
            ? fmt::format(
                  "SELECT ({0} - DATE '1970-01-01')::int8 * {1} + {2} AS cell, count(*) AS rows, "
                  "sum({3})::text AS checksum FROM {4} t WHERE t.org_id BETWEEN $1 AND $2{5} "
                  "GROUP BY 1",
                  day, kCellFactor, bucket, hash, table, since_filter)
            // A row of the DEFAULT partition (its month has no partition yet) is keyed by
            // its cell like a legacy row, negated below -1 so it cannot meet a leaf's oid.
            : fmt::format(
                  "SELECT CASE WHEN t.tableoid = '{1}_default'::regclass "
                  "THEN -1 - (({3} - DATE '1970-01-01')::int8 * {4} + {5}) "
                  "ELSE t.tableoid::int8 END AS leaf, count(*) AS rows, "
                  "sum({0})::text AS checksum "
                  "FROM {1} t WHERE t.org_id BETWEEN $1 AND $2{2} GROUP BY 1",
                  hash, table, since_filter, day, kCellFactor, bucket);
    chunk_total_[i] = fmt::format(
        "SELECT count(*) AS rows, coalesce(sum({0}), 0)::text AS checksum FROM {1} t "
        "WHERE t.org_id BETWEEN $1 AND $2{2}",
        hash, table, since_filter);
    probe_[i] = fmt::format(
        "SELECT (t.org_id > $3)::int AS half, count(*) AS rows, sum({0})::text AS checksum "
        "FROM {1} t WHERE t.org_id BETWEEN $1 AND $2 AND t.{2} >= $4::{3} AND t.{2} < $5::{3} "
        "AND {4} = $6 GROUP BY 1",
        hash, table, time, type, bucket);
    if (by_id) {
      lookup_[i] = side == Side::legacy
                       ? fmt::format(
                             "SELECT t.id, NULL::date, t.org_id, {} FROM {} t "
                             "WHERE t.id = ANY ($1::bigint[])",
                             hash, table)
                       : fmt::format(
                             "SELECT t.id, NULL::date, t.org_id, {} FROM {} t "
                             "WHERE t.org_id = ANY ($1::bigint[]) AND t.id = ANY ($2::bigint[])",
                             hash, table);
    } else {
      lookup_[i] = fmt::format(
          "SELECT t.org_id, t.{0}, t.org_id, {1} FROM {2} t "
          "WHERE t.org_id = ANY ($1::bigint[]) AND t.{0} = ANY ($2::date[])",
          time, hash, table);
    }
  }
  const std::string keys =
      by_id ? "t.id AS k1, NULL::date AS k2" : fmt::format("t.org_id AS k1, t.{} AS k2", time);
  const std::string join = by_id ? "p.k1 = l.k1" : "p.k1 = l.k1 AND p.k2 = l.k2";
  leaf_diff_ = fmt::format(
      "WITH l AS (SELECT {0}, t.org_id AS org, {1} AS h FROM {2} t WHERE {4}), "
      "p AS (SELECT {0}, t.org_id AS org, {1} AS h FROM {3} t WHERE {4}) "
      "SELECT coalesce(l.k1, p.k1), coalesce(l.k2, p.k2), l.org, p.org "
      "FROM l FULL JOIN p ON {5} WHERE l.h IS DISTINCT FROM p.h "
      "ORDER BY 1, 2 LIMIT $6",
      keys, hash, spec.name, spec.partitioned, bucket_filter(3, 4, 5), join);
  // Each leaf with the first day of its month and its hash remainder, from the partition
  // bounds (printed in the session time zone, UTC here).
  leaf_cells_ = fmt::format(
      "SELECT c.oid::int8, "
      "substring(pg_get_expr(mp.relpartbound, mp.oid) FROM "
      "'FROM \\(''([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})')::date, "
      "substring(pg_get_expr(c.relpartbound, c.oid) FROM 'remainder ([0-9]+)')::int "
      "FROM pg_inherits mi JOIN pg_class mp ON mp.oid = mi.inhrelid "
      "JOIN pg_inherits li ON li.inhparent = mp.oid JOIN pg_class c ON c.oid = li.inhrelid "
      "WHERE mi.inhparent = '{}'::regclass AND c.relkind = 'r'",
      spec.partitioned);
  for (const Side side : {Side::legacy, Side::partitioned}) {
    cell_orgs_[index(side)] = fmt::format("SELECT min(t.org_id), max(t.org_id) FROM {} t WHERE {}",
                                          spec.table(side), bucket_filter(3, 4, 5));
  }
  legacy_range_ = fmt::format("SELECT min(org_id), max(org_id) FROM {}", spec.name);
  next_org_ = fmt::format(
      "SELECT least((SELECT min(org_id) FROM {0} WHERE org_id >= $1), "
      "(SELECT min(org_id) FROM {1} WHERE org_id >= $1))",
      spec.name, spec.partitioned);
  org_range_ = fmt::format(
      "SELECT least((SELECT min(org_id) FROM {0}), (SELECT min(org_id) FROM {1})), "
      "greatest((SELECT max(org_id) FROM {0}), (SELECT max(org_id) FROM {1}))",
      spec.name, spec.partitioned);
}

}  // namespace folio::cutover::detail
