// The HTTP metrics (SPEC §6): request rate by method, route template and status, latency
// histograms by method and route, requests in flight and open connections.
//
//   folio_http_requests_total{method,route,status}
//   folio_http_request_duration_seconds{method,route}
//   folio_http_requests_in_flight
//   folio_http_connections_open
//
// Series are registered on first use and their references memoized per worker, so the hot
// path takes no registry lock. Methods outside the usual set are labelled "other".
//
// Thread-safety: one HttpMetrics per worker, used from that worker's thread only; the
// metrics themselves are process-wide.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "folio/obs/metrics.hpp"

namespace folio::api::detail {

class HttpMetrics {
 public:
  HttpMetrics();

  void observe(std::string_view method, std::string_view route, int status, double seconds);
  obs::Gauge& in_flight() { return *in_flight_; }
  obs::Gauge& connections() { return *connections_; }

  // A bounded label for a method name.
  static std::string_view method_label(std::string_view method);

 private:
  obs::Registry& registry_;
  obs::Gauge* in_flight_;
  obs::Gauge* connections_;
  std::map<std::tuple<std::string, std::string, int>, obs::Counter*, std::less<>> requests_;
  std::map<std::pair<std::string, std::string>, obs::Histogram*, std::less<>> durations_;
};

}  // namespace folio::api::detail
