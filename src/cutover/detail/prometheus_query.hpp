// An instant query against Prometheus's HTTP API (GET /api/v1/query), for the pilot guard.
//
//   const auto samples = co_await prometheus_query(executor, "http://127.0.0.1:9090",
//                                                  "folio:pilot_regression", 5s);
//
// Plain HTTP only (Prometheus is reached on a private network or through a sidecar); the
// whole exchange, from resolving to the last byte, has one deadline.
//
// Thread-safety: stateless; the coroutine runs on `executor`.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace folio::cutover::detail {

// Prometheus could not be asked or did not answer with a vector: what() says which.
class PrometheusError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PromSample {
  boost::json::object labels;  // the series' labels, __name__ included when present
  double value = 0;
};

// Where the instant query of `promql` goes: the host and port to connect to, the request
// target (the URL's path prefix, then /api/v1/query?query=<promql percent-encoded>) and the
// Host header. Throws std::invalid_argument for a URL that is not http://host[:port][/prefix].
struct PromEndpoint {
  std::string host;  // a name or an IP address (an IPv6 one without brackets)
  std::string port;
  std::string target;
  std::string host_header;  // host[:port] as the URL writes it
};
PromEndpoint prometheus_endpoint(std::string_view base_url, std::string_view promql);

// Evaluates `promql` now. Throws std::invalid_argument for a URL that is not
// http://host[:port][/prefix], PrometheusError for anything else that goes wrong (transport,
// deadline, HTTP status, an error answer, a result that is not an instant vector).
boost::asio::awaitable<std::vector<PromSample>> prometheus_query(
    boost::asio::any_io_executor executor, std::string_view base_url, std::string_view promql,
    std::chrono::milliseconds timeout);

}  // namespace folio::cutover::detail
