#include "prometheus_query.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>
#include <charconv>
#include <cstdlib>

namespace folio::cutover::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace urls = boost::urls;

namespace {

double sample_value(const json::value& v) {
  // Prometheus sends [unix_time, "value"]; values are strings ("NaN", "+Inf" included).
  const auto& text = v.as_array().at(1).as_string();
  return std::strtod(text.c_str(), nullptr);
}

// The samples of a successful answer. Any other shape (a proxy's page, a version with another
// format) is a PrometheusError, never a JSON exception: the guard treats it as "cannot ask".
std::vector<PromSample> samples_of(const json::object& answer, std::string_view promql) {
  std::vector<PromSample> out;
  try {
    const auto& data = answer.at("data").as_object();
    if (data.at("resultType").as_string() != "vector") {
      throw PrometheusError("the query '" + std::string(promql) + "' is not an instant vector");
    }
    for (const auto& item : data.at("result").as_array()) {
      const auto& sample = item.as_object();
      out.push_back({sample.at("metric").as_object(), sample_value(sample.at("value"))});
    }
  } catch (const PrometheusError&) {
    throw;
  } catch (const std::exception& e) {
    throw PrometheusError("Prometheus answered the query '" + std::string(promql) +
                          "' in an unexpected shape: " + e.what());
  }
  return out;
}

}  // namespace

PromEndpoint prometheus_endpoint(std::string_view base_url, std::string_view promql) {
  const auto parsed = urls::parse_uri(base_url);
  // Boost.URL 1.81 accepts a path right after the port ("http://h:9p/x": port 9, path
  // "p/x"), which RFC 3986 does not; such a path would make a target without its '/'.
  if (!parsed || parsed->scheme() != "http" || parsed->host().empty() ||
      (!parsed->encoded_path().empty() && parsed->encoded_path().front() != '/')) {
    throw std::invalid_argument("Prometheus URL must be http://host[:port][/prefix], got '" +
                                std::string(base_url) + "'");
  }
  urls::url query_url;
  std::string path(parsed->encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  query_url.set_encoded_path(path + "/api/v1/query");
  // Prometheus reads the query as a form value, where '+' means a space: everything but the
  // unreserved characters is percent-encoded, '+' included (params().append leaves it as is).
  query_url.set_encoded_query("query=" + urls::encode(promql, urls::unreserved_chars));
  // The address without an IPv6 literal's brackets, which the resolver does not take; an
  // empty port (http://host:/) is the default one.
  return {std::string(parsed->host_address()),
          parsed->port().empty() ? std::string("80") : std::string(parsed->port()),
          std::string(query_url.buffer()), std::string(parsed->encoded_host_and_port())};
}

asio::awaitable<std::vector<PromSample>> prometheus_query(asio::any_io_executor executor,
                                                          std::string_view base_url,
                                                          std::string_view promql,
                                                          std::chrono::milliseconds timeout) {
  const PromEndpoint where = prometheus_endpoint(base_url, promql);
  beast::tcp_stream stream(executor);
  http::response<http::string_body> res;
  try {
    stream.expires_after(timeout);
    asio::ip::tcp::resolver resolver(executor);
    const auto addresses =
        co_await resolver.async_resolve(where.host, where.port, asio::use_awaitable);
    co_await stream.async_connect(addresses, asio::use_awaitable);
    http::request<http::empty_body> req(http::verb::get, where.target, 11);
    req.set(http::field::host, where.host_header);
    req.set(http::field::user_agent, "folio-pilot-guard");
    co_await http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    co_await http::async_read(stream, buffer, res, asio::use_awaitable);
  } catch (const boost::system::system_error& e) {
    throw PrometheusError("Prometheus at " + std::string(base_url) +
                          " did not answer: " + e.code().message());
  }
  boost::system::error_code ec;
  const json::value body = json::parse(res.body(), ec);
  if (ec || !body.is_object()) {
    throw PrometheusError("Prometheus answered HTTP " + std::to_string(res.result_int()) +
                          " without a JSON body");
  }
  const auto& o = body.as_object();
  const auto* status = o.if_contains("status");
  if (status == nullptr || !status->is_string() || status->as_string() != "success") {
    const auto* error = o.if_contains("error");
    throw PrometheusError("Prometheus refused the query '" + std::string(promql) + "': " +
                          (error != nullptr && error->is_string()
                               ? std::string(error->as_string())
                               : "HTTP " + std::to_string(res.result_int())));
  }
  co_return samples_of(o, promql);
}

}  // namespace folio::cutover::detail
