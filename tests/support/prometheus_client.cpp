#include "support/prometheus_client.hpp"

#include <cstdio>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "support/http_client.hpp"

namespace folio::test {
namespace {

// `text` percent-encoded for a query string: all but the unreserved characters.
std::string url_encode(std::string_view text) {
  std::string out;
  for (const unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

std::unique_ptr<HttpClient> connect(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  std::string rest = url;
  if (rest.rfind(kScheme, 0) != 0) throw std::runtime_error("not an http:// URL: " + url);
  rest = rest.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || rest.find('/') != std::string::npos) {
    throw std::runtime_error("expected http://host:port, got: " + url);
  }
  return std::make_unique<HttpClient>(rest.substr(0, colon), std::stoi(rest.substr(colon + 1)),
                                      std::chrono::seconds(10));
}

bool has_labels(const PromLabels& labels, const PromLabels& match) {
  for (const auto& [key, value] : match) {
    const auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

template <typename Done>
bool poll(std::chrono::milliseconds timeout, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return true;
}

}  // namespace

PrometheusClient::PrometheusClient(const std::string& url) : http_(connect(url)) {}

PrometheusClient::~PrometheusClient() = default;

boost::json::value PrometheusClient::get(const std::string& target) {
  HttpResponse res;
  try {
    res = http_->request("GET", target);
  } catch (const std::exception&) {
    http_->close();
    throw;
  }
  const auto answer = res.json();
  const auto* status = answer.is_object() ? answer.as_object().if_contains("status") : nullptr;
  if (res.status != 200 || status == nullptr || !status->is_string() ||
      status->as_string() != "success") {
    throw std::runtime_error("Prometheus answered GET " + target + " with " +
                             std::to_string(res.status) + ": " + res.body);
  }
  return answer.at("data");
}

std::vector<Alert> PrometheusClient::alerts() {
  std::vector<Alert> out;
  const auto data = get("/api/v1/alerts");
  for (const auto& a : data.at("alerts").as_array()) {
    Alert alert;
    alert.state = a.at("state").as_string();
    for (const auto& [key, value] : a.at("labels").as_object()) {
      alert.labels[key] = value.as_string();
    }
    alert.name = alert.labels["alertname"];
    out.push_back(std::move(alert));
  }
  return out;
}

boost::json::value PrometheusClient::query(const std::string& promql) {
  return get("/api/v1/query?query=" + url_encode(promql)).at("result");
}

std::optional<double> PrometheusClient::value(const std::string& promql) {
  const auto result = query(promql);
  const boost::json::value* sample = nullptr;
  if (result.is_array()) {
    if (result.as_array().empty()) return std::nullopt;
    sample = &result.as_array().front().at("value");
  } else {
    sample = &result;  // a scalar: [time, "text"]
  }
  return std::stod(std::string(sample->as_array().at(1).as_string()));
}

std::vector<std::string> PrometheusClient::alerting_rules() {
  std::vector<std::string> names;
  const auto data = get("/api/v1/rules?type=alert");
  for (const auto& group : data.at("groups").as_array()) {
    for (const auto& rule : group.at("rules").as_array()) {
      if (rule.at("type").as_string() != "alerting") continue;
      names.emplace_back(rule.at("name").as_string());
    }
  }
  return names;
}

bool PrometheusClient::wait_for_value(const std::string& promql,
                                      const std::function<bool(std::optional<double>)>& done,
                                      std::chrono::milliseconds timeout) {
  return poll(timeout, [&] { return done(value(promql)); });
}

std::vector<Alert> PrometheusClient::matching(const std::string& name, const PromLabels& match) {
  std::vector<Alert> out;
  for (auto& alert : alerts()) {
    if (alert.name == name && has_labels(alert.labels, match)) out.push_back(std::move(alert));
  }
  return out;
}

bool PrometheusClient::wait_for_alert(const std::string& name, const std::set<std::string>& states,
                                      std::chrono::milliseconds timeout, const PromLabels& match) {
  return poll(timeout, [&] {
    for (const auto& alert : matching(name, match)) {
      if (states.contains(alert.state)) return true;
    }
    return false;
  });
}

bool PrometheusClient::wait_for_no_alert(const std::string& name, std::chrono::milliseconds timeout,
                                         const PromLabels& match) {
  return poll(timeout, [&] { return matching(name, match).empty(); });
}

}  // namespace folio::test
