// Reads a Prometheus HTTP API (the local stack's PROMETHEUS_URL) for tests of what it
// scraped, which rules it loaded and which alerts are pending or firing.
//
//   PrometheusClient prometheus(stack_value("PROMETHEUS_URL"));
//   EXPECT_TRUE(prometheus.wait_for_value(
//       "up{job=\"folio\",instance=\"" + server.address() + "\"}",
//       [](std::optional<double> up) { return up == 1.0; }, 30s));
//   EXPECT_TRUE(prometheus.wait_for_alert("FolioReplicaOutOfRotation", {"pending", "firing"},
//                                         60s, {{"replica", "..."}}));
//
// Every call throws std::runtime_error (quoting the answer) when Prometheus fails or
// answers anything but {"status":"success"}.
//
// Thread-safety: one PrometheusClient per thread (it owns one HttpClient).
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace folio::test {

class HttpClient;

using PromLabels = std::map<std::string, std::string>;

// One active alert of GET /api/v1/alerts.
struct Alert {
  std::string name;   // the alertname label
  std::string state;  // pending | firing
  PromLabels labels;  // all its labels, alertname included
};

class PrometheusClient {
 public:
  // `url`: "http://host:port" (a trailing "/" allowed); throws on anything else.
  explicit PrometheusClient(const std::string& url);
  ~PrometheusClient();
  PrometheusClient(const PrometheusClient&) = delete;
  PrometheusClient& operator=(const PrometheusClient&) = delete;

  // The pending and firing alerts.
  std::vector<Alert> alerts();
  // The `data.result` of an instant query (GET /api/v1/query): for a vector, an array of
  // {"metric": {labels}, "value": [time, "text"]}.
  boost::json::value query(const std::string& promql);
  // The value of the query's first series (a vector's first element, or a scalar);
  // nullopt when the vector is empty.
  std::optional<double> value(const std::string& promql);
  // The names of the alerting rules loaded (GET /api/v1/rules?type=alert), in file order.
  std::vector<std::string> alerting_rules();

  // Polls value(promql) every 200 ms until `done` accepts it or `timeout` passes.
  bool wait_for_value(const std::string& promql,
                      const std::function<bool(std::optional<double>)>& done,
                      std::chrono::milliseconds timeout);
  // Polls alerts() until one named `name`, in one of `states`, carries every label of
  // `match`; false when `timeout` passes first.
  bool wait_for_alert(const std::string& name, const std::set<std::string>& states,
                      std::chrono::milliseconds timeout, const PromLabels& match = {});
  // Polls alerts() until none named `name` carrying every label of `match` is left.
  bool wait_for_no_alert(const std::string& name, std::chrono::milliseconds timeout,
                         const PromLabels& match = {});

 private:
  // The `data` member of a successful answer to GET `target`.
  boost::json::value get(const std::string& target);
  std::vector<Alert> matching(const std::string& name, const PromLabels& match);

  std::unique_ptr<HttpClient> http_;
};

}  // namespace folio::test
