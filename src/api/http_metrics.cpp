#include "detail/http_metrics.hpp"

#include <string>

namespace folio::api::detail {

namespace {

std::string status_class(int status) { return std::to_string(status / 100) + "xx"; }

}  // namespace

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
                          DataPathLabels labels, double seconds) {
  const auto m = method_label(method);
  const RequestKey key{m, route, status, labels.path, labels.cohort};
  auto it = requests_.find(key);
  if (it == requests_.end()) {
    auto& counter = registry_.counter(
        "folio_http_requests_total",
        "HTTP requests answered, by method, route template, status, the data path of the "
        "organization (legacy, partitioned, none) and its cohort (pilot, fleet, none)",
        {{"method", std::string(m)},
         {"route", std::string(route)},
         {"status", std::to_string(status)},
         {"status_class", status_class(status)},
         {"path", std::string(labels.path)},
         {"cohort", std::string(labels.cohort)}});
    it = requests_.emplace(key, &counter).first;
  }
  it->second->inc();
  const DurationKey dkey{m, route, labels.path, labels.cohort};
  auto dit = durations_.find(dkey);
  if (dit == durations_.end()) {
    auto& histogram = registry_.histogram(
        "folio_http_request_duration_seconds",
        "Time from a complete request to its response, by method, route template, data path "
        "and cohort",
        obs::default_latency_buckets(),
        {{"method", std::string(m)},
         {"route", std::string(route)},
         {"path", std::string(labels.path)},
         {"cohort", std::string(labels.cohort)}});
    dit = durations_.emplace(dkey, &histogram).first;
  }
  dit->second->observe(seconds);
}

}  // namespace folio::api::detail
