// folio-server through PgBouncer in transaction mode under a 200-connection client load
// (reads on the replica and the primary, writes, cache on): no request fails — which would
// be the case with named prepared statements or session state — and PgBouncer's SHOW POOLS
// stays within deploy/pgbouncer/pgbouncer.ini's limits for the primary and the replica.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "infra_support.hpp"

namespace folio::test {
namespace {

using namespace std::chrono_literals;

struct Limits {
  int pool_size = 0;
  int reserve_pool = 0;
};

// pool_size and reserve_pool of a [databases] entry of the deployment file.
Limits deployed_limits(const std::string& database) {
  std::ifstream in(std::string(FOLIO_SOURCE_DIR) + "/deploy/pgbouncer/pgbouncer.ini");
  const std::regex entry("^" + database + R"( = .*pool_size=(\d+) reserve_pool=(\d+).*)");
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, m, entry)) return {std::stoi(m[1]), std::stoi(m[2])};
  }
  throw std::runtime_error("no [databases] entry " + database + " in pgbouncer.ini");
}

using Row = std::map<std::string, std::string>;

// SHOW POOLS on PgBouncer's admin console (simple protocol, through psql --csv).
std::vector<Row> show_pools(const InfraStack& stack) {
  const std::string command = stack.value("PG_BIN") + "/psql -X --csv -c 'SHOW POOLS' '" +
                              stack.value("PGBOUNCER_ADMIN_URL") + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char buf[4096];
  while (pipe != nullptr && std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  if (pipe == nullptr || ::pclose(pipe) != 0) throw std::runtime_error("SHOW POOLS: " + out);
  std::istringstream lines(out);
  std::vector<std::string> header;
  std::vector<Row> rows;
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> cells;
    std::istringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    if (header.empty()) {
      header = cells;
      continue;
    }
    Row row;
    for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(row);
  }
  return rows;
}

int num(const Row& row, const char* column) {
  const auto it = row.find(column);
  return it == row.end() || it->second.empty() ? 0 : std::stoi(it->second);
}

int servers(const Row& row) {
  return num(row, "sv_active") + num(row, "sv_idle") + num(row, "sv_used") + num(row, "sv_tested") +
         num(row, "sv_login");
}

TEST(PgBouncer, PoolsStayWithinLimitsUnder200Connections) {
  InfraStack stack(50);
  std::vector<std::string> tokens(51);
  for (std::int64_t org = 1; org <= 50; ++org) tokens[org] = stack.token(org);
  constexpr int kWorkers = 2;
  constexpr int kPoolSize = 10;
  auto options = stack.options(true, true);
  options.args = {"--workers", std::to_string(kWorkers), "--pool-size", std::to_string(kPoolSize),
                  "--pool-acquire-timeout-ms", "20000",
                  // A busy machine must not push the replica out of rotation: the pools of
                  // both hosts are what is measured.
                  "--replica-max-lag-ms", "600000", "--replica-max-lag-bytes", "100000000000"};
  auto server = stack.start(options);
  ASSERT_TRUE(until_in_rotation(*server, 1, 10s));

  Load load(*server, 200, [&tokens](HttpClient& http, int client, int i, std::string& why) {
    // Writes go to organizations 1-25 and reads to 26-50, which nothing writes during the
    // test: read-your-writes never holds their reads on the primary, so the replica (kept in
    // rotation) serves them, and both hosts' pools are under load whatever the timing.
    const bool write = i % 4 == 0;
    const std::int64_t org = (write ? 1 : 26) + (client * 7 + i) % 25;
    const std::string base = "/v1/orgs/" + std::to_string(org);
    const std::string range = "from=" + utc_day(-60) + "&to=" + utc_day();
    HttpResponse res;
    switch (i % 4) {
      case 0:
        res = http.request("POST", base + "/revenues", tokens[org], revenue_today(100 + i % 50));
        if (res.status == 201) return true;
        break;
      case 1:
        res = http.request("GET", base + "/revenues?" + range + "&limit=20", tokens[org]);
        if (res.status == 200) return true;
        break;
      case 2:
        res =
            http.request("GET", base + "/reports/pnl?" + range + "&granularity=month", tokens[org]);
        if (res.status == 200) return true;
        break;
      default:
        res = http.request("GET", base + "/reports/categories?" + range + "&kind=revenue",
                           tokens[org]);
        if (res.status == 200) return true;
        break;
    }
    why = std::to_string(res.status) + " " + res.body;
    return false;
  });

  const Limits primary = deployed_limits("folio");
  const Limits replica = deployed_limits("folio_replica");
  std::map<std::string, int> most_servers, most_clients;
  // At least 8 s of load, and until the load has made its 1000 requests and SHOW POOLS was
  // sampled 10 times: on a busy machine both take longer, and the pools are judged on the
  // same amount of traffic. (A server that cannot serve 1000 requests in two minutes fails.)
  constexpr int kMinRequests = 1000;
  constexpr int kMinSamples = 10;
  const auto start = std::chrono::steady_clock::now();
  int samples = 0;
  while (std::chrono::steady_clock::now() - start < 8s ||
         ((load.requests() < kMinRequests || samples < kMinSamples) &&
          std::chrono::steady_clock::now() - start < 120s)) {
    for (const auto& row : show_pools(stack)) {
      const auto db = row.at("database");
      most_servers[db] = std::max(most_servers[db], servers(row));
      most_clients[db] = std::max(most_clients[db], num(row, "cl_active") + num(row, "cl_waiting"));
    }
    ++samples;
    std::this_thread::sleep_for(200ms);
  }
  load.stop();

  EXPECT_GE(samples, kMinSamples);
  EXPECT_GE(load.requests(), kMinRequests);
  EXPECT_EQ(load.failures(), 0) << load.first_failure();
  // Server connections: within pool_size + reserve_pool of the deployment file.
  EXPECT_GT(most_servers["folio"], 0);
  EXPECT_LE(most_servers["folio"], primary.pool_size + primary.reserve_pool);
  EXPECT_GT(most_servers["folio_replica"], 0) << "no reads went to the replica";
  EXPECT_LE(most_servers["folio_replica"], replica.pool_size + replica.reserve_pool);
  // Client connections: folio's own pools bound them (workers x pool size per host).
  EXPECT_LE(most_clients["folio"], kWorkers * kPoolSize);
  EXPECT_LE(most_clients["folio_replica"], kWorkers * kPoolSize);
  EXPECT_EQ(server->stop(), 0);
}

}  // namespace
}  // namespace folio::test
