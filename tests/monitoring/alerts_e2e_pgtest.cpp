// folio's alerts against real faults: a private stack whose Prometheus (1 s scrape and
// evaluation, the rules of deploy/prometheus/rules) scrapes one folio-server with the
// replica, Redis and every scheduled job. Each fault must make its alert pending or firing in
// Prometheus's /api/v1/alerts within 60 s, and the alert must leave once the fault is fixed:
//
// - replica stopped: FolioReplicaOutOfRotation{replica} and FolioNoReplicaInRotation;
// - Redis stopped while reports are requested: FolioCacheBreakerOpen{breaker="redis"};
// - an expense its sync trigger cannot mirror (a CHECK on the partitioned side only):
//   FolioSyncTriggerFailures{table="expenses",operation="insert"};
// - a revenue dated in a month without a partition:
//   FolioPartitionDefaultRows{table="revenues_partitioned"};
// - maintenance unable to attach that month, a session holding the DEFAULT partition so that
//   the ACCESS EXCLUSIVE lock of every attempt runs into lock_timeout:
//   FolioJobFailing{job="partition-maintenance"};
// - a partitioned row changed behind the sync triggers, then a full verification:
//   FolioVerifyDifferences.
//
// The faults overlap to keep the test short; each alert is matched by its name and labels and
// timed from its own fault. The sync failure comes first: its alert looks back 2 minutes, so
// it clears last.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/infra_support.hpp"
#include "support/prometheus_client.hpp"

namespace folio::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// How long Prometheus may take to show an alert after its fault: the requirement.
constexpr auto kAlertWithin = 60s;
// How long an alert may take to leave after its fix: the breaker alert looks back a minute
// after a probe closes the breaker (up to 30 s after Redis is back); the others follow a
// job run and the 15 s refresh of the fleet gauges.
constexpr auto kClearWithin = 150s;
// The sync failure alert looks back 2 minutes from the failed write, whatever the fix.
constexpr auto kSyncClearWithin = 200s;

// Runs `sql` (one or more statements) on a new connection; throws with the server's message.
void exec(const std::string& dsn, const std::string& sql) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string error = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("connect: " + error);
  }
  PGresult* result = PQexec(conn, sql.c_str());
  const auto status = PQresultStatus(result);
  const std::string error = PQresultErrorMessage(result);
  PQclear(result);
  PQfinish(conn);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql + ": " + error);
  }
}

// An open transaction holding ACCESS SHARE on `table` (as a long report or a forgotten
// BEGIN would) until release(): no reader or writer waits for it, but partition
// maintenance's ACCESS EXCLUSIVE lock on it times out.
class LockHolder {
 public:
  LockHolder(const std::string& dsn, const std::string& table) {
    conn_ = PQconnectdb(dsn.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
      const std::string error = PQerrorMessage(conn_);
      release();
      throw std::runtime_error("connect: " + error);
    }
    run("SET application_name = 'folio_alerts_e2e'");
    run("BEGIN");
    run("LOCK TABLE " + table + " IN ACCESS SHARE MODE");
  }
  ~LockHolder() { release(); }
  LockHolder(const LockHolder&) = delete;
  LockHolder& operator=(const LockHolder&) = delete;

  void release() {
    if (conn_ == nullptr) return;
    PQclear(PQexec(conn_, "ROLLBACK"));
    PQfinish(conn_);
    conn_ = nullptr;
  }

 private:
  void run(const std::string& sql) {
    PGresult* result = PQexec(conn_, sql.c_str());
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    const std::string error = PQresultErrorMessage(result);
    PQclear(result);
    if (!ok) {
      release();
      throw std::runtime_error(sql + ": " + error);
    }
  }

  PGconn* conn_ = nullptr;
};

// One alert the test expects, with the fault that raises it and the fix that clears it.
struct Expected {
  std::string name;
  PromLabels labels;
  std::string fault;
  Clock::time_point fault_at{};
  Clock::time_point fixed_at{};
  std::chrono::seconds clear_within = kClearWithin;
  std::optional<Clock::duration> seen_after;     // since the fault
  std::optional<Clock::duration> cleared_after;  // since the fix
};

std::string describe(const std::string& name, const PromLabels& labels) {
  std::string out = name + "{";
  bool first = true;
  for (const auto& [key, value] : labels) {
    out += (first ? "" : ",") + key + "=\"" + value + "\"";
    first = false;
  }
  return out + "}";
}

bool matches(const Alert& alert, const std::string& name, const PromLabels& labels) {
  if (alert.name != name || (alert.state != "pending" && alert.state != "firing")) return false;
  for (const auto& [key, value] : labels) {
    const auto it = alert.labels.find(key);
    if (it == alert.labels.end() || it->second != value) return false;
  }
  return true;
}

bool active(const std::vector<Alert>& alerts, const Expected& e) {
  for (const auto& a : alerts) {
    if (matches(a, e.name, e.labels)) return true;
  }
  return false;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The raw answer of GET /api/v1/alerts, for failure messages.
std::string alerts_json(const InfraStack& stack) {
  try {
    HttpClient http("127.0.0.1", std::stoi(stack.value("PROMETHEUS_PORT")), 10s);
    return http.request("GET", "/api/v1/alerts").body;
  } catch (const std::exception& e) {
    return std::string("(GET /api/v1/alerts failed: ") + e.what() + ")";
  }
}

// Polls Prometheus until the value of `promql` (the first series) satisfies `done`.
bool until_value(PrometheusClient& prometheus, const std::string& promql,
                 const std::function<bool(std::optional<double>)>& done,
                 std::chrono::milliseconds timeout, std::string& last) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto v = prometheus.value(promql);
    last = v ? std::to_string(*v) : "no series";
    if (done(v)) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(250ms);
  }
}

TEST(AlertsE2e, EachFaultRaisesItsAlertWithinAMinuteAndTheFixClearsIt) {
  InfraStack stack(20);
  const std::string direct = stack.value("DATABASE_DIRECT_URL");
  const std::string url = " --database-url '" + direct + "'";
  // Both sides in sync with the history copied, a clean full verification, organization 1 a
  // pilot on the partitioned tables; the rest of the fleet stays on legacy.
  prepare_pilots(direct, "1");
  if (HasFatalFailure()) return;

  // Every job; maintenance every 3 s. The verification jobs keep their long periods: the
  // test runs the full verifications itself.
  auto options = stack.options(true, true);
  options.env["FOLIO_JOBS"] = "all";
  options.env["FOLIO_JOBS_DATABASE_URL"] = direct;
  options.env["FOLIO_MAINTENANCE_PERIOD_S"] = "3";
  options.env["FOLIO_FUTURE_MONTHS"] = "3";
  auto server = stack.start(options);
  ASSERT_TRUE(until_in_rotation(*server, 1, 30s)) << server->log();

  // Reports of the pilot and of three fleet organizations flow all along: the cache
  // breaker only changes state on requests.
  std::vector<std::string> tokens(5);
  for (std::int64_t org = 1; org <= 4; ++org) tokens[org] = stack.token(org);
  Load reports(*server, 2, [&tokens](HttpClient& http, int client, int i, std::string& why) {
    const std::int64_t org = 1 + (client + i) % 4;
    const std::string target = "/v1/orgs/" + std::to_string(org) +
                               "/reports/pnl?from=" + utc_day(-60) + "&to=" + utc_day() +
                               "&granularity=month";
    const auto res = http.request("GET", target, tokens[org]);
    std::this_thread::sleep_for(50ms);
    if (res.status == 200) return true;
    why = target + " -> " + std::to_string(res.status) + " " + res.body;
    return false;
  });

  // Prometheus scrapes the server and has every series the alerts read, at its healthy
  // value: an alert that cannot see its series would never fire.
  PrometheusClient prometheus(stack.value("PROMETHEUS_URL"));
  const std::string instance = "instance=\"" + server->address() + "\"";
  const auto sel = [&](const std::string& metric, const std::string& labels = "") {
    return metric + "{" + instance + (labels.empty() ? "" : "," + labels) + "}";
  };
  const auto is = [](double want) { return [want](std::optional<double> v) { return v == want; }; };
  struct Baseline {
    std::string promql;
    double value;
  };
  const std::vector<Baseline> baseline{
      {"up{job=\"folio\"," + instance + "}", 1},
      {sel("folio_replicas_configured"), 1},
      {sel("folio_replicas_in_rotation"), 1},
      {"min(" + sel("folio_replica_in_rotation") + ")", 1},
      {sel("folio_cache_breaker_state", "breaker=\"redis\""), 0},
      {sel("folio_sync_failures_total", "table=\"expenses\",operation=\"insert\""), 0},
      {sel("folio_partition_default_rows", "table=\"revenues_partitioned\""), 0},
      // The stack's Prometheus keeps folio's job label as exported_job; either layout.
      {"max(" + sel("folio_job_fleet_last_run_failed", "exported_job=\"partition-maintenance\"") +
           " or " + sel("folio_job_fleet_last_run_failed", "job=\"partition-maintenance\"") + ")",
       0},
      {sel("folio_verify_last_differences"), 0},
  };
  for (const auto& b : baseline) {
    std::string last;
    ASSERT_TRUE(until_value(prometheus, b.promql, is(b.value), 60s, last))
        << b.promql << " = " << last << ", want " << b.value << "\n"
        << server->log();
  }
  const auto replicas = prometheus.query(sel("folio_replica_in_rotation"));
  ASSERT_EQ(replicas.as_array().size(), 1u) << boost::json::serialize(replicas);
  const std::string replica = std::string(replicas.at(0).at("metric").at("replica").as_string());

  std::vector<Expected> expected{
      {"FolioSyncTriggerFailures",
       {{"table", "expenses"}, {"operation", "insert"}},
       "an expense its sync trigger could not mirror"},
      {"FolioPartitionDefaultRows",
       {{"table", "revenues_partitioned"}},
       "a revenue dated in a month without a partition"},
      {"FolioJobFailing",
       {{"job", "partition-maintenance"}},
       "maintenance with a month to attach, its DEFAULT partition held by another session"},
      {"FolioReplicaOutOfRotation", {{"replica", replica}}, "replica stopped"},
      {"FolioNoReplicaInRotation", {{"job", "folio"}}, "replica stopped"},
      {"FolioCacheBreakerOpen", {{"breaker", "redis"}}, "Redis stopped"},
      {"FolioVerifyDifferences", {}, "a partitioned row changed behind the sync triggers"},
  };
  enum { kSync, kDefaultRows, kJob, kReplicaOut, kNoReplica, kBreaker, kVerify };
  expected[kSync].clear_within = kSyncClearWithin;

  // None of them is active before the faults.
  {
    const auto alerts = prometheus.alerts();
    for (const auto& e : expected) {
      EXPECT_FALSE(active(alerts, e))
          << describe(e.name, e.labels) << " is active before any fault:\n"
          << alerts_json(stack);
    }
    if (HasFailure()) return;
  }

  // --- The faults.
  HttpClient http(server->host(), server->port());
  const std::string refused = "refused by the partitioned side";
  const auto expense = [&](const std::string& description) {
    return R"({"category":"payroll","amount_cents":1234,"occurred_at":")" + utc_day() +
           R"(T09:00:00Z","description":")" + description + R"("})";
  };
  // A CHECK only the partitioned side has: organization 3 writes to legacy, and the sync
  // trigger's mirror of this expense fails, so the write is rolled back (FS001).
  exec(direct,
       "ALTER TABLE expenses_partitioned ADD CONSTRAINT alerts_e2e_refused "
       "CHECK (description IS DISTINCT FROM '" +
           refused + "')");
  {
    const auto res = http.request("POST", "/v1/orgs/3/expenses", tokens[3], expense(refused));
    expected[kSync].fault_at = Clock::now();
    EXPECT_GE(res.status, 400) << "the write should be refused: " << res.body;
    EXPECT_EQ(scalar(direct,
                     "SELECT count(*) FROM sync_failures WHERE table_name = 'expenses' AND "
                     "operation = 'insert' AND direction = 'partitioned' AND sqlstate = '23514' "
                     "AND message LIKE '%alerts_e2e_refused%'"),
              1);
  }

  // Maintenance gets a month to attach while a session holds the DEFAULT partition: it keeps
  // failing, and the row stays in DEFAULT.
  LockHolder holder(direct, "revenues_partitioned_default");
  const auto today = std::chrono::year_month_day{
      std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())};
  const int far_year = static_cast<int>(today.year()) + 5;
  const std::string far_month = std::to_string(far_year) + "-05";
  {
    const auto res = http.request("POST", "/v1/orgs/3/revenues", tokens[3],
                                  R"({"category":"room","amount_cents":4242,"occurred_at":")" +
                                      far_month + R"(-01T12:00:00Z"})");
    expected[kDefaultRows].fault_at = expected[kJob].fault_at = Clock::now();
    ASSERT_EQ(res.status, 201) << res.body;
  }
  EXPECT_EQ(scalar(direct, "SELECT count(*) FROM revenues_partitioned_default"), 1);

  stack.stack().component("stop-replica");
  expected[kReplicaOut].fault_at = expected[kNoReplica].fault_at = Clock::now();

  stack.stack().component("stop-redis");
  expected[kBreaker].fault_at = Clock::now();

  // An amount changed on the partitioned side only (the triggers do not fire for a session
  // in replica mode), in an old month of organization 5, on legacy; a full verification
  // finds it.
  exec(direct,
       "SET session_replication_role = replica; "
       "UPDATE revenues_partitioned p SET amount_cents = p.amount_cents + 1 "
       "  FROM (SELECT id, occurred_at FROM revenues WHERE org_id = 5 "
       "         ORDER BY occurred_at, id LIMIT 1) r "
       " WHERE p.id = r.id AND p.occurred_at = r.occurred_at");
  expected[kVerify].fault_at = Clock::now();
  {
    const auto r = folioctl("switchover verify" + url);
    EXPECT_EQ(r.exit_code, 4) << "the verification should find the changed row:\n" << r.output;
  }

  // --- Each alert within a minute of its fault.
  for (;;) {
    const auto alerts = prometheus.alerts();
    const auto now = Clock::now();
    bool waiting = false;
    for (auto& e : expected) {
      if (e.seen_after) continue;
      if (active(alerts, e)) {
        e.seen_after = now - e.fault_at;
      } else if (now - e.fault_at <= kAlertWithin) {
        waiting = true;
      }
    }
    if (!waiting) break;
    std::this_thread::sleep_for(500ms);
  }
  std::string missing;
  for (const auto& e : expected) {
    if (e.seen_after && *e.seen_after <= kAlertWithin) {
      std::printf("%-60s pending/firing %5.1f s after: %s\n", describe(e.name, e.labels).c_str(),
                  seconds(*e.seen_after), e.fault.c_str());
    } else {
      missing += "  " + describe(e.name, e.labels) +
                 " not pending/firing within 60 s of: " + e.fault + "\n";
    }
  }
  EXPECT_TRUE(missing.empty()) << missing << "GET /api/v1/alerts:\n" << alerts_json(stack);

  // --- The fixes.
  exec(direct, "ALTER TABLE expenses_partitioned DROP CONSTRAINT alerts_e2e_refused");
  expected[kSync].fixed_at = Clock::now();
  {
    const auto res = http.request("POST", "/v1/orgs/3/expenses", tokens[3], expense(refused));
    EXPECT_EQ(res.status, 201) << "the same expense after the fix: " << res.body;
  }

  // The next maintenance run attaches the month and moves the row out of DEFAULT.
  holder.release();
  expected[kDefaultRows].fixed_at = expected[kJob].fixed_at = Clock::now();

  stack.stack().component("start-replica");
  expected[kReplicaOut].fixed_at = expected[kNoReplica].fixed_at = Clock::now();

  stack.stack().component("start-redis");  // the report load goes on: a probe closes it
  expected[kBreaker].fixed_at = Clock::now();

  {
    const auto repair = folioctl("switchover verify --repair" + url);
    EXPECT_EQ(repair.exit_code, 0) << repair.output;
    const auto clean = folioctl("switchover verify" + url);
    EXPECT_EQ(clean.exit_code, 0) << clean.output;
    expected[kVerify].fixed_at = Clock::now();
  }

  // --- Each alert gone after its fix.
  for (;;) {
    const auto alerts = prometheus.alerts();
    const auto now = Clock::now();
    bool waiting = false;
    for (auto& e : expected) {
      if (e.cleared_after) continue;
      if (!active(alerts, e)) {
        e.cleared_after = now - e.fixed_at;
      } else if (now - e.fixed_at <= e.clear_within) {
        waiting = true;
      }
    }
    if (!waiting) break;
    std::this_thread::sleep_for(500ms);
  }
  std::string stuck;
  for (const auto& e : expected) {
    if (e.cleared_after) {
      std::printf("%-60s cleared %5.1f s after the fix\n", describe(e.name, e.labels).c_str(),
                  seconds(*e.cleared_after));
    } else {
      stuck += "  " + describe(e.name, e.labels) + " still pending/firing " +
               std::to_string(e.clear_within.count()) + " s after the fix of: " + e.fault + "\n";
    }
  }
  EXPECT_TRUE(stuck.empty()) << stuck << "GET /api/v1/alerts:\n" << alerts_json(stack);

  // The maintenance run that cleared them moved the row into its new month.
  EXPECT_EQ(scalar(direct, "SELECT count(*) FROM revenues_partitioned_default"), 0);
  EXPECT_EQ(scalar(direct, "SELECT count(*) FROM revenues_partitioned_y" +
                               std::to_string(far_year) + "m05"),
            1);

  reports.stop();
  std::printf("report load: %d requests, %d failed%s%s\n", reports.requests(), reports.failures(),
              reports.failures() > 0 ? "; first: " : "",
              reports.failures() > 0 ? reports.first_failure().c_str() : "");
  EXPECT_GT(reports.requests(), 100);
  EXPECT_EQ(server->stop(), 0) << server->log();
}

}  // namespace
}  // namespace folio::test
