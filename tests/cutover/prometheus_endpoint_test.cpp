// Where the pilot guard sends its query: host, port, request target and Host header from the
// Prometheus URL (found by fuzz/url_fuzz).
#include <gtest/gtest.h>

#include <stdexcept>

#include "detail/prometheus_query.hpp"

namespace folio::cutover::detail {
namespace {

TEST(PrometheusEndpoint, TargetsTheQueryApiUnderThePrefix) {
  const auto e = prometheus_endpoint("http://prom.internal:9090/prometheus/", "up");
  EXPECT_EQ(e.host, "prom.internal");
  EXPECT_EQ(e.port, "9090");
  EXPECT_EQ(e.target, "/prometheus/api/v1/query?query=up");
  EXPECT_EQ(e.host_header, "prom.internal:9090");
  EXPECT_EQ(prometheus_endpoint("http://127.0.0.1", "up").port, "80");
}

// Prometheus reads the query as a form value, where '+' is a space: "a + 1" arrived as
// "a   1", a parse error.
TEST(PrometheusEndpoint, EncodesAPlusSoPrometheusDoesNotReadASpace) {
  const auto e = prometheus_endpoint("http://127.0.0.1:9090", "rate(x[5m]) + 1 & y=\"%\"");
  EXPECT_EQ(e.target, "/api/v1/query?query=rate%28x%5B5m%5D%29%20%2B%201%20%26%20y%3D%22%25%22");
}

// The resolver takes an IPv6 address without brackets; the Host header keeps them.
TEST(PrometheusEndpoint, ConnectsToAnIpv6LiteralWithoutItsBrackets) {
  const auto e = prometheus_endpoint("http://[::1]:9090", "up");
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, "9090");
  EXPECT_EQ(e.host_header, "[::1]:9090");
}

TEST(PrometheusEndpoint, AnEmptyPortIsTheDefaultOne) {
  EXPECT_EQ(prometheus_endpoint("http://127.0.0.1:/", "up").port, "80");
}

TEST(PrometheusEndpoint, RefusesWhatIsNotHttpHostPortPrefix) {
  for (const char* url : {"https://h:9090", "http://", "h:9090", "http:///x",
                          // Boost.URL 1.81 reads port 9 and path "p0/x" here.
                          "http://127.0.0.1:9p0/x"}) {
    SCOPED_TRACE(url);
    EXPECT_THROW(prometheus_endpoint(url, "up"), std::invalid_argument);
  }
}

}  // namespace
}  // namespace folio::cutover::detail
