#include "folio/cutover/retention.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <stdexcept>

#include "detail/months.hpp"
#include "detail/switch_state.hpp"
#include "detail/table_metrics.hpp"
#include "folio/cutover/schema.hpp"
#include "folio/cutover/switchover.hpp"
#include "folio/cutover/tables.hpp"
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
  obs::Counter* archived_total = nullptr;
  obs::Gauge* archived_months = nullptr;
};

detail::TableMetrics<Series>& metrics() {
  static detail::TableMetrics<Series> metrics([](obs::Registry& r, const obs::Labels& labels) {
    return Series{&r.counter("folio_partition_archived_total",
                             "Month partitions (each with its hash leaves) detached and moved "
                             "to the archive schema by retention.",
                             labels),
                  &r.gauge("folio_partition_archived_months",
                           "Archived month partitions not dropped yet (partition_archive rows "
                           "without dropped_at).",
                           labels)};
  });
  return metrics;
}

// Identifiers that reach DDL unquoted: the archive schema comes from the operator and the
// manifest, so only plain lower-case names pass.
bool plain_identifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(name.front() == '_' || (name.front() >= 'a' && name.front() <= 'z'))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

const TableSpec& table_spec(std::string_view name) {
  for (const auto& spec : all_tables()) {
    if (spec.name == name || spec.partitioned == name) return spec;
  }
  throw std::invalid_argument(fmt::format(
      "unknown table '{}': revenues, expenses or balances (or their _partitioned names)", name));
}

// Runs `body` in one transaction that calls `fence` first when set.
template <typename Body>
asio::awaitable<void> fenced(db::Pool& pool, const Fence& fence, Body body) {
  auto tx = co_await db::Transaction::begin(co_await pool.acquire());
  if (fence) co_await fence(tx);
  co_await body(tx);
  co_await tx.commit();
}

constexpr std::string_view kManifestColumns =
    "table_name, month, partition_name, archive_schema, rows, checksum::text, "
    "to_char(archived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), archived_by, "
    "to_char(dropped_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')";

ArchivedPartition manifest_row(const db::Row& row) {
  ArchivedPartition p;
  p.table = row.get<std::string>(0);
  p.month = to_month(row.get<std::chrono::sys_days>(1));
  p.partition_name = row.get<std::string>(2);
  p.archive_schema = row.get<std::string>(3);
  p.rows = row.get<std::int64_t>(4);
  p.checksum = row.get<std::string>(5);
  p.archived_at = row.get<std::string>(6);
  p.archived_by = row.get<std::string>(7);
  p.dropped_at = row.get<std::optional<std::string>>(8);
  return p;
}

// Sets folio_partition_archived_months from the manifest.
asio::awaitable<void> observe_archived(db::Pool& pool) {
  auto r = co_await pool.query(
      "SELECT table_name, count(*) FILTER (WHERE dropped_at IS NULL) FROM partition_archive "
      "GROUP BY 1");
  metrics().each([](Series& m) { m.archived_months->set(0); });
  for (const auto& row : r) {
    // A manifest row of a table folio does not know is not counted.
    if (auto* m = metrics().find(row.get<std::string_view>(0))) {
      m->archived_months->set(static_cast<double>(row.get<std::int64_t>(1)));
    }
  }
}

// Why retention may not run now, or "" when it may: only once finalize has retired the
// legacy tables, since before that both sides must hold the same rows.
asio::awaitable<std::string> not_finalized(db::Pool& pool) {
  const auto state = co_await detail::schema_state(pool);
  if (detail::finalized(state)) co_return std::string();
  co_return std::string(
      "retention: the legacy tables are still live (finalize has not run), and archiving months "
      "of the partitioned side alone would make the two sides differ: finish the cutover first "
      "(`folioctl switchover finalize --confirm`, docs/rollout-playbook.md), and leave "
      "retention off until then (`--retention-months 0`)");
}

// Months of `spec` in the manifest, with whether their archive was dropped since.
asio::awaitable<std::map<year_month, bool>> manifest_months(db::Pool& pool, const TableSpec& spec) {
  auto r = co_await pool.query(
      "SELECT month, dropped_at IS NOT NULL FROM partition_archive WHERE table_name = $1",
      std::string(spec.partitioned));
  std::map<year_month, bool> out;
  for (const auto& row : r) out[to_month(row.get<std::chrono::sys_days>(0))] = row.get<bool>(1);
  co_return out;
}

// Detaches `month` of `spec`, moves it and its leaves to the archive schema and records it,
// all in one transaction.
asio::awaitable<ArchivedPartition> archive_month(db::Pool& pool, const TableSpec& spec,
                                                 year_month month,
                                                 const RetentionOptions& options) {
  static const obs::Logger log("cutover.retention");
  const std::string parent(spec.partitioned);
  const std::string month_table = month_partition_name(spec, month);
  const std::string& schema = options.archive_schema;
  ArchivedPartition out;
  out.table = parent;
  out.month = month;
  out.partition_name = month_table;
  out.archive_schema = schema;
  int leaves = 0;
  std::vector<std::string> tables{parent, month_table, default_partition_name(spec)};
  co_await with_lock_retry(
      pool, "archive " + month_table, std::move(tables), options.locks,
      [&](db::Transaction& tx) -> asio::awaitable<void> {
        co_await tx.connection().execute_script(kLocalSettings);
        co_await tx.execute(fmt::format("CREATE SCHEMA IF NOT EXISTS {}", schema));
        // Plain DETACH, which takes ACCESS EXCLUSIVE on the parent for the length of this
        // transaction (hence lock_timeout and retries): DETACH ... CONCURRENTLY is not allowed
        // while the table has a DEFAULT partition, and these tables always have one.
        co_await tx.execute(fmt::format("ALTER TABLE {} DETACH PARTITION {}", parent, month_table));
        // The leaves stay partitions of the month table, but SET SCHEMA moves one table only.
        const auto moves = co_await tx.query(
            "SELECT format('ALTER TABLE %s SET SCHEMA %I', c.oid::regclass, $2::text) "
            "  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            " WHERE i.inhparent = to_regclass($1) ORDER BY c.relname",
            month_table, schema);
        leaves = 0;
        for (const auto& row : moves) {
          co_await tx.execute(row.get<std::string_view>(0));
          ++leaves;
        }
        co_await tx.execute(fmt::format("ALTER TABLE {} SET SCHEMA {}", month_table, schema));
        // Counted after every lock is held: exactly the rows that were detached, which nobody
        // can change before this commits.
        const auto sums = co_await tx.execute(
            fmt::format("SELECT count(*), coalesce(sum({}), 0)::text FROM {}.{} t",
                        row_hash_sql("t"), schema, month_table));
        out.rows = sums.front().get<std::int64_t>(0);
        out.checksum = sums.front().get<std::string>(1);
        // A month archived and dropped before may come back (rows dated in it arrived later,
        // and maintenance gave them a month again): its manifest row is replaced.
        const auto recorded = co_await tx.query(
            "INSERT INTO partition_archive (table_name, month, partition_name, archive_schema, "
            "rows, checksum) VALUES ($1, $2::date, $3, $4, $5, $6::numeric) "
            "ON CONFLICT (table_name, month) DO UPDATE SET partition_name = "
            "EXCLUDED.partition_name, "
            "  archive_schema = EXCLUDED.archive_schema, rows = EXCLUDED.rows, "
            "  checksum = EXCLUDED.checksum, archived_at = clock_timestamp(), "
            "  archived_by = current_user, dropped_at = NULL "
            "  WHERE partition_archive.dropped_at IS NOT NULL "
            "RETURNING to_char(archived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), "
            "  archived_by",
            parent, detail::month_first_day(month), month_table, schema, out.rows, out.checksum);
        if (recorded.empty()) {
          throw std::runtime_error(
              fmt::format("retention: {} {} was archived by someone else meanwhile", parent,
                          month_text(month)));
        }
        out.archived_at = recorded.front().get<std::string>(0);
        out.archived_by = recorded.front().get<std::string>(1);
        if (spec.keyed_by_id()) {
          // The locator places only rows on the partitioned side; a get by id of an archived
          // entry must find nothing, as for any deleted one.
          co_await tx.query(
              fmt::format("DELETE FROM {} WHERE month = $1::date", locator_table(spec)),
              detail::month_first_day(month));
        }
        // Services reload their layout on any routing notification and stop naming the
        // archived leaves; sent at commit, with the change.
        co_await tx.query(
            "SELECT pg_notify('folio_partition_routing', json_build_object('version', "
            "nextval('partition_routing_version'), 'operation', 'layout', 'table', "
            "$1::text)::text)",
            parent);
      });
  if (auto* m = metrics().find(parent)) m->archived_total->inc();
  log.info("month partition archived", {{"table", parent},
                                        {"month", month_text(month)},
                                        {"schema", schema},
                                        {"leaves", leaves},
                                        {"rows", out.rows},
                                        {"checksum", out.checksum}});
  co_return out;
}

}  // namespace

asio::awaitable<RetentionReport> archive_old_months(db::Pool& pool, RetentionOptions options) {
  if (options.keep_months < 1 || options.keep_months > 1200) {
    throw std::invalid_argument("keep months must be within 1..1200");
  }
  if (!plain_identifier(options.archive_schema)) {
    throw std::invalid_argument(fmt::format(
        "archive schema '{}' must be a plain lower-case name ([a-z_][a-z0-9_]*, at most 63 "
        "characters)",
        options.archive_schema));
  }
  const auto started = std::chrono::steady_clock::now();
  if (options.locks.fence) {
    // A run that lost its lease stops here, even with nothing to archive.
    co_await fenced(pool, options.locks.fence,
                    [](db::Transaction&) -> asio::awaitable<void> { co_return; });
  }
  if (auto why = co_await not_finalized(pool); !why.empty()) throw SwitchRefused(why);

  RetentionReport report;
  report.first_kept = current_month() - std::chrono::months{options.keep_months};
  for (const auto& spec : all_tables()) {
    const auto recorded = co_await manifest_months(pool, spec);
    for (const year_month m : co_await partition_months(pool, spec)) {
      if (m >= report.first_kept) break;  // ascending
      if (const auto it = recorded.find(m); it != recorded.end() && !it->second) {
        // Rows dated in an archived month arrived later and maintenance gave them a month
        // again; the archive of the same name is still there.
        report.not_archived.push_back(fmt::format(
            "{} {}: already archived and not dropped; check the archive and run `folioctl "
            "partitions drop-archived --table {} --month {} --confirm`, then retention again",
            spec.partitioned, month_text(m), spec.name, month_text(m)));
        continue;
      }
      report.archived.push_back(co_await archive_month(pool, spec, m, options));
    }
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!report.not_archived.empty()) {
    obs::Logger("cutover.retention")
        .warn("months left in place",
              {{"months", static_cast<std::int64_t>(report.not_archived.size())},
               {"first", report.not_archived.front()}});
  }
  if (report.changed()) {
    // Audited only when it archived something: a daily no-op would bury the phases.
    auto details = to_json(report);
    details["operation"] = "archive";
    const std::string text = boost::json::serialize(details);
    const auto ms = static_cast<std::int64_t>(report.seconds * 1000);
    co_await fenced(pool, options.locks.fence, [&](db::Transaction& tx) -> asio::awaitable<void> {
      co_await tx.query(
          "INSERT INTO cutover_audit (phase, status, started_at, finished_at, "
          "details) VALUES ('retention', 'ok', clock_timestamp() - $1 * "
          "interval '1 millisecond', clock_timestamp(), $2::jsonb)",
          ms, text);
    });
  }
  co_await observe_archived(pool);
  co_return report;
}

asio::awaitable<std::vector<ArchivedPartition>> list_archived(db::Pool& pool) {
  std::string order;
  for (const auto& spec : all_tables())
    order += (order.empty() ? "" : ",") + std::string(spec.partitioned);
  const std::string sql = fmt::format(
      "SELECT {} FROM partition_archive ORDER BY month, array_position('{{{}}}'::text[], "
      "table_name), table_name",
      kManifestColumns, order);
  auto r = co_await pool.query(sql);
  std::vector<ArchivedPartition> out;
  for (const auto& row : r) out.push_back(manifest_row(row));
  co_await observe_archived(pool);
  co_return out;
}

asio::awaitable<DropArchivedResult> drop_archived(db::Pool& pool, std::string table,
                                                  year_month month, DropArchivedOptions options) {
  const TableSpec& spec = table_spec(table);
  if (!options.confirm) {
    throw SwitchRefused(
        "drop-archived deletes the archived rows for good (after checking them against the "
        "manifest): pass --confirm");
  }
  const std::string parent(spec.partitioned);
  const std::string select =
      fmt::format("SELECT {} FROM partition_archive WHERE table_name = $1 AND month = $2::date",
                  kManifestColumns);
  auto found = co_await pool.query(select, parent, detail::month_first_day(month));
  if (found.empty()) {
    throw std::invalid_argument(
        fmt::format("no archived month {} of {} (see `folioctl partitions archived`)",
                    month_text(month), parent));
  }
  DropArchivedResult result;
  result.partition = manifest_row(found.front());
  if (result.partition.dropped_at) co_return result;
  const std::string& schema = result.partition.archive_schema;
  const std::string& name = result.partition.partition_name;
  if (!plain_identifier(schema) || !plain_identifier(name)) {
    throw SwitchRefused(fmt::format(
        "drop-archived: the manifest row names '{}.{}', which folio does not drop by name; drop "
        "it by hand and set dropped_at",
        schema, name));
  }
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::string> tables{name};
  co_await with_lock_retry(
      pool, "drop archived " + name, std::move(tables), options.locks,
      [&](db::Transaction& tx) -> asio::awaitable<void> {
        co_await tx.connection().execute_script(kLocalSettings);
        // The manifest row is locked first, so two drops of one month do not both proceed.
        auto row =
            co_await tx.query(select + " FOR UPDATE", parent, detail::month_first_day(month));
        result.partition = manifest_row(row.front());
        if (result.partition.dropped_at) co_return;
        const std::string qualified = schema + "." + name;
        if (!(co_await tx.query("SELECT to_regclass($1) IS NOT NULL", qualified)).scalar<bool>()) {
          throw SwitchRefused(fmt::format(
              "drop-archived: {} does not exist: it was dropped or moved outside folio; nothing "
              "was changed (set dropped_at in partition_archive by hand once you know where it "
              "went)",
              qualified));
        }
        // LOCK on a partitioned table locks its leaves too: nothing changes between the check
        // and the drop.
        co_await tx.execute(fmt::format("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", qualified));
        const auto now =
            co_await tx.query(fmt::format("SELECT count(*), coalesce(sum({0}), 0)::text, "
                                          "       coalesce(sum({0}), 0) = $1::numeric FROM {1} t",
                                          row_hash_sql("t"), qualified),
                              result.partition.checksum);
        const auto rows = now.front().get<std::int64_t>(0);
        const auto checksum = now.front().get<std::string>(1);
        if (rows != result.partition.rows || !now.front().get<bool>(2)) {
          const std::string difference =
              rows != result.partition.rows
                  ? fmt::format("{} rows now, {} when archived", rows, result.partition.rows)
                  : fmt::format("the same {} rows, but checksum {} now, {} when archived", rows,
                                checksum, result.partition.checksum);
          throw SwitchRefused(fmt::format(
              "drop-archived: {} differs from its manifest row (archived {} UTC by {}): {}. Its "
              "rows were changed after archiving: look at them before dropping anything "
              "(nothing was dropped)",
              qualified, result.partition.archived_at, result.partition.archived_by, difference));
        }
        // No CASCADE: anything built on the archive (a view, say) makes the drop fail visibly.
        co_await tx.execute(fmt::format("DROP TABLE {}", qualified));
        auto dropped = co_await tx.query(
            "UPDATE partition_archive SET dropped_at = clock_timestamp() "
            " WHERE table_name = $1 AND month = $2::date "
            "RETURNING to_char(dropped_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')",
            parent, detail::month_first_day(month));
        result.partition.dropped_at = dropped.front().get<std::string>(0);
        result.dropped = true;
      });
  if (result.dropped) {
    boost::json::object details;
    details["operation"] = "drop";
    details["partition"] = to_json(result.partition);
    const auto ms = static_cast<std::int64_t>(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() * 1000);
    const std::string text = boost::json::serialize(details);
    co_await fenced(pool, options.locks.fence, [&](db::Transaction& tx) -> asio::awaitable<void> {
      co_await tx.query(
          "INSERT INTO cutover_audit (phase, status, started_at, finished_at, details) "
          "VALUES ('retention', 'ok', clock_timestamp() - $1 * interval '1 millisecond', "
          "clock_timestamp(), $2::jsonb)",
          ms, text);
    });
    obs::Logger("cutover.retention")
        .info("archived month partition dropped",
              {{"table", parent}, {"month", month_text(month)}, {"rows", result.partition.rows}});
  }
  co_await observe_archived(pool);
  co_return result;
}

boost::json::object to_json(const ArchivedPartition& p) {
  boost::json::object o;
  o["table"] = p.table;
  o["month"] = month_text(p.month);
  o["partition_name"] = p.partition_name;
  o["archive_schema"] = p.archive_schema;
  o["rows"] = p.rows;
  o["checksum"] = p.checksum;  // a string: numeric is exact, a JSON double is not
  o["archived_at"] = p.archived_at;
  o["archived_by"] = p.archived_by;
  o["dropped_at"] = p.dropped_at ? boost::json::value(*p.dropped_at) : nullptr;
  return o;
}

boost::json::object to_json(const RetentionReport& report) {
  boost::json::array archived;
  for (const auto& p : report.archived) archived.push_back(to_json(p));
  boost::json::array not_archived;
  for (const auto& s : report.not_archived) not_archived.emplace_back(s);
  boost::json::object out;
  out["first_kept"] = month_text(report.first_kept);
  // Whole milliseconds: a JSON double would print in exponent form.
  out["milliseconds"] = static_cast<std::int64_t>(report.seconds * 1000);
  out["archived"] = std::move(archived);
  // Not "skipped": a job's details.skipped is the one reason the whole run did nothing.
  out["not_archived"] = std::move(not_archived);
  return out;
}

std::string format_archived(const std::vector<ArchivedPartition>& partitions) {
  if (partitions.empty()) return "no archived partitions\n";
  std::string out =
      fmt::format("{:<22} {:<7} {:<45} {:>12} {:>22}  {:<19}  {}\n", "table", "month",
                  "archived as", "rows", "checksum", "archived at (UTC)", "dropped at (UTC)");
  for (const auto& p : partitions) {
    out += fmt::format("{:<22} {:<7} {:<45} {:>12} {:>22}  {:<19}  {}\n", p.table,
                       month_text(p.month), p.archive_schema + "." + p.partition_name, p.rows,
                       p.checksum, p.archived_at, p.dropped_at.value_or("-"));
  }
  return out;
}

std::string format_report(const RetentionReport& report) {
  std::string out;
  if (report.archived.empty()) {
    out = fmt::format("nothing to archive: every month partition is from {} or later\n",
                      month_text(report.first_kept));
  } else {
    out = fmt::format("archived {} month partition(s) older than {}:\n", report.archived.size(),
                      month_text(report.first_kept));
    out += format_archived(report.archived);
  }
  for (const auto& s : report.not_archived) out += "not archived: " + s + "\n";
  out += fmt::format("took {:.1f} s\n", report.seconds);
  return out;
}

}  // namespace folio::cutover
