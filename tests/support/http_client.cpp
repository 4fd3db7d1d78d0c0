#include "support/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <stdexcept>

namespace folio::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

HttpResponse to_response(http::response<http::string_body>& res) {
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  out.keep_alive = res.keep_alive();
  for (const auto& field : res) {
    out.headers[lower(field.name_string())] = std::string(field.value());
  }
  return out;
}

}  // namespace

boost::json::value HttpResponse::json() const {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  if (ec) throw std::runtime_error("response body is not JSON (" + ec.message() + "): " + body);
  return value;
}

std::string HttpResponse::header(std::string_view name) const {
  const auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

struct HttpClient::Impl {
  std::string host;
  int port = 0;
  std::chrono::milliseconds timeout;
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  // Runs one coroutine on the private io_context to completion; rethrows its exception.
  template <typename T>
  T run(asio::awaitable<T> work) {
    auto future = asio::co_spawn(io, std::move(work), asio::use_future);
    io.restart();
    io.run();
    return future.get();
  }

  asio::awaitable<void> connect() {
    tcp::resolver resolver(io);
    const auto endpoints =
        co_await resolver.async_resolve(host, std::to_string(port), asio::use_awaitable);
    stream.emplace(io);
    buffer.clear();
    stream->expires_after(timeout);
    co_await stream->async_connect(endpoints, asio::use_awaitable);
  }

  // One exchange on the open connection. `fresh` says the connection was just opened: a
  // failure on a reused connection before any response byte means the server closed it
  // while idle, and the caller retries once on a new connection.
  asio::awaitable<std::pair<bool, HttpResponse>> exchange(
      const http::request<http::string_body>& req) {
    stream->expires_after(timeout);
    auto [wec, written] =
        co_await http::async_write(*stream, req, asio::as_tuple(asio::use_awaitable));
    (void)written;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (wec && wec != asio::error::broken_pipe && wec != asio::error::connection_reset) {
      throw std::runtime_error("write failed: " + wec.message());
    }
    stream->expires_after(timeout);
    auto [rec, read] =
        co_await http::async_read(*stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)read;
    if (rec) {
      if (rec == beast::error::timeout) throw std::runtime_error("request timed out");
      co_return std::pair{false, HttpResponse{}};
    }
    auto res = parser.release();
    co_return std::pair{true, to_response(res)};
  }
};

HttpClient::HttpClient(std::string host, int port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = timeout;
}

HttpClient::~HttpClient() = default;

void HttpClient::close() {
  if (impl_->stream) {
    boost::system::error_code ec;
    impl_->stream->socket().shutdown(tcp::socket::shutdown_both, ec);
    impl_->stream->close();
    impl_->stream.reset();
  }
}

HttpResponse HttpClient::request(std::string_view method, std::string_view target,
                                 std::string_view token, std::optional<std::string> body,
                                 const Headers& headers) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, impl_->host + ":" + std::to_string(impl_->port));
  req.keep_alive(true);
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + std::string(token));
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    if (lower(name) == "content-type") has_content_type = true;
    req.insert(name, value);
  }
  if (body) {
    if (!has_content_type) req.set(http::field::content_type, "application/json");
    req.body() = std::move(*body);
    req.prepare_payload();
  } else if (method == "POST" || method == "PATCH" || method == "PUT") {
    req.content_length(0);
  }

  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool fresh = !impl_->stream;
    if (fresh) {
      impl_->run(impl_->connect());
      ++connections_opened_;
    }
    auto [ok, res] = impl_->run(impl_->exchange(req));
    if (ok) {
      if (!res.keep_alive) close();
      return res;
    }
    close();
    if (fresh) break;
  }
  throw std::runtime_error("connection closed before a response to " + std::string(method) + " " +
                           std::string(target));
}

HttpResponse HttpClient::request_raw(std::string_view bytes) {
  close();
  impl_->run(impl_->connect());
  ++connections_opened_;
  auto& impl = *impl_;
  const std::string data(bytes);
  auto res = impl.run([](Impl& impl, std::string data) -> asio::awaitable<HttpResponse> {
    impl.stream->expires_after(impl.timeout);
    auto [wec, n] = co_await asio::async_write(*impl.stream, asio::buffer(data),
                                               asio::as_tuple(asio::use_awaitable));
    (void)n;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    impl.stream->expires_after(impl.timeout);
    auto [rec, m] = co_await http::async_read(*impl.stream, impl.buffer, parser,
                                              asio::as_tuple(asio::use_awaitable));
    (void)m;
    if (rec) {
      throw std::runtime_error("no response to a raw request: " + rec.message() +
                               (wec ? " (write: " + wec.message() + ")" : std::string()));
    }
    auto response = parser.release();
    co_return to_response(response);
  }(impl, data));
  close();
  return res;
}

}  // namespace folio::test
