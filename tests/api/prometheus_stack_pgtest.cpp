// The local stack's Prometheus (scripts/stack): a folio-server started by ServerProcess
// registers as a target of job "folio", is scraped every second (the requests it served are
// visible through PromQL) and leaves when it stops; folio's alerting rules from
// deploy/prometheus/rules are loaded.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "fingerprint.hpp"
#include "support/cutover_database.hpp"
#include "support/http_client.hpp"
#include "support/prometheus_client.hpp"
#include "support/server_process.hpp"
#include "support/stack_env.hpp"

namespace folio::test {
namespace {

using namespace std::chrono_literals;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::filesystem::path source_dir() {
  const char* dir = std::getenv("FOLIO_SOURCE_DIR");
  return dir != nullptr && *dir != '\0' ? dir : FOLIO_SOURCE_DIR;
}

TEST(PrometheusStack, ScrapesARegisteredServerUntilItStops) {
  CutoverDatabase db("api_prometheus", 1, 5, 2);
  const auto token = issue_token(db.dsn(), auth::Scope::org, 1);
  ServerProcess server(db.dsn());

  // Registered: a file_sd target file in the stack's targets directory names the server.
  const std::filesystem::path file = server.prometheus_target_file();
  ASSERT_FALSE(file.empty()) << "ServerProcess did not register with the stack's Prometheus";
  EXPECT_EQ(file.parent_path(), std::filesystem::path(stack_value("PROMETHEUS_TARGETS_DIR")));
  const auto targets = boost::json::parse(read_text(file));
  EXPECT_EQ(targets.at(0).at("targets").at(0).as_string(), server.address());

  HttpClient http(server.host(), server.port());
  constexpr int kRequests = 3;
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(
        http.request("GET", "/v1/orgs/1/revenues/" + std::to_string(900000 + i), token).status,
        404);
  }

  PrometheusClient prometheus(stack_value("PROMETHEUS_URL"));
  const std::string instance = "instance=\"" + server.address() + "\"";
  const std::string up = "up{job=\"folio\"," + instance + "}";
  EXPECT_TRUE(prometheus.wait_for_value(
      up, [](std::optional<double> v) { return v == 1.0; }, 30s))
      << up << " = " << prometheus.value(up).value_or(-1);

  // The counter of those requests, by route template, as Prometheus scraped it.
  const std::string requests = "sum(folio_http_requests_total{job=\"folio\"," + instance +
                               ",route=\"/v1/orgs/{org}/revenues/{id}\",status=\"404\"})";
  EXPECT_TRUE(prometheus.wait_for_value(
      requests, [](std::optional<double> v) { return v >= double{kRequests}; }, 30s))
      << requests << " = " << prometheus.value(requests).value_or(-1);

  EXPECT_EQ(server.stop(), 0);
  EXPECT_TRUE(server.prometheus_target_file().empty());
  EXPECT_FALSE(std::filesystem::exists(file)) << file;
  // Gone from the targets, Prometheus marks its series stale: the target is not "down".
  EXPECT_TRUE(prometheus.wait_for_value(
      up, [](std::optional<double> v) { return !v.has_value(); }, 30s))
      << up << " = " << prometheus.value(up).value_or(-1);
}

TEST(PrometheusStack, LoadsEveryAlertOfTheRuleFiles) {
  const auto rules_dir = source_dir() / "deploy/prometheus/rules";
  if (!std::filesystem::is_directory(rules_dir)) GTEST_SKIP() << "no " << rules_dir;

  // "- alert: Name" lines of the rule files (YAML, read as text).
  std::set<std::string> expected;
  const std::regex alert_line(R"(^\s*-?\s*alert:\s*["']?([A-Za-z0-9_]+))");
  for (const auto& entry : std::filesystem::directory_iterator(rules_dir)) {
    if (entry.path().extension() != ".yml") continue;
    std::istringstream lines(read_text(entry.path()));
    for (std::string line; std::getline(lines, line);) {
      std::smatch m;
      if (std::regex_search(line, m, alert_line)) expected.insert(m[1]);
    }
  }

  PrometheusClient prometheus(stack_value("PROMETHEUS_URL"));
  const auto names = prometheus.alerting_rules();
  const std::set<std::string> loaded(names.begin(), names.end());
  EXPECT_FALSE(loaded.empty()) << "no alerting rules loaded from " << rules_dir
                               << " (a stack started before they existed: scripts/stack "
                                  "reload-rules)";
  for (const auto& name : loaded) EXPECT_EQ(name.rfind("Folio", 0), 0u) << name;
  for (const auto& name : expected) EXPECT_TRUE(loaded.contains(name)) << name << " not loaded";
}

}  // namespace
}  // namespace folio::test
