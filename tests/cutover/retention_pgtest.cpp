// Partition retention against a real database that went through prepare, sync-on, backfill,
// cutover and finalize: months older than the retention leave the partitioned parents for
// folio_archive with the same rows, the manifest's counts and checksums match a plain-SQL
// recomputation, the locator forgets them, and the run is audited. Before finalize it is
// refused and changes nothing. drop-archived drops an unchanged archive and refuses one whose
// rows changed. folioctl's `partitions archived` and `jobs run partition-retention` are
// checked as an operator runs them.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json/parse.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cutover/switch_support.hpp"
#include "folio/cutover/backfill.hpp"
#include "folio/cutover/retention.hpp"
#include "folio/cutover/schema.hpp"
#include "folio/cutover/switchover.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/seed/generator.hpp"
#include "support/cutover_database.hpp"
#include "support/metric_sample.hpp"

namespace folio::cutover {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using std::chrono::year_month;
using test::scalar;

using test::refusal;
using test::with_pool;

RetentionReport archive(const std::string& dsn, int keep_months) {
  return with_pool(dsn, [keep_months](db::Pool& pool) {
    RetentionOptions options;
    options.keep_months = keep_months;
    return archive_old_months(pool, options);
  });
}

DropArchivedResult drop(const std::string& dsn, std::string table, year_month month) {
  return with_pool(dsn, [table, month](db::Pool& pool) {
    DropArchivedOptions options;
    options.confirm = true;
    return drop_archived(pool, table, month, options);
  });
}

std::string ym(year_month m) {
  return fmt::format("y{:04d}m{:02d}", static_cast<int>(m.year()),
                     static_cast<unsigned>(m.month()));
}

std::string first_day(year_month m) {
  return fmt::format("{:04d}-{:02d}-01", static_cast<int>(m.year()),
                     static_cast<unsigned>(m.month()));
}

std::int64_t manifest_rows(const std::string& dsn) {
  return scalar(dsn, "SELECT count(*) FROM partition_archive");
}

std::int64_t retention_audits(const std::string& dsn) {
  return scalar(dsn, "SELECT count(*) FROM cutover_audit WHERE phase = 'retention'");
}

std::int64_t partitions_of(const std::string& dsn) {
  return scalar(dsn,
                "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent::regclass::text LIKE '%\\_partitioned'");
}

std::int64_t in_archive_schema(const std::string& dsn, const std::string& like = "%") {
  return scalar(dsn,
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'folio_archive' AND c.relkind IN ('r', 'p') AND c.relname "
                "LIKE '" +
                    like + "'");
}

// Manifest rows (not dropped) whose rows and checksum a plain-SQL recomputation of the
// archived table does not reproduce.
std::int64_t manifest_mismatches(const std::string& dsn) {
  return test::run_async([&](asio::io_context& io) -> awaitable<std::int64_t> {
    auto c = co_await db::Connection::connect(io.get_executor(), dsn, std::chrono::seconds(5));
    co_await c->execute_script("SET TimeZone = 'UTC'; SET jit = off");
    auto manifest = co_await c->execute(
        "SELECT archive_schema || '.' || partition_name, rows, checksum::text "
        "FROM partition_archive WHERE dropped_at IS NULL");
    std::int64_t bad = 0;
    for (const auto& row : manifest) {
      const auto table = row.get<std::string>(0);
      auto now = co_await c->execute(
          "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)::text FROM " + table +
          " t");
      const auto rows = now.front().get<std::int64_t>(0);
      const auto checksum = now.front().get<std::string>(1);
      if (rows != row.get<std::int64_t>(1) || checksum != row.get<std::string>(2)) ++bad;
    }
    co_return bad;
  });
}

// ---- folioctl as a process -------------------------------------------------------------------

struct Output {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path.c_str());
  return text.str();
}

// Runs `command` through /bin/sh with stdout and stderr captured apart.
Output shell(const std::string& command) {
  const std::string base =
      ::testing::TempDir() + "retention_folioctl_" + std::to_string(::getpid());
  const int status =
      std::system((command + " </dev/null >" + base + ".out 2>" + base + ".err").c_str());
  Output r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  return r;
}

// With stdout to a pipe: JSON.
Output folioctl(const std::string& args) { return shell(std::string(FOLIOCTL_PATH) + " " + args); }

// On a pseudo-terminal (util-linux `script`), as a person sees it.
Output folioctl_on_terminal(const std::string& args) {
  return shell("script -qec '" + std::string(FOLIOCTL_PATH) + " " + args + "' /dev/null");
}

TEST(Retention, ArchivesOldMonthsAfterFinalizeAndDropsOnlyUnchangedArchives) {
  const year_month now = seed::current_utc_month();
  // Six months of history up to this month; prepare adds one month ahead.
  test::CutoverDatabase db("retention", 6, 20, 6, now);
  const auto& dsn = db.dsn();
  with_pool(dsn, [](db::Pool& pool) -> awaitable<void> {
    PrepareOptions prepare_options;
    prepare_options.hash_modulus = 4;
    prepare_options.future_months = 1;
    co_await prepare(pool, prepare_options);
    co_await sync_on(pool, {});
    co_await backfill(pool, {});
  });
  for (const auto& spec : all_tables()) {
    ASSERT_EQ(test::side_differences(dsn, spec.name), 0) << spec.name;
  }

  // ---- before finalize: refused, nothing changes ----
  const auto partitions_before = partitions_of(dsn);
  const auto why = refusal(dsn, [](db::Pool& pool) {
    RetentionOptions options;
    options.keep_months = 2;
    return archive_old_months(pool, options);
  });
  EXPECT_NE(why.find("finalize has not run"), std::string::npos) << why;
  EXPECT_NE(why.find("folioctl switchover finalize --confirm"), std::string::npos) << why;
  const auto job_early =
      folioctl("jobs run partition-retention --retention-months 2 --json --database-url " + dsn);
  EXPECT_EQ(job_early.exit_code, 0) << job_early.out << job_early.err;
  const auto early = json::parse(job_early.out).as_object();
  EXPECT_EQ(early.at("outcome").as_string(), "noop") << job_early.out << job_early.err;
  EXPECT_NE(std::string(early.at("details").at("skipped").as_string()).find("finalize"),
            std::string::npos)
      << job_early.out << job_early.err;
  EXPECT_EQ(partitions_of(dsn), partitions_before);
  EXPECT_EQ(scalar(dsn, "SELECT count(*) FROM pg_namespace WHERE nspname = 'folio_archive'"), 0);
  EXPECT_EQ(manifest_rows(dsn), 0);
  EXPECT_EQ(retention_audits(dsn), 0);
  EXPECT_THROW(archive(dsn, 0), std::invalid_argument);

  // ---- finalize ----
  // The cutover and finalize skip the verification gate: this test is about what happens
  // after finalize, and the sides were shown equal above by plain SQL (EXCEPT both ways),
  // which is what the gate's verification would establish.
  with_pool(
      dsn, [](db::Pool& pool) { return cut_over(pool, StatsLevel::none, VerifyGatePolicy::skip); });
  FinalizeOptions finalize_options;
  finalize_options.confirm = true;
  finalize_options.gate = VerifyGatePolicy::skip;
  finalize_options.stats = StatsLevel::none;
  ASSERT_EQ(with_pool(dsn, [&](db::Pool& pool) { return finalize(pool, finalize_options); }).status,
            "ok");

  // ---- archive: keep this month and the two before it ----
  const year_month first_kept = now - std::chrono::months{2};
  const std::vector<year_month> old_months = {
      now - std::chrono::months{5}, now - std::chrono::months{4}, now - std::chrono::months{3}};
  for (const auto& spec : all_tables()) {
    test::run_script(
        dsn, fmt::format("CREATE TABLE before_{0} AS SELECT * FROM {1} "
                         "WHERE {2} < '{3}'",
                         spec.name, spec.partitioned, spec.time_column, first_day(first_kept)));
    EXPECT_GT(scalar(dsn, "SELECT count(*) FROM before_" + std::string(spec.name)), 0);
  }
  EXPECT_GT(scalar(dsn, "SELECT count(*) FROM revenues_locator WHERE month < '" +
                            first_day(first_kept) + "'"),
            0);
  const auto version_before = scalar(dsn, "SELECT last_value FROM partition_routing_version");

  const auto report = archive(dsn, 2);
  EXPECT_EQ(report.first_kept, first_kept);
  ASSERT_EQ(report.archived.size(), 9u);
  EXPECT_TRUE(report.not_archived.empty());
  for (const auto& spec : all_tables()) {
    SCOPED_TRACE(spec.name);
    const std::string parent(spec.partitioned);
    // Gone from the parent...
    EXPECT_EQ(scalar(dsn, fmt::format("SELECT count(*) FROM {} WHERE {} < '{}'", parent,
                                      spec.time_column, first_day(first_kept))),
              0);
    std::string archived_union;
    for (const auto m : old_months) {
      const std::string name = parent + "_" + ym(m);
      EXPECT_EQ(scalar(dsn,
                       "SELECT count(*) FROM pg_inherits WHERE inhrelid = "
                       "'folio_archive." +
                           name + "'::regclass"),
                0);
      EXPECT_EQ(scalar(dsn, "SELECT count(*) FROM pg_class WHERE relname = '" + name +
                                "' AND relnamespace = 'public'::regnamespace"),
                0);
      // ...present in folio_archive, with its four leaves.
      EXPECT_EQ(in_archive_schema(dsn, name + "%"), 5) << name;
      archived_union += (archived_union.empty() ? "" : " UNION ALL ") +
                        std::string("SELECT * FROM folio_archive.") + name;
    }
    // The same rows, every column.
    EXPECT_EQ(scalar(dsn, fmt::format("SELECT (SELECT count(*) FROM (TABLE before_{0} EXCEPT ALL "
                                      "({1})) a) + (SELECT count(*) FROM (({1}) EXCEPT ALL TABLE "
                                      "before_{0}) b)",
                                      spec.name, archived_union)),
              0);
    EXPECT_EQ(test::metric_sample("folio_partition_archived_months{table=\"" + parent + "\"}", -1),
              3);
    EXPECT_EQ(test::metric_sample("folio_partition_archived_total{table=\"" + parent + "\"}", -1),
              3);
  }
  EXPECT_EQ(in_archive_schema(dsn), 45);  // 9 months, each with 4 leaves
  EXPECT_EQ(manifest_rows(dsn), 9);
  EXPECT_EQ(manifest_mismatches(dsn), 0);
  EXPECT_EQ(scalar(dsn,
                   "SELECT sum(rows) FROM partition_archive WHERE table_name = "
                   "'balances_partitioned'"),
            scalar(dsn, "SELECT count(*) FROM before_balances"));
  // The locator places only rows that are on the partitioned side.
  for (const char* entries : {"revenues", "expenses"}) {
    EXPECT_EQ(scalar(dsn, fmt::format("SELECT count(*) FROM {}_locator WHERE month < '{}'", entries,
                                      first_day(first_kept))),
              0);
    EXPECT_EQ(test::locator_differences(dsn, entries), 0) << entries;
  }
  // Audited once, with the manifest rows; services were told the layout changed.
  EXPECT_EQ(retention_audits(dsn), 1);
  EXPECT_EQ(scalar(dsn,
                   "SELECT jsonb_array_length(details->'archived') FROM cutover_audit "
                   "WHERE phase = 'retention'"),
            9);
  EXPECT_GT(scalar(dsn, "SELECT last_value FROM partition_routing_version"), version_before);
  // Nothing left to archive: no change, no audit row.
  EXPECT_FALSE(archive(dsn, 2).changed());
  EXPECT_EQ(retention_audits(dsn), 1);

  // ---- drop-archived ----
  const year_month oldest = old_months.front();
  EXPECT_NE(refusal(dsn,
                    [&](db::Pool& pool) {
                      return drop_archived(pool, "revenues", oldest, DropArchivedOptions{});
                    })
                .find("--confirm"),
            std::string::npos);
  EXPECT_THROW(drop(dsn, "revenues", now), std::invalid_argument);
  const auto dropped = drop(dsn, "revenues", oldest);
  EXPECT_TRUE(dropped.dropped);
  ASSERT_TRUE(dropped.partition.dropped_at.has_value());
  EXPECT_EQ(in_archive_schema(dsn, "revenues_partitioned_" + ym(oldest) + "%"), 0);
  EXPECT_EQ(scalar(dsn,
                   "SELECT count(*) FROM partition_archive WHERE dropped_at IS NOT NULL AND "
                   "table_name = 'revenues_partitioned' AND month = '" +
                       first_day(oldest) + "'"),
            1);
  EXPECT_FALSE(drop(dsn, "revenues_partitioned", oldest).dropped);  // already dropped
  EXPECT_EQ(
      test::metric_sample(R"(folio_partition_archived_months{table="revenues_partitioned"})", -1),
      2);

  // One changed row in another archive: refused, and the archive stays.
  const std::string changed = "folio_archive.expenses_partitioned_" + ym(old_months[1]);
  ASSERT_GT(scalar(dsn, "SELECT count(*) FROM " + changed), 0);
  test::run_script(dsn, "UPDATE " + changed +
                            " SET amount_cents = amount_cents + 1 WHERE id = "
                            "(SELECT min(id) FROM " +
                            changed + ")");
  const auto changed_why = refusal(dsn, [&](db::Pool& pool) {
    DropArchivedOptions options;
    options.confirm = true;
    return drop_archived(pool, "expenses", old_months[1], options);
  });
  EXPECT_NE(changed_why.find("differs from its manifest"), std::string::npos) << changed_why;
  EXPECT_NE(changed_why.find("checksum"), std::string::npos) << changed_why;
  EXPECT_EQ(scalar(dsn, "SELECT count(*) FROM pg_class WHERE oid = to_regclass('" + changed + "')"),
            1);
  EXPECT_EQ(in_archive_schema(dsn, "expenses_partitioned_" + ym(old_months[1]) + "%"), 5);
  EXPECT_EQ(scalar(dsn, "SELECT count(*) FROM partition_archive WHERE dropped_at IS NOT NULL"), 1);
  EXPECT_EQ(retention_audits(dsn), 2);  // the archive and the one drop

  // ---- folioctl ----
  const auto listed = folioctl("partitions archived --database-url " + dsn);  // piped: JSON
  ASSERT_EQ(listed.exit_code, 0) << listed.out << listed.err;
  const auto rows = json::parse(listed.out).at("archived").as_array();
  ASSERT_EQ(rows.size(), 9u) << listed.out << listed.err;
  EXPECT_EQ(rows.front().at("table").as_string(), "revenues_partitioned");
  EXPECT_EQ(rows.front().at("month").as_string(), first_day(oldest).substr(0, 7));
  EXPECT_TRUE(rows.front().at("dropped_at").is_string());
  EXPECT_TRUE(rows.back().at("dropped_at").is_null());
  EXPECT_TRUE(rows.back().at("checksum").is_string());
  const auto table = folioctl_on_terminal("partitions archived --database-url " + dsn);
  EXPECT_EQ(table.exit_code, 0) << table.out;
  EXPECT_NE(table.out.find("archived as"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("folio_archive.balances_partitioned_" + ym(old_months[2])),
            std::string::npos)
      << table.out;
  EXPECT_EQ(table.out.find('{'), std::string::npos) << table.out;
  EXPECT_EQ(
      folioctl("partitions drop-archived --table expenses --month 2026-13 --database-url " + dsn)
          .exit_code,
      2);
  EXPECT_EQ(folioctl("partitions drop-archived --table expenses --month " +
                     first_day(old_months[1]).substr(0, 7) + " --database-url " + dsn)
                .exit_code,
            5);  // no --confirm

  // The scheduled job: off by default; with a retention of one month, it archives one more.
  const auto off = folioctl("jobs run partition-retention --database-url " + dsn);
  ASSERT_EQ(off.exit_code, 0) << off.out << off.err;
  const auto off_doc = json::parse(off.out).as_object();
  EXPECT_EQ(off_doc.at("outcome").as_string(), "noop");
  EXPECT_EQ(off_doc.at("details").at("skipped").as_string(),
            "retention is off (--retention-months 0)");
  const auto on =
      folioctl("jobs run partition-retention --retention-months 1 --database-url " + dsn);
  ASSERT_EQ(on.exit_code, 0) << on.out << on.err;
  const auto on_doc = json::parse(on.out).as_object();
  EXPECT_EQ(on_doc.at("outcome").as_string(), "ok") << on.out << on.err;
  EXPECT_EQ(on_doc.at("details").at("archived").as_array().size(), 3u) << on.out << on.err;
  EXPECT_EQ(manifest_rows(dsn), 12);
  EXPECT_EQ(manifest_mismatches(dsn), 1);  // the expenses archive changed above, still
}

}  // namespace
}  // namespace folio::cutover
