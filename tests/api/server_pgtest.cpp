// folio-server's process behaviour: the "listening" line, keep-alive, several workers on one
// port, /healthz, /readyz (and its failing check), /metrics by route template, and a
// graceful SIGTERM that exits 0.
#include <gtest/gtest.h>
#include <signal.h>

#include "fingerprint.hpp"
#include "support/cutover_database.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace folio::test {
namespace {

TEST(ApiServer, ServesWithKeepAliveOnSeveralWorkersAndStopsGracefully) {
  CutoverDatabase db("api_server", 1, 10, 2);
  const auto token = issue_token(db.dsn(), auth::Scope::org, 1);
  ServerProcessOptions options;
  options.args = {"--workers", "2"};
  ServerProcess server(db.dsn(), options);
  EXPECT_GT(server.port(), 0);

  HttpClient http(server.host(), server.port());
  EXPECT_EQ(http.request("GET", "/healthz").status, 200);
  const auto ready = http.request("GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.json().at("status").as_string(), "ready");
  for (int i = 0; i < 20; ++i) {
    const auto res = http.request("GET", "/v1/orgs/1/revenues/" + std::to_string(1000 + i), token);
    EXPECT_EQ(res.status, 404);
    EXPECT_TRUE(res.keep_alive);
  }
  EXPECT_EQ(http.connections_opened(), 1);

  // Many connections spread over both workers all get answers.
  for (int i = 0; i < 10; ++i) {
    HttpClient other(server.host(), server.port());
    EXPECT_EQ(other.request("GET", "/healthz").status, 200);
  }

  const auto metrics = http.request("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  // An organization without a routing row: the default path (legacy), the fleet's cohort.
  EXPECT_NE(metrics.body.find("folio_http_requests_total{cohort=\"fleet\",method=\"GET\","
                              "path=\"legacy\",route=\"/v1/orgs/{org}/revenues/{id}\","
                              "status=\"404\",status_class=\"4xx\"} 20"),
            std::string::npos)
      << metrics.body.substr(0, 3000);
  EXPECT_NE(metrics.body.find("folio_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(metrics.body.find("folio_http_requests_total{cohort=\"none\",method=\"GET\","
                              "path=\"none\",route=\"/healthz\",status=\"200\","
                              "status_class=\"2xx\"} 11"),
            std::string::npos);
  EXPECT_EQ(metrics.body.find("/v1/orgs/1/"), std::string::npos);  // templates, not paths

  EXPECT_EQ(server.stop(), 0);
  const auto log = server.log();
  EXPECT_NE(log.find("\"msg\":\"shutting down\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"msg\":\"stopped\""), std::string::npos) << log;
}

TEST(ApiServer, ReadyzNamesTheFailingCheck) {
  ScratchDatabase empty("api_unready");  // no migrations applied
  ServerProcessOptions options;
  options.wait_ready = false;
  ServerProcess server(empty.dsn(), options);
  HttpClient http(server.host(), server.port());
  EXPECT_EQ(http.request("GET", "/healthz").status, 200);
  const auto res = http.request("GET", "/readyz");
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.json().at("failed_check").as_string(), "migrations") << res.body;
  // Org endpoints are unavailable rather than wrong while routing cannot load.
  EXPECT_EQ(server.stop(), 0);
}

TEST(ApiServer, UnreachableDatabaseIsA503NotACrash) {
  ServerProcessOptions options;
  options.wait_ready = false;
  ServerProcess server("postgresql://folio@127.0.0.1:1/none?connect_timeout=1", options);
  HttpClient http(server.host(), server.port());
  const auto ready = http.request("GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.json().at("failed_check").as_string(), "database") << ready.body;
  const auto res = http.request("GET", "/v1/orgs/1/balances?from=2026-10-01&to=2026-10-02",
                                "folio_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_EQ(res.json().at("error").at("code").as_string(), "unavailable");
  EXPECT_EQ(server.stop(), 0);
}

TEST(ApiServer, HelpDocumentsEveryOptionWithItsEnvironmentVariable) {
  FILE* pipe = ::popen((std::string(FOLIO_SERVER_PATH) + " --help").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string help;
  char buf[4096];
  while (const auto n = std::fread(buf, 1, sizeof buf, pipe)) help.append(buf, n);
  EXPECT_EQ(::pclose(pipe), 0);
  for (const char* env :
       {"FOLIO_LISTEN", "DATABASE_URL", "DATABASE_DIRECT_URL", "USE_PARTITIONED_TABLES",
        "FOLIO_POOL_SIZE", "FOLIO_POOL_ACQUIRE_TIMEOUT_MS", "FOLIO_STATEMENT_TIMEOUT_MS",
        "FOLIO_MAX_BODY_BYTES", "FOLIO_ROUTING_POLL_INTERVAL_MS", "FOLIO_ROUTING_LOG_SAMPLE_RATE",
        "FOLIO_TOKEN_CACHE_TTL_MS", "FOLIO_SHUTDOWN_GRACE_MS", "FOLIO_WORKERS"}) {
    EXPECT_NE(help.find(env), std::string::npos) << env << "\n" << help;
  }
}

}  // namespace
}  // namespace folio::test
