// The HTTP metrics (SPEC §6): request rate by method, route template, status, data path and
// cohort; latency histograms by method, route, data path and cohort; requests in flight and
// open connections.
//
//   folio_http_requests_total{method,route,status,status_class,path,cohort}
//   folio_http_request_duration_seconds{method,route,path,cohort}
//   folio_http_requests_in_flight
//   folio_http_connections_open
//
// `path` is the data path the routing chose for the request's organization (legacy or
// partitioned) and `cohort` whether that organization is a pilot (its own routing row) or
// follows the fleet; both are "none" for requests without an organization (health, metrics,
// admin, refused before the organization was known). The pilot-regression rules compare the
// pilot cohort with the fleet on legacy. There is never an organization label.
//
// Series are registered on first use and their references memoized per worker, keyed by
// labels of static storage, so the hot path neither allocates nor takes the registry lock.
// Methods outside the usual set are labelled "other".
//
// Thread-safety: one HttpMetrics per worker, used from that worker's thread only; the
// metrics themselves are process-wide.
#pragma once

#include <map>
#include <string_view>
#include <tuple>

#include "folio/obs/metrics.hpp"

namespace folio::api::detail {

// Where a request's data lives, for the metrics. Labels have static storage.
struct DataPathLabels {
  std::string_view path = "none";    // legacy | partitioned | none
  std::string_view cohort = "none";  // pilot | fleet | none
};

class HttpMetrics {
 public:
  HttpMetrics();

  // REQUIRES: `route` and the labels have static storage (route templates, literals).
  void observe(std::string_view method, std::string_view route, int status, DataPathLabels labels,
               double seconds);
  obs::Gauge& in_flight() { return *in_flight_; }
  obs::Gauge& connections() { return *connections_; }

  // A bounded label for a method name.
  static std::string_view method_label(std::string_view method);

 private:
  using RequestKey =
      std::tuple<std::string_view, std::string_view, int, std::string_view, std::string_view>;
  using DurationKey =
      std::tuple<std::string_view, std::string_view, std::string_view, std::string_view>;

  obs::Registry& registry_;
  obs::Gauge* in_flight_;
  obs::Gauge* connections_;
  std::map<RequestKey, obs::Counter*> requests_;
  std::map<DurationKey, obs::Histogram*> durations_;
};

}  // namespace folio::api::detail
