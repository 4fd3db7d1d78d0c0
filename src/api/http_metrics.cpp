#include "detail/http_metrics.hpp"

namespace folio::api::detail {

HttpMetrics::HttpMetrics()
    : registry_(obs::Registry::global()),
      in_flight_(&registry_.gauge("folio_http_requests_in_flight",
                                  "HTTP requests being handled right now")),
      connections_(
          &registry_.gauge("folio_http_connections_open", "HTTP connections open right now")) {}

std::string_view HttpMetrics::method_label(std::string_view method) {
  for (const std::string_view known :
       {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"}) {
    if (method == known) return known;
  }
  return "other";
}

void HttpMetrics::observe(std::string_view method, std::string_view route, int status,
                          double seconds) {
  const auto m = method_label(method);
  const std::tuple<std::string, std::string, int> key{std::string(m), std::string(route), status};
  auto it = requests_.find(key);
  if (it == requests_.end()) {
    auto& counter = registry_.counter(
        "folio_http_requests_total", "HTTP requests answered, by method, route template and status",
        {{"method", std::string(m)},
         {"route", std::string(route)},
         {"status", std::to_string(status)}});
    it = requests_.emplace(key, &counter).first;
  }
  it->second->inc();
  const std::pair<std::string, std::string> dkey{std::string(m), std::string(route)};
  auto dit = durations_.find(dkey);
  if (dit == durations_.end()) {
    auto& histogram = registry_.histogram(
        "folio_http_request_duration_seconds",
        "Time from a complete request to its response, by method and route template",
        obs::default_latency_buckets(),
        {{"method", std::string(m)}, {"route", std::string(route)}});
    dit = durations_.emplace(dkey, &histogram).first;
  }
  dit->second->observe(seconds);
}

}  // namespace folio::api::detail
