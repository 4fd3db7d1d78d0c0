// Verification (SPEC §2 phase 5) against a real database: clean after a copy, the exact keys
// of divergences made behind the triggers' back, repair from the routed source side, no false
// alarms under live writes, --since, and the folioctl command's exit status and JSON.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/json/parse.hpp>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <tuple>

#include "folio/cutover/schema.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/cutover/verify.hpp"
#include "folio/db/errors.hpp"
#include "folio/obs/metrics.hpp"
#include "support/cutover_database.hpp"

namespace folio::cutover {
namespace {

namespace asio = boost::asio;
using test::scalar;

// (table, key first, key day, kind) of every difference of a report.
using Found = std::set<std::tuple<std::string, std::int64_t, std::string, std::string>>;

Found found(const VerifyReport& report) {
  Found out;
  for (const auto& t : report.tables) {
    for (const auto& d : t.differences) {
      out.emplace(t.table, d.key.first, d.key.day ? db::format_date(*d.key.day) : "",
                  std::string(to_string(d.kind)));
    }
  }
  return out;
}

// A migrated database with 200 organizations, both sides synced and copied.
std::unique_ptr<test::CutoverDatabase> synced_database(const std::string& prefix) {
  auto db = std::make_unique<test::CutoverDatabase>(prefix, 200, 20, 6);
  test::run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    db::Pool pool(io.get_executor(), {.dsn = db->dsn(), .max_size = 2});
    co_await prepare(pool, {});
    EXPECT_EQ(co_await sync_on(pool, {}), 3);
  });
  // Copy history the way the backfill does: guard on, so nothing echoes back.
  for (const auto& spec : all_tables()) {
    test::run_script(db->dsn(), fmt::format("BEGIN; {}; INSERT INTO {} SELECT * FROM {}; COMMIT; "
                                            "ANALYZE {}; ANALYZE {}",
                                            kSyncGuardOnSql, spec.partitioned, spec.name, spec.name,
                                            spec.partitioned));
  }
  return db;
}

VerifyPhase run_verify(const std::string& dsn, const VerifyOptions& options) {
  return test::run_async([&](asio::io_context& io) -> asio::awaitable<VerifyPhase> {
    db::Pool pool(io.get_executor(),
                  {.dsn = dsn, .max_size = static_cast<std::size_t>(options.workers) + 2});
    co_return co_await verify_phase(pool, options, StatsLevel::counts);
  });
}

// Runs folioctl; returns its exit status.
int folioctl(const std::string& args) {
  const int status =
      std::system((std::string(FOLIOCTL_PATH) + " " + args + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

boost::json::object read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str()).as_object();
}

std::string metrics() { return obs::Registry::global().expose(); }

TEST(Verify, FindsExactlyTheDivergedKeysAndRepairsThemFromTheSourceSide) {
  const auto db = synced_database("verify_div");
  const auto& dsn = db->dsn();
  const auto q = [&](const std::string& sql) { return scalar(dsn, sql); };
  const auto org = [&](int n) {
    return q(fmt::format("SELECT id FROM organizations ORDER BY id OFFSET {} LIMIT 1", n));
  };

  // Clean after the copy, in the library and through folioctl.
  {
    const auto phase = run_verify(dsn, {});
    EXPECT_TRUE(phase.report.clean);
    EXPECT_EQ(phase.audit.status, "ok");
    EXPECT_EQ(phase.report.differences, 0);
    ASSERT_EQ(phase.report.tables.size(), 3u);
    for (const auto& t : phase.report.tables) {
      EXPECT_EQ(t.rows_legacy, q("SELECT count(*) FROM " + t.table)) << t.table;
      EXPECT_EQ(t.rows_partitioned, t.rows_legacy) << t.table;
      EXPECT_GT(t.buckets_checked, 16 * 5) << t.table;  // 6 months x 16 buckets, nearly all hit
      EXPECT_TRUE(t.mismatched_buckets.empty()) << t.table;
    }
    const std::string json = "/tmp/v" + std::to_string(::getpid()) + "_clean.json";
    EXPECT_EQ(folioctl("switchover verify --database-url '" + dsn + "' --report-file " + json), 0);
    const auto report = read_json(json);
    EXPECT_TRUE(report.at("clean").as_bool());
    EXPECT_TRUE(report.at("since").is_null());
    std::remove(json.c_str());
  }

  // Divergences behind the triggers' back.
  const std::int64_t o_legacy = org(10), o_gone = org(20), o_extra = org(30), o_del = org(40);
  const std::int64_t o_pilot = org(50);
  const std::int64_t a = q(fmt::format("SELECT min(id) FROM revenues WHERE org_id = {}", o_legacy));
  const std::int64_t b = q(fmt::format("SELECT max(id) FROM revenues WHERE org_id = {}", o_gone));
  const std::int64_t d = q(fmt::format("SELECT min(id) FROM expenses WHERE org_id = {}", o_del));
  const std::int64_t f = q(fmt::format(
      "SELECT min(id) FROM revenues WHERE org_id = {} AND occurred_at >= '2026-07-01'", o_pilot));
  const std::string e_day = db::format_date(std::chrono::sys_days{std::chrono::days{q(fmt::format(
      "SELECT min(balance_date) - '1970-01-01'::date FROM balances WHERE org_id = {}", o_pilot))}});
  const std::int64_t a_amount =
      q(fmt::format("SELECT amount_cents FROM revenues WHERE id = {}", a));
  const std::int64_t e_revenue =
      q(fmt::format("SELECT revenue_cents FROM balances WHERE org_id = {} AND balance_date = '{}'",
                    o_pilot, e_day));
  const std::int64_t f_epoch = q(fmt::format(
      "SELECT extract(epoch FROM occurred_at - interval '1 month')::bigint FROM revenues "
      "WHERE id = {}",
      f));
  test::run_script(dsn,
                   "ALTER TABLE revenues DISABLE TRIGGER USER; "
                   "ALTER TABLE revenues_partitioned DISABLE TRIGGER USER; "
                   "ALTER TABLE expenses DISABLE TRIGGER USER; "
                   "ALTER TABLE expenses_partitioned DISABLE TRIGGER USER; "
                   "ALTER TABLE balances DISABLE TRIGGER USER; "
                   "ALTER TABLE balances_partitioned DISABLE TRIGGER USER");
  test::run_script(
      dsn,
      fmt::format("UPDATE revenues SET amount_cents = amount_cents + 1000 WHERE id = {0}; "
                  "DELETE FROM revenues_partitioned WHERE id = {1}; "
                  "DELETE FROM expenses WHERE id = {2}; "
                  "UPDATE balances_partitioned SET revenue_cents = revenue_cents + 5, net_cents = "
                  "net_cents + 5 WHERE org_id = {3} AND balance_date = '{4}'; "
                  "UPDATE revenues_partitioned SET occurred_at = occurred_at - interval '1 month' "
                  "WHERE id = {5}",
                  a, b, d, o_pilot, e_day, f));
  const std::int64_t c = q(fmt::format(
      "INSERT INTO expenses (org_id, category, amount_cents, currency, occurred_at, vendor) "
      "VALUES ({}, 'supplies', 4242, 'EUR', '2026-08-15 10:00+00', 'extra') RETURNING id",
      o_extra));
  test::run_script(dsn,
                   "ALTER TABLE revenues ENABLE TRIGGER USER; "
                   "ALTER TABLE revenues_partitioned ENABLE TRIGGER USER; "
                   "ALTER TABLE expenses ENABLE TRIGGER USER; "
                   "ALTER TABLE expenses_partitioned ENABLE TRIGGER USER; "
                   "ALTER TABLE balances ENABLE TRIGGER USER; "
                   "ALTER TABLE balances_partitioned ENABLE TRIGGER USER");
  // The pilot organization's source is the partitioned side.
  test::run_script(dsn, fmt::format("INSERT INTO partition_routing (scope, org_id, target) "
                                    "VALUES ('pilot', {}, 'partitioned')",
                                    o_pilot));

  const Found expected = {
      {"revenues", a, "", "different"},         {"revenues", b, "", "missing_in_partitioned"},
      {"revenues", f, "", "different"},         {"expenses", c, "", "missing_in_partitioned"},
      {"expenses", d, "", "missing_in_legacy"}, {"balances", o_pilot, e_day, "different"},
  };
  {
    const auto phase = run_verify(dsn, {});
    EXPECT_FALSE(phase.report.clean);
    EXPECT_EQ(phase.audit.status, "failed");
    EXPECT_EQ(found(phase.report), expected);
    EXPECT_EQ(phase.report.differences, 6);
    EXPECT_EQ(phase.report.remaining, 6);
    EXPECT_EQ(phase.audit.details.at("clean").as_bool(), false);
    EXPECT_EQ(phase.audit.details.at("differences").as_int64(), 6);
    for (const auto& t : phase.report.tables) {
      EXPECT_FALSE(t.mismatched_buckets.empty()) << t.table;
      for (const auto& m : t.mismatched_buckets) {
        EXPECT_TRUE(m.legacy.rows != m.partitioned.rows ||
                    m.legacy.checksum != m.partitioned.checksum)
            << t.table;
      }
    }
    const auto text = metrics();
    EXPECT_NE(
        text.find(
            "folio_verify_differences_total{kind=\"missing_in_legacy\",table=\"expenses\"} 1"),
        std::string::npos);
    EXPECT_NE(text.find("folio_verify_buckets_total{result=\"mismatch\",table=\"balances\"} 1"),
              std::string::npos);
    EXPECT_EQ(q("SELECT count(*) FROM cutover_audit WHERE phase = 'verify' AND status = 'failed' "
                "AND details->>'clean' = 'false' AND details->>'since' IS NULL"),
              1);
    // The command exits 4 and its JSON names the keys.
    const std::string json = "/tmp/v" + std::to_string(::getpid()) + "_diff.json";
    EXPECT_EQ(folioctl("switchover verify --database-url '" + dsn + "' --report-file " + json), 4);
    const auto report = read_json(json);
    EXPECT_FALSE(report.at("clean").as_bool());
    EXPECT_EQ(report.at("differences").as_int64(), 6);
    std::remove(json.c_str());
  }

  {
    // One chunk per table, bisected over all 200 organizations down to single ones.
    VerifyOptions options;
    options.workers = 1;
    options.first_chunk_rows = 1000000000;
    options.leaf_rows = 1;
    const auto phase = run_verify(dsn, options);
    EXPECT_EQ(found(phase.report), expected);
    for (const auto& t : phase.report.tables) {
      EXPECT_EQ(t.chunks, 1) << t.table;
      // log2(200) halvings per mismatching bucket before its row comparison.
      EXPECT_GE(t.probes, 6 * static_cast<std::int64_t>(t.mismatched_buckets.size())) << t.table;
    }
  }
  {
    // Small chunks from three workers.
    VerifyOptions options;
    options.workers = 3;
    options.first_chunk_rows = 300;
    options.target_chunk = std::chrono::milliseconds(1);
    options.overhead_factor = 0;
    const auto phase = run_verify(dsn, options);
    EXPECT_EQ(found(phase.report), expected);
    for (const auto& t : phase.report.tables) {
      EXPECT_GT(t.chunks, 5) << t.table;
      EXPECT_EQ(t.rows_legacy, q("SELECT count(*) FROM " + t.table)) << t.table;
    }
  }
  {
    VerifyOptions options;
    options.repair = true;
    const auto phase = run_verify(dsn, options);
    EXPECT_EQ(found(phase.report), expected);
    EXPECT_EQ(phase.report.repaired, 6);
    EXPECT_EQ(phase.report.remaining, 0);
    EXPECT_TRUE(phase.report.clean);
    EXPECT_EQ(phase.audit.status, "ok");
  }
  for (const auto& spec : all_tables()) {
    EXPECT_EQ(test::side_differences(dsn, spec.name), 0) << spec.name;
  }
  // Legacy-routed organizations: legacy's version won.
  EXPECT_EQ(q(fmt::format("SELECT amount_cents FROM revenues_partitioned WHERE org_id = {} AND "
                          "id = {}",
                          o_legacy, a)),
            a_amount + 1000);
  EXPECT_EQ(q(fmt::format("SELECT count(*) FROM revenues_partitioned WHERE org_id = {} AND id = {}",
                          o_gone, b)),
            1);
  EXPECT_EQ(q(fmt::format("SELECT amount_cents FROM expenses_partitioned WHERE org_id = {} AND "
                          "id = {}",
                          o_extra, c)),
            4242);
  EXPECT_EQ(q(fmt::format("SELECT count(*) FROM expenses_partitioned WHERE org_id = {} AND id = {}",
                          o_del, d)),
            0);
  // The pilot organization: the partitioned version won.
  EXPECT_EQ(q(fmt::format("SELECT revenue_cents FROM balances WHERE org_id = {} AND balance_date "
                          "= '{}'",
                          o_pilot, e_day)),
            e_revenue + 5);
  EXPECT_EQ(q(fmt::format("SELECT extract(epoch FROM occurred_at)::bigint FROM revenues WHERE "
                          "id = {}",
                          f)),
            f_epoch);
  {
    const auto phase = run_verify(dsn, {});
    EXPECT_TRUE(phase.report.clean);
    EXPECT_EQ(phase.report.differences, 0);
  }
  EXPECT_EQ(q("SELECT count(*) FROM cutover_audit WHERE phase = 'verify' AND status = 'ok' AND "
              "details->>'since' IS NULL AND (details->>'clean')::bool"),
            4);  // two clean runs, the repair, the last run
  EXPECT_EQ(q("SELECT count(*) FROM cutover_audit WHERE phase = 'verify' AND status = 'failed'"),
            4);
}

// Org ids far apart, and rows on one side only whose orgs lie outside the legacy table's org
// range: the first and last chunks reach to the ends of bigint, and empty stretches are
// skipped rather than walked.
TEST(Verify, SparseOrgsAndRowsBeyondTheLegacyRange) {
  const auto db = synced_database("verify_sparse");
  const auto& dsn = db->dsn();
  const auto q = [&](const std::string& sql) { return scalar(dsn, sql); };
  constexpr std::int64_t kFar = 1000000000000;  // 10^12
  const auto insert = [&](const std::string& table, std::int64_t org) {
    return q(
        fmt::format("INSERT INTO {} (id, org_id, category, amount_cents, currency, "
                    "occurred_at) VALUES (nextval('folio_id_seq'), {}, 'room', 7, 'EUR', "
                    "'2026-09-09 09:00+00') RETURNING id",
                    table, org));
  };
  insert("revenues", kFar);  // through legacy, mirrored: equal on both sides
  test::run_script(dsn,
                   "ALTER TABLE revenues DISABLE TRIGGER USER; "
                   "ALTER TABLE revenues_partitioned DISABLE TRIGGER USER");
  const std::int64_t below = insert("revenues", -5);                    // legacy only
  const std::int64_t above = insert("revenues_partitioned", kFar + 5);  // partitioned only
  test::run_script(dsn,
                   "ALTER TABLE revenues ENABLE TRIGGER USER; "
                   "ALTER TABLE revenues_partitioned ENABLE TRIGGER USER");
  VerifyOptions options;
  options.tables = {"revenues"};
  options.first_chunk_rows = 20;
  const auto found_phase = run_verify(dsn, options);
  const Found expected = {{"revenues", below, "", "missing_in_partitioned"},
                          {"revenues", above, "", "missing_in_legacy"}};
  EXPECT_EQ(found(found_phase.report), expected);
  ASSERT_EQ(found_phase.report.tables.size(), 1u);
  const auto& t = found_phase.report.tables.front();
  EXPECT_EQ(t.rows_legacy, q("SELECT count(*) FROM revenues"));
  EXPECT_EQ(t.rows_partitioned, q("SELECT count(*) FROM revenues_partitioned"));
  // 10^12 ids walked in spans of a few billion would take hundreds of chunks.
  EXPECT_LT(t.chunks, 20);

  options.repair = true;  // both orgs are routed to legacy: legacy's rows win
  const auto repaired = run_verify(dsn, options);
  EXPECT_TRUE(repaired.report.clean);
  EXPECT_EQ(repaired.report.repaired, 2);
  EXPECT_EQ(test::side_differences(dsn, "revenues"), 0);
  EXPECT_EQ(q(fmt::format("SELECT count(*) FROM revenues_partitioned WHERE id = {}", below)), 1);
  EXPECT_EQ(q(fmt::format("SELECT count(*) FROM revenues_partitioned WHERE id = {}", above)), 0);
}

TEST(Verify, SinceChecksOnlyRecentBuckets) {
  const auto db = synced_database("verify_since");
  const auto full = run_verify(db->dsn(), {});
  VerifyOptions options;
  options.since = std::chrono::sys_days{std::chrono::year{2026} / std::chrono::October / 1};
  const auto recent = run_verify(db->dsn(), options);
  EXPECT_TRUE(full.report.clean);
  EXPECT_TRUE(recent.report.clean);
  ASSERT_EQ(recent.report.tables.size(), full.report.tables.size());
  for (std::size_t i = 0; i < full.report.tables.size(); ++i) {
    const auto& f = full.report.tables[i];
    const auto& r = recent.report.tables[i];
    EXPECT_GT(r.buckets_checked, 0) << r.table;
    EXPECT_LE(r.buckets_checked, 16) << r.table;  // one month of 16 buckets
    EXPECT_LT(r.buckets_checked, f.buckets_checked) << r.table;
    EXPECT_LT(r.rows_legacy, f.rows_legacy) << r.table;
    const auto time = find_table(r.table)->time_column;
    EXPECT_EQ(r.rows_legacy, scalar(db->dsn(), fmt::format("SELECT count(*) FROM {} WHERE {} >= "
                                                           "'2026-10-01'",
                                                           r.table, time)))
        << r.table;
  }
  EXPECT_EQ(recent.audit.details.at("since").as_string(), "2026-10-01");
  // The command: --since as a day; a malformed one is a usage error (exit 2).
  EXPECT_EQ(folioctl("switchover verify --database-url '" + db->dsn() + "' --since 2026-10-01"), 0);
  EXPECT_EQ(folioctl("switchover verify --database-url '" + db->dsn() + "' --since 2026-13-01"), 2);
  EXPECT_EQ(folioctl("switchover verify --database-url '" + db->dsn() + "' --since yesterday"), 2);
  EXPECT_EQ(recent.audit.status, "ok");
  // A clean partial run is recorded, but not as the full verification finalize looks for.
  EXPECT_EQ(scalar(db->dsn(),
                   "SELECT count(*) FROM cutover_audit WHERE phase = 'verify' AND "
                   "status = 'ok' AND details->>'since' IS NULL"),
            1);
  EXPECT_EQ(scalar(db->dsn(),
                   "SELECT count(*) FROM cutover_audit WHERE phase = 'verify' AND "
                   "status = 'ok' AND details->>'since' = '2026-10-01'"),
            2);
}

TEST(Verify, RefusedBeforePrepare) {
  const test::CutoverDatabase db("verify_refused");
  EXPECT_EQ(folioctl("switchover verify --database-url '" + db.dsn() + "'"), 5);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM cutover_audit"), 0);
  EXPECT_THROW(run_verify(db.dsn(), {}), db::ObjectNotInPrerequisiteState);
}

// Writers keep changing the data through legacy (triggers on) while verification runs again
// and again with small chunks: every snapshot sees both sides equal, so no run may report a
// difference.
TEST(Verify, NoFalseAlarmsUnderLiveWrites) {
  constexpr int kRounds = 2;
  const auto db = synced_database("verify_live");
  const auto& dsn = db->dsn();
  const auto first_org = scalar(dsn, "SELECT min(id) FROM organizations");
  std::int64_t writes = 0;
  std::int64_t retried = 0;
  std::vector<VerifyReport> reports;
  test::run_async(
      [&](asio::io_context& io) -> asio::awaitable<void> {
        db::Pool pool(io.get_executor(), {.dsn = dsn, .max_size = 8});
        bool stop = false;
        const auto writer = [&](int seed) -> asio::awaitable<void> {
          std::mt19937_64 random(seed);
          while (!stop) {
            const std::int64_t org = first_org + static_cast<std::int64_t>(random() % 200);
            const std::int64_t amount = static_cast<std::int64_t>(random() % 100000);
            try {
              switch (random() % 6) {
                case 0:
                  co_await pool.query(
                      "INSERT INTO revenues (org_id, category, amount_cents, currency, "
                      "occurred_at) VALUES ($1, 'room', $2, 'EUR', '2026-08-01'::timestamptz + "
                      "$3 * interval '1 minute')",
                      org, amount, amount % 80000);
                  break;
                case 1:
                  co_await pool.query(
                      "UPDATE revenues SET amount_cents = $2, updated_at = now() WHERE id = "
                      "(SELECT min(id) FROM revenues WHERE org_id = $1)",
                      org, amount);
                  break;
                case 2:  // a month move
                  co_await pool.query(
                      "UPDATE revenues SET occurred_at = occurred_at + interval '1 month' WHERE "
                      "id = (SELECT max(id) FROM revenues WHERE org_id = $1 AND occurred_at < "
                      "'2026-09-01')",
                      org);
                  break;
                case 3:
                  co_await pool.query(
                      "DELETE FROM expenses WHERE id = (SELECT max(id) FROM expenses WHERE "
                      "org_id = $1)",
                      org);
                  break;
                case 4:
                  co_await pool.query(
                      "INSERT INTO expenses (org_id, category, amount_cents, currency, "
                      "occurred_at) VALUES ($1, 'other', $2, 'EUR', '2026-06-15 08:00+00')",
                      org, amount);
                  break;
                default:
                  co_await pool.query(
                      "INSERT INTO balances (org_id, balance_date, revenue_cents, net_cents) "
                      "VALUES ($1, '2026-09-01'::date + ($2 % 30)::int, $2, $2) ON CONFLICT "
                      "(org_id, balance_date) DO UPDATE SET revenue_cents = "
                      "balances.revenue_cents + 1, net_cents = balances.net_cents + 1",
                      org, amount);
              }
              ++writes;
            } catch (const db::TransactionRollback&) {
              ++retried;  // deadlocks between writers: expected, the next write goes on
            }
          }
        };
        const auto verifier = [&]() -> asio::awaitable<void> {
          VerifyOptions options;
          options.first_chunk_rows = 200;  // dozens of chunks per table, many snapshots
          options.target_chunk = std::chrono::milliseconds(10);
          options.overhead_factor = 0;
          options.workers = 3;
          for (int round = 0; round < kRounds; ++round) {
            const auto before = writes;
            reports.push_back(co_await verify(pool, options));
            for (const auto& t : reports.back().tables) EXPECT_GT(t.chunks, 10) << t.table;
            EXPECT_GT(writes - before, 20) << "writers must be busy during round " << round;
          }
          stop = true;
        };
        auto ex = io.get_executor();
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(ex, writer(1), asio::deferred),
            asio::co_spawn(ex, writer(2), asio::deferred),
            asio::co_spawn(ex, writer(3), asio::deferred),
            asio::co_spawn(ex, verifier(), asio::deferred))
            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
      },
      std::chrono::seconds(300));
  ASSERT_EQ(reports.size(), static_cast<std::size_t>(kRounds));
  for (const auto& r : reports) {
    EXPECT_TRUE(r.clean);
    EXPECT_EQ(r.differences, 0);
    for (const auto& t : r.tables) {
      EXPECT_TRUE(t.mismatched_buckets.empty()) << t.table;
      // Not even a passing mismatch: each chunk saw both sides in one snapshot.
      EXPECT_EQ(t.vanished, 0) << t.table;
    }
  }
  for (const auto& spec : all_tables()) {
    EXPECT_EQ(test::side_differences(dsn, spec.name), 0) << spec.name;
  }
  std::cout << "writes during verification: " << writes << " (" << retried << " rolled back)\n";
}

TEST(Verify, ChunkScansUseTheOrgIndexes) {
  const auto db = synced_database("verify_plan");
  const auto plans = test::run_async([&](asio::io_context& io) -> asio::awaitable<std::string> {
    db::Pool pool(io.get_executor(), {.dsn = db->dsn(), .max_size = 2});
    co_return co_await explain_chunks(pool, {}, 3);
  });
  EXPECT_EQ(plans.find("Seq Scan"), std::string::npos) << plans;
  // Legacy: the (org_id, occurred_at) index or the balances primary key; partitioned: each
  // leaf's primary key, which leads with org_id.
  for (const std::string index :
       {"revenues_org_occurred_idx", "expenses_org_occurred_idx", "balances_pkey",
        "revenues_partitioned_y2026m10_h15_pkey", "expenses_partitioned_y2026m10_h15_pkey",
        "balances_partitioned_y2026m10_h15_pkey"}) {
    EXPECT_NE(plans.find(index), std::string::npos) << index;
  }
}

}  // namespace
}  // namespace folio::cutover
