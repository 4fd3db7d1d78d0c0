// Every folio metric the alert and recording rules (deploy/prometheus/rules/*.yml) and the
// Grafana dashboard (deploy/grafana/folio-dashboard.json) read is one a real folio-server
// exports. A rule or panel over a metric that does not exist never fires and never shows
// anything, and nothing else would notice.
//
// The server runs on a private stack (its replica and Redis get stopped) after a cutover
// with a pilot, with every job (the pilot guard too, dry run), the replica and Redis: it
// serves every kind of route, a routing change, job runs, a replica leaving rotation and
// reports while Redis is down.
// Then /metrics must have samples of every referenced family. Also: every runbook_url of
// the alert rules points at a section of docs/runbook.md.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/infra_support.hpp"
#include "queries.hpp"

namespace folio::test {
namespace {

using namespace std::chrono_literals;
using monitoring::Query;

// Metric names referenced by the rules and the dashboard, each with where it is read.
struct References {
  std::map<std::string, std::set<std::string>> names;
  std::vector<std::string> problems;  // unreadable files
};

References referenced_names() {
  References refs;
  std::vector<Query> queries;
  std::set<std::string> recorded;
  const auto files = monitoring::rule_file_paths();
  if (files.empty())
    refs.problems.push_back("no rule files in " + monitoring::rules_dir().string());
  for (const auto& path : files) {
    try {
      auto file = monitoring::read_rule_file(path);
      recorded.insert(file.records.begin(), file.records.end());
      queries.insert(queries.end(), file.queries.begin(), file.queries.end());
    } catch (const std::exception& e) {
      refs.problems.push_back(path.string() + ": " + e.what());
    }
  }
  try {
    const auto dashboard = monitoring::load_dashboard();
    for (const auto& q : monitoring::dashboard_queries(dashboard)) {
      queries.push_back({"dashboard " + q.where, q.expr});
    }
  } catch (const std::exception& e) {
    refs.problems.push_back(monitoring::dashboard_path().string() + ": " + e.what());
  }
  for (const auto& q : queries) {
    for (const auto& name : monitoring::metric_names(q.expr)) {
      if (!recorded.contains(name)) refs.names[name].insert(q.where);
    }
  }
  return refs;
}

// The families of an exposition ("# TYPE" lines) and those with at least one sample.
struct Exposition {
  std::map<std::string, std::string> types;
  std::set<std::string> sampled;

  // The family of a sample or referenced name: itself when declared, else without a
  // histogram/summary suffix.
  std::string family(const std::string& name) const {
    if (types.contains(name)) return name;
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return name.substr(0, name.size() - suffix.size());
      }
    }
    return name;
  }
};

Exposition parse_exposition(const std::string& text) {
  Exposition e;
  std::istringstream in(text);
  std::vector<std::string> samples;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      e.types[name] = type;
    } else if (!line.empty() && line[0] != '#') {
      samples.push_back(line.substr(0, line.find_first_of("{ ")));
    }
  }
  for (const auto& s : samples) e.sampled.insert(e.family(s));
  return e;
}

// Referenced families without samples, one line each with where they are read.
std::vector<std::string> missing_families(const References& refs, const Exposition& e) {
  std::map<std::string, std::set<std::string>> by_family;
  for (const auto& [name, where] : refs.names) {
    by_family[e.family(name)].insert(where.begin(), where.end());
  }
  std::vector<std::string> out;
  for (const auto& [family, where] : by_family) {
    if (e.sampled.contains(family)) continue;
    std::string line =
        family + (e.types.contains(family) ? " (declared, no samples)" : "") + " <- ";
    std::size_t shown = 0;
    for (const auto& w : where) {
      if (shown++ == 3) {
        line += ", ... (" + std::to_string(where.size()) + " queries)";
        break;
      }
      line += (shown > 1 ? ", " : "") + w;
    }
    out.push_back(line);
  }
  return out;
}

std::string metrics_text(const ServerProcess& server) {
  HttpClient http(server.host(), server.port(), 10s);
  const auto res = http.request("GET", "/metrics");
  if (res.status != 200)
    throw std::runtime_error("/metrics answered " + std::to_string(res.status));
  return res.body;
}

// The values of every series of `family` (any labels).
std::vector<double> values_of(const std::string& text, const std::string& family) {
  std::vector<double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(family, 0) != 0 || line.size() <= family.size()) continue;
    const char next = line[family.size()];
    if (next != '{' && next != ' ') continue;
    out.push_back(std::stod(line.substr(line.rfind(' ') + 1)));
  }
  return out;
}

template <typename Pred>
bool until(Pred pred, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return pred();
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

TEST(MetricContract, EveryReferencedMetricIsExportedByARealServer) {
  const auto refs = referenced_names();
  EXPECT_TRUE(refs.problems.empty()) << join(refs.problems);
  ASSERT_GT(refs.names.size(), 20u) << "almost no folio metric referenced: reading broke?";

  InfraStack stack(20);
  const std::string direct = stack.value("DATABASE_DIRECT_URL");
  // Cut over with a pilot: both sides in sync, a clean full verification, organization 1 a
  // pilot on the partitioned tables, the fleet on legacy.
  prepare_pilots(direct, "1");
  if (HasFatalFailure()) return;

  auto options = stack.options(true, true);
  options.env["FOLIO_JOBS"] = "all";
  options.env["FOLIO_JOBS_DATABASE_URL"] = direct;
  options.env["FOLIO_MAINTENANCE_PERIOD_S"] = "2";
  options.env["FOLIO_RETENTION_PERIOD_S"] = "2";
  options.env["FOLIO_VERIFY_RECENT_PERIOD_S"] = "2";
  options.env["FOLIO_VERIFY_FULL_PERIOD_S"] = "3";
  options.env["FOLIO_FUTURE_MONTHS"] = "3";
  // The pilot guard (opt-in) checks the pilot on the stack's Prometheus, only reporting.
  options.env["FOLIO_PILOT_GUARD_PROMETHEUS_URL"] = stack.value("PROMETHEUS_URL");
  options.env["FOLIO_PILOT_GUARD_INTERVAL_S"] = "1";
  options.env["FOLIO_PILOT_GUARD_DRY_RUN"] = "true";
  auto server = stack.start(options);
  ASSERT_TRUE(until_in_rotation(*server, 1, 20s)) << server->log();

  const auto pilot = stack.token(1);
  const auto fleet = stack.token(3);
  const auto admin = create_token(direct, auth::Scope::admin, std::nullopt);
  HttpClient http(server->host(), server->port());
  const std::string range = "from=" + utc_day(-60) + "&to=" + utc_day();
  const auto expect_status = [&](const char* method, const std::string& target,
                                 const std::string& token, int status,
                                 std::optional<std::string> body = std::nullopt) {
    const auto res = http.request(method, target, token, std::move(body));
    EXPECT_EQ(res.status, status) << method << " " << target << ": " << res.body;
    return res;
  };
  for (const auto& [org, token] : {std::pair{1, pilot}, std::pair{3, fleet}}) {
    const std::string base = "/v1/orgs/" + std::to_string(org);
    expect_status("POST", base + "/revenues", token, 201, revenue_today(100 + org));
    expect_status("GET", base + "/revenues?" + range + "&limit=10", token, 200);
    expect_status("GET", base + "/expenses?" + range, token, 200);
    expect_status("GET", base + "/balances?" + range, token, 200);
    for (int i = 0; i < 2; ++i) {  // a miss, then a hit
      expect_status("GET", base + "/reports/pnl?" + range + "&granularity=month", token, 200);
    }
    expect_status("GET", base + "/reports/categories?" + range + "&kind=revenue", token, 200);
    expect_status("GET", base + "/reports/balance-history?" + range, token, 200);
    expect_status("GET", base + "/revenues/999999999", token, 404);
  }
  expect_status("GET", "/v1/orgs/1/balances?from=x", pilot, 400);
  expect_status("GET", "/v1/admin/routing", pilot, 403);
  expect_status("GET", "/healthz", "", 200);
  expect_status("GET", "/readyz", "", 200);
  // A routing change through the admin API, followed by the server.
  expect_status("GET", "/v1/admin/routing", admin, 200);
  expect_status("POST", "/v1/admin/routing/pilots", admin, 200, R"({"org_ids":[2]})");
  EXPECT_TRUE(until([&] { return scrape(*server, "folio_routing_pilots") == 2; }, 10s));
  expect_status("GET", "/v1/orgs/2/reports/pnl?" + range, stack.token(2), 200);
  expect_status("DELETE", "/v1/admin/routing/pilots/2", admin, 200);
  EXPECT_TRUE(until([&] { return scrape(*server, "folio_routing_pilots") == 1; }, 10s));

  // Job runs (every job's period is a few seconds).
  EXPECT_TRUE(until(
      [&] {
        const auto text = metrics_text(*server);
        return values_of(text, "folio_job_runs_total").size() >= 4 &&
               values_of(text, "folio_job_last_success_timestamp_seconds").size() >= 4;
      },
      60s))
      << "the jobs did not run:\n"
      << server->log();

  // The replica stops: it leaves rotation.
  stack.stack().component("stop-replica");
  EXPECT_TRUE(until(
      [&] {
        const auto in = values_of(metrics_text(*server), "folio_replica_in_rotation");
        return !in.empty() && std::all_of(in.begin(), in.end(), [](double v) { return v == 0; });
      },
      30s))
      << "the stopped replica stayed in rotation";
  expect_status("GET", "/v1/orgs/3/revenues?" + range, fleet, 200);

  // Redis stops: reports are served from the database.
  stack.stack().component("stop-redis");
  for (int i = 0; i < 10; ++i) {
    for (const auto& [org, token] : {std::pair{1, pilot}, std::pair{3, fleet}}) {
      expect_status("GET",
                    "/v1/orgs/" + std::to_string(org) + "/reports/pnl?from=" + utc_day(-i) +
                        "&to=" + utc_day() + "&granularity=day",
                    token, 200);
    }
  }

  // Fleet state is refreshed every 15 s: allow two refreshes before judging.
  std::vector<std::string> missing;
  std::string text;
  until(
      [&] {
        text = metrics_text(*server);
        missing = missing_families(refs, parse_exposition(text));
        return missing.empty();
      },
      35s);
  EXPECT_TRUE(missing.empty()) << missing.size() << " of " << refs.names.size()
                               << " referenced metric names have no samples in the exposition "
                                  "of folio-server:\n"
                               << join(missing);
  EXPECT_EQ(server->stop(), 0) << server->log();
}

TEST(MetricContract, EveryAlertLinksToARunbookSection) {
  const auto files = monitoring::rule_file_paths();
  ASSERT_FALSE(files.empty()) << "no rule files in " << monitoring::rules_dir();
  std::set<std::string> anchors;
  {
    std::istringstream runbook(monitoring::read_text(monitoring::runbook_path()));
    for (std::string line; std::getline(runbook, line);) {
      if (line.rfind("## ", 0) == 0) {
        anchors.insert(monitoring::github_anchor(monitoring::yaml::trim(line.substr(3))));
      }
    }
  }
  std::vector<std::string> problems;
  std::size_t alerts = 0;
  for (const auto& path : files) {
    const auto file = monitoring::read_rule_file(path);
    alerts += file.alerts.size();
    std::set<std::string> linked;
    for (const auto& [alert, url] : file.runbook_urls) {
      linked.insert(alert);
      const auto hash = url.find('#');
      if (url.find("docs/runbook.md#") == std::string::npos || hash == std::string::npos) {
        problems.push_back(alert + ": runbook_url " + url + " is not docs/runbook.md#<anchor>");
      } else if (!anchors.contains(url.substr(hash + 1))) {
        problems.push_back(alert + ": no \"## \" heading of docs/runbook.md has the anchor #" +
                           url.substr(hash + 1));
      }
    }
    for (const auto& alert : file.alerts) {
      if (!linked.contains(alert)) problems.push_back(alert + ": no runbook_url");
    }
  }
  EXPECT_GT(alerts, 0u) << "no alert rules found";
  EXPECT_TRUE(problems.empty()) << join(problems);
}

}  // namespace
}  // namespace folio::test
