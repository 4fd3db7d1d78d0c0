// Scheduled jobs across a fleet: three folio-server instances against one database, their
// jobs through PgBouncer in transaction mode. Each period the maintenance job runs exactly
// once, runs never overlap; a holder killed with SIGKILL mid-run is replaced within its
// lease TTL; a holder paused with SIGSTOP past its lease resumes fenced: its run ends 'lost'
// at its next write and the job stays with the instance that took it over. And maintenance
// under a single-row insert load through PgBouncer: no insert fails, the longest is reported.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "api_support.hpp"
#include "infra_support.hpp"
#include "support/cutover_database.hpp"

namespace folio::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Renewed every third of it: a holder that is merely slow (a busy machine) keeps its lease
// unless it stalls for over 2.6 s; one killed or stopped loses it after 4 s.
constexpr int kLeaseTtlMs = 4000;

struct Fleet {
  InfraStack stack;
  std::vector<std::unique_ptr<ServerProcess>> servers;

  Fleet() {
    const auto r = folioctl("switchover prepare --future-months 1 --database-url '" +
                            stack.value("DATABASE_DIRECT_URL") + "'");
    if (r.exit_code != 0) throw std::runtime_error("prepare failed:\n" + r.output);
    for (int i = 0; i < 3; ++i) {
      auto o = stack.options(false, false);
      o.env["FOLIO_JOBS"] = "partition-maintenance";
      o.env["FOLIO_JOBS_DATABASE_URL"] = stack.value("DATABASE_URL");  // PgBouncer
      o.env["FOLIO_MAINTENANCE_PERIOD_S"] = "1";
      o.env["FOLIO_FUTURE_MONTHS"] = "3";
      o.env["FOLIO_JOB_LEASE_TTL_MS"] = std::to_string(kLeaseTtlMs);
      servers.push_back(stack.start(o));
    }
  }
  std::string dsn() const { return stack.value("DATABASE_DIRECT_URL"); }
  std::int64_t sql(const std::string& query) const { return scalar(dsn(), query); }
  // Every run, for failure messages.
  std::string runs() const {
    return run_async([&](boost::asio::io_context& io) -> boost::asio::awaitable<std::string> {
      auto c = co_await db::Connection::connect(io.get_executor(), dsn(), seconds(5));
      auto r = co_await c->execute(
          "SELECT coalesce(string_agg(format('term %s %s %s: %s %s', term, instance, started_at, "
          "outcome, error), E'\n' ORDER BY term), '') FROM folio_job_runs");
      co_return r.front().get<std::string>(0);
    });
  }
  // The server whose pid is in the current holder's instance id ("host:pid:xxxx").
  ServerProcess* holder() {
    const auto pid =
        sql("SELECT max(split_part(holder, ':', 2)::bigint) FROM folio_jobs "
            "WHERE name = 'partition-maintenance' AND holder IS NOT NULL");
    for (auto& s : servers) {
      if (s->pid() == pid) return s.get();
    }
    return nullptr;
  }
  // Waits until `pred` holds, polling; false after `limit`.
  template <typename Pred>
  bool until(Pred pred, milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return pred();
  }
};

// Runs of the job that overlap another or follow the previous one within less than a period.
// A run that ended 'lost' was fenced out: it held nothing from the moment its lease lapsed.
constexpr const char* kBadSpacing =
    "SELECT count(*) FROM (SELECT started_at, finished_at, lead(started_at) OVER (ORDER BY term) "
    "AS next FROM folio_job_runs WHERE job = 'partition-maintenance' AND outcome <> 'lost') r "
    "WHERE next IS NOT NULL AND (next - started_at < interval '1 s' OR finished_at > next)";

// A psql session of this test that holds the revenues DEFAULT partition: every maintenance
// run blocks on its first read of it, so the lease holder stays mid-run until release().
class Blocker {
 public:
  Blocker(const Fleet& fleet) : fleet_(fleet) {
    name_ = "folio_blocker_" + std::to_string(::getpid());
    const std::string command =
        "PGAPPNAME=" + name_ + " '" + fleet.stack.value("PG_BIN") + "/psql' -X -q '" + fleet.dsn() +
        "' -c BEGIN -c 'LOCK TABLE revenues_partitioned_default IN ACCESS EXCLUSIVE MODE' "
        "-c 'SELECT pg_sleep(600)' >/dev/null 2>&1 &";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("psql did not start");
    const auto end = std::chrono::steady_clock::now() + seconds(30);
    while (fleet.sql("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                     "WHERE a.application_name = '" +
                     name_ +
                     "' AND l.relation = 'revenues_partitioned_default'::regclass "
                     "AND l.mode = 'AccessExclusiveLock' AND l.granted") == 0) {
      if (std::chrono::steady_clock::now() > end) throw std::runtime_error("no lock taken");
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  void release() {
    if (released_) return;
    released_ = true;
    fleet_.sql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = '" +
        name_ + "'");
  }
  ~Blocker() { release(); }

 private:
  const Fleet& fleet_;
  std::string name_;
  bool released_ = false;
};

TEST(JobsFleet, OneRunPerPeriodAndAKilledHolderIsReplacedWithinTheLease) {
  Fleet fleet;
  // Several periods: every run is alone in its period, and the job got its months made.
  ASSERT_TRUE(fleet.until(
      [&] {
        return fleet.sql("SELECT count(*) FROM folio_job_runs WHERE outcome <> 'running'") >= 4;
      },
      seconds(60)));
  EXPECT_EQ(fleet.sql(kBadSpacing), 0);
  EXPECT_EQ(fleet.sql("SELECT count(*) FROM folio_job_runs WHERE outcome NOT IN "
                      "('ok', 'noop', 'running')"),
            0)
      << fleet.runs();
  EXPECT_EQ(fleet.sql("SELECT count(*) FROM cutover_audit WHERE phase = 'maintenance'"), 1);
  EXPECT_EQ(fleet.sql("SELECT count(*) FROM pg_class WHERE relname = 'revenues_partitioned_y' || "
                      "to_char(now() + interval '3 months', 'YYYY\"m\"MM')"),
            1);

  // A holder stuck mid-run, then killed: another instance claims the job once the lease
  // expires, never before.
  Blocker blocker(fleet);
  ServerProcess* victim = nullptr;
  ASSERT_TRUE(fleet.until([&] { return (victim = fleet.holder()) != nullptr; }, seconds(30)));
  const auto victim_term =
      fleet.sql("SELECT term FROM folio_jobs WHERE name = 'partition-maintenance'");
  victim->signal(SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(fleet.until(
      [&] {
        auto* h = fleet.holder();
        return h != nullptr && h != victim;
      },
      seconds(30)));
  const auto took =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - killed_at);
  std::printf("taken over %lld ms after SIGKILL (lease TTL %d ms)\n",
              static_cast<long long>(took.count()), kLeaseTtlMs);
  // The new term started after the old lease had expired: never two holders.
  EXPECT_EQ(fleet.sql("SELECT count(*) FROM folio_job_runs WHERE term = " +
                      std::to_string(victim_term) + " AND outcome = 'lost'"),
            1);
  blocker.release();
  ASSERT_TRUE(fleet.until(
      [&] {
        return fleet.sql("SELECT count(*) FROM folio_job_runs WHERE term > " +
                         std::to_string(victim_term) + " AND outcome IN ('ok', 'noop')") >= 1;
      },
      seconds(30)));
  EXPECT_EQ(fleet.sql(kBadSpacing), 0);
}

TEST(JobsFleet, AHolderPausedPastItsLeaseResumesFenced) {
  Fleet fleet;
  ASSERT_TRUE(fleet.until(
      [&] {
        return fleet.sql("SELECT count(*) FROM folio_job_runs WHERE outcome <> 'running'") >= 1;
      },
      seconds(60)));
  Blocker blocker(fleet);
  ServerProcess* paused = nullptr;
  ASSERT_TRUE(fleet.until([&] { return (paused = fleet.holder()) != nullptr; }, seconds(30)));
  const auto paused_term =
      fleet.sql("SELECT term FROM folio_jobs WHERE name = 'partition-maintenance'");
  paused->signal(SIGSTOP);
  // Its lease lapses; another instance takes the job (and blocks like it did).
  const bool taken = fleet.until(
      [&] {
        auto* h = fleet.holder();
        return h != nullptr && h != paused;
      },
      seconds(30));
  blocker.release();
  // The new holder finishes; then the paused one resumes and must not act as the holder.
  const bool finished = fleet.until(
      [&] {
        return fleet.sql("SELECT count(*) FROM folio_job_runs WHERE term > " +
                         std::to_string(paused_term) + " AND outcome IN ('ok', 'noop')") >= 1;
      },
      seconds(30));
  paused->signal(SIGCONT);
  ASSERT_TRUE(taken);
  ASSERT_TRUE(finished);
  // Resumed, its run reaches its next fenced step and ends lost; the job was never run by
  // two instances at once.
  EXPECT_TRUE(fleet.until(
      [&] {
        return fleet.sql("SELECT count(*) FROM folio_job_runs WHERE term = " +
                         std::to_string(paused_term) +
                         " AND outcome = 'lost' AND finished_at IS NOT NULL AND "
                         "error LIKE '%lost its lease%'") == 1;
      },
      seconds(30)))
      << fleet.sql("SELECT count(*) FROM folio_job_runs WHERE term = " +
                   std::to_string(paused_term));
  EXPECT_EQ(fleet.sql(kBadSpacing), 0);
  EXPECT_TRUE(paused->wait_ready(milliseconds(10000)));  // the instance itself serves on
}

TEST(JobsFleet, MaintenanceUnderAnInsertLoadThroughPgBouncer) {
  // No servers: pgbench inserts single rows through PgBouncer while `folioctl jobs run`
  // creates four months ahead on all three tables and moves a row planted in DEFAULT.
  InfraStack stack;
  const std::string direct = stack.value("DATABASE_DIRECT_URL");
  ASSERT_EQ(
      folioctl("switchover prepare --future-months 1 --database-url '" + direct + "'").exit_code,
      0);
  scalar(direct,
         "INSERT INTO revenues_partitioned (org_id, category, amount_cents, currency, occurred_at) "
         "VALUES (1, 'room', 5, 'EUR', '2091-05-05 00:00+00') RETURNING 1");
  const std::string dir = stack.stack().dir();
  {
    std::ofstream script(dir + "/insert.sql");
    script << "\\set org random(1, 20)\n"
              "INSERT INTO revenues_partitioned (org_id, category, amount_cents, currency, "
              "occurred_at) VALUES (:org, 'room', 100, 'EUR', now());\n";
  }
  const std::string pgbench = "cd '" + dir + "' && '" + stack.value("PG_BIN") +
                              "/pgbench' -n -f insert.sql -c 4 -j 2 -T 8 -l --log-prefix=pgb '" +
                              stack.value("DATABASE_URL") + "' > pgbench.out 2>&1";
  std::thread load([&] { EXPECT_EQ(std::system(pgbench.c_str()), 0); });
  std::this_thread::sleep_for(milliseconds(2000));
  const auto job = folioctl(
      "--json jobs run partition-maintenance --future-months 4 "
      "--database-url '" +
      stack.value("DATABASE_URL") + "'");
  load.join();
  ASSERT_EQ(job.exit_code, 0) << job.output;
  // The JSON record is the line that starts with {"job".
  const auto at = job.output.find("{\"job\"");
  ASSERT_NE(at, std::string::npos) << job.output;
  const auto record =
      boost::json::parse(job.output.substr(at, job.output.find('\n', at) - at)).as_object();
  EXPECT_EQ(record.at("outcome").as_string(), "ok");
  for (const auto& t : record.at("details").at("tables").as_array()) {
    const auto& table = t.as_object();
    SCOPED_TRACE(table.at("table").as_string().c_str());
    EXPECT_EQ(table.at("before").at("months_ready_ahead").as_int64(), 1);
    EXPECT_EQ(table.at("after").at("months_ready_ahead").as_int64(), 4);
    EXPECT_EQ(table.at("after").at("default").at("rows").as_int64(), 0);
  }
  EXPECT_EQ(scalar(direct, "SELECT count(*) FROM revenues_partitioned_y2091m05"), 1);
  // Every insert succeeded; the longest one is reported, not asserted (the machine is shared).
  std::int64_t inserts = 0;
  std::int64_t longest_us = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("pgb.", 0) != 0) continue;
    std::ifstream log(entry.path());
    std::int64_t client = 0, tx = 0, us = 0;
    std::string rest;
    while (log >> client >> tx >> us && std::getline(log, rest)) {
      ++inserts;
      longest_us = std::max(longest_us, us);
    }
  }
  EXPECT_GT(inserts, 0);
  std::stringstream summary;
  summary << std::ifstream(dir + "/pgbench.out").rdbuf();
  EXPECT_NE(summary.str().find("number of failed transactions: 0 "), std::string::npos)
      << summary.str();
  // Each logged insert is in the table (a client's last one may commit as -T ends, unlogged).
  const auto stored = scalar(direct,
                             "SELECT count(*) FROM revenues_partitioned WHERE occurred_at > "
                             "now() - interval '1 hour'");
  EXPECT_GE(stored, inserts);
  EXPECT_LE(stored, inserts + 4);
  std::printf("maintenance under load: %lld inserts, longest %.1f ms\n",
              static_cast<long long>(inserts), static_cast<double>(longest_us) / 1000);
}

}  // namespace
}  // namespace folio::test
