// Checks the exposition against Prometheus' own parser and linter (`promtool check metrics`),
// so "valid text format" is decided by Prometheus rather than by our golden strings.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "folio/obs/metrics.hpp"

namespace folio::obs {
namespace {

constexpr const char* kPromtool = "/usr/bin/promtool";

struct PromtoolResult {
  int exit_code = -1;
  std::string output;
};

// Runs `promtool check metrics < file` on `text`; the exit code is 0 only when the text parses
// and passes every lint rule.
PromtoolResult promtool_check(const std::string& text) {
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "folio-promtool-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return {};
  }
  const std::filesystem::path dir = dir_template;
  const auto input = dir / "metrics.prom";
  const auto output = dir / "promtool.out";
  std::ofstream(input, std::ios::binary) << text;

  const std::string command = std::string(kPromtool) + " check metrics < '" + input.string() +
                              "' > '" + output.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  PromtoolResult result;
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  std::ostringstream captured;
  captured << std::ifstream(output).rdbuf();
  result.output = captured.str();
  std::filesystem::remove_all(dir);
  return result;
}

class PromtoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Missing promtool must fail, not skip: a silently skipped format check is no check.
    ASSERT_TRUE(std::filesystem::exists(kPromtool))
        << kPromtool << " not found: install the Debian 'prometheus' package (apt-get install "
        << "prometheus) to run the exposition-format check";
  }
};

TEST_F(PromtoolTest, AcceptsRegistryExposition) {
  Registry r;
  r.counter("folio_http_requests_total", "HTTP requests by route and status.",
            {{"route", "/v1/orgs/{id}/reports"}, {"status", "200"}})
      .inc(41);
  r.counter("folio_http_requests_total", "HTTP requests by route and status.",
            {{"route", "/weird \"quoted\" back\\slash\nnewline"}, {"status", "500"}})
      .inc();
  r.counter("folio_cache_fail_open_total", "Cache errors served from the database.").inc(0.5);
  r.gauge("folio_db_pool_connections", "Pooled connections by state.\nIdle or busy \\ both.",
          {{"state", "idle"}, {"pool", "primary"}})
      .set(12);
  r.gauge("folio_db_pool_connections", "Pooled connections by state.\nIdle or busy \\ both.",
          {{"state", "busy"}, {"pool", "réplica-ü"}})
      .set(-0.25);
  r.gauge("folio_replica_lag_seconds", "Replica replay lag.")
      .set(std::numeric_limits<double>::quiet_NaN());
  Histogram& h = r.histogram("folio_db_query_duration_seconds", "Query latency.",
                             default_latency_buckets(), {{"query", "finance.\"list\"\n"}});
  for (double v : {0.0001, 0.003, 0.2, 0.2, 7.0, 60.0}) h.observe(v);
  r.histogram("folio_report_size_bytes", "Report sizes.", {1e-05, 1e3, 1e6, 1e9}).observe(2.5e6);

  const std::string text = r.expose();
  const PromtoolResult result = promtool_check(text);
  EXPECT_EQ(result.exit_code, 0) << "promtool output:\n" << result.output << "\ninput:\n" << text;
}

// The check above is only worth something if promtool can fail it: feed it what a broken
// exposition would look like and require a non-zero exit.
TEST_F(PromtoolTest, RejectsMalformedExposition) {
  // An unescaped quote and raw newline inside a label value: what escaping prevents.
  const PromtoolResult unescaped = promtool_check(
      "# HELP folio_x_total X.\n# TYPE folio_x_total counter\n"
      "folio_x_total{route=\"say \"hi\"\nbye\"} 1\n");
  EXPECT_NE(unescaped.exit_code, 0) << unescaped.output;

  // A value written with a locale's decimal comma (why values go through std::to_chars).
  const PromtoolResult comma = promtool_check(
      "# HELP folio_lag_seconds Lag.\n# TYPE folio_lag_seconds gauge\nfolio_lag_seconds 1,5\n");
  EXPECT_NE(comma.exit_code, 0) << comma.output;

  // A second HELP line for one family (why HELP and TYPE are written once per family).
  const PromtoolResult twice = promtool_check(
      "# HELP folio_lag_seconds Lag.\n# TYPE folio_lag_seconds gauge\nfolio_lag_seconds 1\n"
      "# HELP folio_lag_seconds Lag.\nfolio_lag_seconds{db=\"b\"} 2\n");
  EXPECT_NE(twice.exit_code, 0) << twice.output;

  // Well-formed but failing lint: a counter without the _total suffix.
  const PromtoolResult lint = promtool_check(
      "# HELP folio_requests Requests.\n# TYPE folio_requests counter\nfolio_requests 1\n");
  EXPECT_NE(lint.exit_code, 0) << lint.output;
}

}  // namespace
}  // namespace folio::obs
