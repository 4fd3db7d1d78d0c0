#include "folio/cutover/maintenance.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "detail/months.hpp"
#include "detail/table_metrics.hpp"
#include "folio/cutover/schema.hpp"
#include "folio/db/transaction.hpp"
#include "folio/obs/log.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::cutover {

namespace asio = boost::asio;
using detail::current_month;
using detail::month_text;
using detail::to_month;
using std::chrono::year_month;

namespace {

struct Series {
  obs::Gauge* ready_ahead = nullptr;
  obs::Gauge* default_rows = nullptr;
  obs::Counter* months_created = nullptr;
  obs::Counter* rows_moved = nullptr;
};

Series& metrics_of(std::string_view table) {
  static detail::TableMetrics<Series> metrics([](obs::Registry& r, const obs::Labels& labels) {
    return Series{
        &r.gauge("folio_partition_months_ready_ahead",
                 "Months after the current one that have partitions, contiguously (0 when the "
                 "current month has none).",
                 labels),
        &r.gauge("folio_partition_default_rows",
                 "Rows in the DEFAULT partition: dated in a month without a partition yet; "
                 "partition maintenance moves them.",
                 labels),
        &r.counter("folio_partition_months_created_total",
                   "Month partitions (each with its hash leaves) created by maintenance.", labels),
        &r.counter("folio_partition_rows_moved_total",
                   "Rows moved out of the DEFAULT partition into their month.", labels)};
  });
  if (auto* series = metrics.find(table)) return *series;
  throw std::logic_error("no partition metrics for " + std::string(table));
}

int ready_ahead(const std::vector<year_month>& months, year_month now) {
  if (!std::binary_search(months.begin(), months.end(), now)) return 0;
  int ahead = 0;
  while (std::binary_search(months.begin(), months.end(), now + std::chrono::months{ahead + 1})) {
    ++ahead;
  }
  return ahead;
}

asio::awaitable<bool> table_exists(db::Pool& pool, const TableSpec& spec) {
  auto r = co_await pool.query("SELECT to_regclass($1) IS NOT NULL", std::string(spec.partitioned));
  co_return r.scalar<bool>();
}

asio::awaitable<DefaultRows> read_default_rows(db::Pool& pool, const TableSpec& spec) {
  const std::string sql = fmt::format("SELECT count(*), min({0}), max({0}) FROM {1} t",
                                      month_sql(spec, "t"), default_partition_name(spec));
  auto r = co_await pool.query(sql);
  DefaultRows out;
  out.rows = r.front().get<std::int64_t>(0);
  if (const auto lo = r.front().get<std::optional<std::chrono::sys_days>>(1)) {
    out.first_month = to_month(*lo);
    out.last_month = to_month(*r.front().get<std::optional<std::chrono::sys_days>>(2));
  }
  co_return out;
}

// Every month that holds a row in the DEFAULT partition.
asio::awaitable<std::vector<year_month>> default_months(db::Pool& pool, const TableSpec& spec) {
  const std::string sql = fmt::format("SELECT DISTINCT {} FROM {} t ORDER BY 1",
                                      month_sql(spec, "t"), default_partition_name(spec));
  auto r = co_await pool.query(sql);
  std::vector<year_month> out;
  for (const auto& row : r) out.push_back(to_month(row.get<std::chrono::sys_days>(0)));
  co_return out;
}

asio::awaitable<PartitionHealth> observe(db::Pool& pool, const TableSpec& spec) {
  PartitionHealth h;
  h.table = std::string(spec.partitioned);
  h.exists = co_await table_exists(pool, spec);
  if (!h.exists) co_return h;
  h.months_ready_ahead = ready_ahead(co_await partition_months(pool, spec), current_month());
  h.default_rows = co_await read_default_rows(pool, spec);
  auto& m = metrics_of(h.table);
  m.ready_ahead->set(h.months_ready_ahead);
  m.default_rows->set(static_cast<double>(h.default_rows.rows));
  co_return h;
}

boost::json::object to_json(const DefaultRows& d) {
  boost::json::object o;
  o["rows"] = d.rows;
  o["first_month"] = d.first_month ? boost::json::value(month_text(*d.first_month)) : nullptr;
  o["last_month"] = d.last_month ? boost::json::value(month_text(*d.last_month)) : nullptr;
  return o;
}

std::string describe(const DefaultRows& d) {
  if (d.rows == 0) return "empty";
  return fmt::format("{} rows, {} .. {}", d.rows, month_text(*d.first_month),
                     month_text(*d.last_month));
}

}  // namespace

bool MaintenanceReport::changed() const {
  return std::any_of(tables.begin(), tables.end(), [](const TableMaintenance& t) {
    return t.months_created > 0 || t.rows_moved > 0;
  });
}

asio::awaitable<std::vector<PartitionHealth>> observe_partitions(db::Pool& pool) {
  std::vector<PartitionHealth> out;
  for (const auto& spec : all_tables()) out.push_back(co_await observe(pool, spec));
  co_return out;
}

asio::awaitable<MaintenanceReport> maintain_partitions(db::Pool& pool, MaintenanceOptions options) {
  if (options.future_months < 0 || options.future_months > 120) {
    throw std::invalid_argument("future months must be within 0..120");
  }
  static const obs::Logger log("cutover.maintenance");
  const auto started = std::chrono::steady_clock::now();
  MaintenanceReport report;
  const auto modulus = co_await partitioned_modulus(pool);
  for (const auto& spec : all_tables()) {
    if (options.locks.fence) {
      // A run that lost its lease stops here, table by table, even with nothing to write.
      auto tx = co_await db::Transaction::begin(co_await pool.acquire());
      co_await options.locks.fence(tx);
      co_await tx.commit();
    }
    TableMaintenance t;
    t.before = co_await observe(pool, spec);
    if (!t.before.exists || !modulus) {
      t.after = t.before;
      report.tables.push_back(std::move(t));
      continue;
    }
    const year_month now = current_month();
    std::vector<year_month> months;
    for (int i = 0; i <= options.future_months; ++i) months.push_back(now + std::chrono::months{i});
    // Rows that arrived in the DEFAULT partition: their months are created like future ones
    // and the rows move in as each is attached.
    for (const year_month m : co_await default_months(pool, spec)) months.push_back(m);
    const MonthsCreated created = co_await ensure_months(pool, spec, std::move(months), *modulus,
                                                         options.locks, options.pace);
    t.months_created = created.months;
    t.rows_moved = created.rows_moved;
    auto& m = metrics_of(spec.partitioned);
    m.months_created->inc(created.months);
    m.rows_moved->inc(static_cast<double>(created.rows_moved));
    t.after = co_await observe(pool, spec);
    if (t.after.default_rows.rows > 0) {
      // Rows that landed after the months were listed: the next run moves them.
      log.warn("rows remain in the DEFAULT partition",
               {{"table", t.after.table}, {"default_rows", describe(t.after.default_rows)}});
    }
    report.tables.push_back(std::move(t));
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (report.changed()) {
    // Audited only when it changed something: an hourly no-op would bury the phases.
    co_await pool.query(
        "INSERT INTO cutover_audit (phase, status, started_at, finished_at, details) "
        "VALUES ('maintenance', 'ok', clock_timestamp() - $1 * interval '1 millisecond', "
        "clock_timestamp(), $2::jsonb)",
        static_cast<std::int64_t>(report.seconds * 1000), boost::json::serialize(to_json(report)));
  }
  co_return report;
}

boost::json::object to_json(const PartitionHealth& h) {
  boost::json::object o;
  o["table"] = h.table;
  o["exists"] = h.exists;
  o["months_ready_ahead"] = h.months_ready_ahead;
  o["default"] = to_json(h.default_rows);
  return o;
}

boost::json::object to_json(const MaintenanceReport& report) {
  boost::json::array tables;
  for (const auto& t : report.tables) {
    boost::json::object o;
    o["table"] = t.before.table;
    o["months_created"] = t.months_created;
    o["rows_moved"] = t.rows_moved;
    o["before"] = to_json(t.before);
    o["after"] = to_json(t.after);
    tables.push_back(std::move(o));
  }
  boost::json::object out;
  // Whole milliseconds: a JSON double would print in exponent form.
  out["milliseconds"] = static_cast<std::int64_t>(report.seconds * 1000);
  out["tables"] = std::move(tables);
  return out;
}

std::string format_report(const MaintenanceReport& report) {
  std::string out = fmt::format("{:<22} {:>8} {:>10} {:>12}  {}\n", "table", "created",
                                "rows moved", "months ahead", "DEFAULT partition");
  for (const auto& t : report.tables) {
    if (!t.before.exists) {
      out += fmt::format("{:<22} not prepared\n", t.before.table);
      continue;
    }
    out += fmt::format("{:<22} {:>8} {:>10} {:>5} -> {:<4}  {} -> {}\n", t.before.table,
                       t.months_created, t.rows_moved, t.before.months_ready_ahead,
                       t.after.months_ready_ahead, describe(t.before.default_rows),
                       describe(t.after.default_rows));
  }
  out += fmt::format("took {:.1f} s\n", report.seconds);
  return out;
}

}  // namespace folio::cutover
