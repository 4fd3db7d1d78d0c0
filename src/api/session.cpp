#include "detail/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "detail/handlers.hpp"

namespace folio::api::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

struct Session {
  explicit Session(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool idle = true;  // waiting for the next request
};

namespace {

constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr auto kWriteTimeout = std::chrono::seconds(30);

// Keeps the worker's list of open sessions and the connection gauges up to date.
class Registration {
 public:
  Registration(Worker& w, Session& s) : w_(w), s_(s) {
    w_.sessions.insert(&s_);
    w_.metrics.connections().inc();
    w_.shared.open_connections.fetch_add(1);
  }
  ~Registration() {
    w_.sessions.erase(&s_);
    w_.metrics.connections().dec();
    w_.shared.open_connections.fetch_sub(1);
  }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  Worker& w_;
  Session& s_;
};

// Returns whether the response went out.
asio::awaitable<bool> write(Session& s, Response res, bool keep_alive) {
  res.keep_alive(keep_alive);
  res.prepare_payload();
  s.stream.expires_after(kWriteTimeout);
  auto [ec, n] = co_await http::async_write(s.stream, res, asio::as_tuple(asio::use_awaitable));
  co_return !ec;
}

// After refusing a body: stop sending, then read and drop what the client still sends (a
// bounded amount, briefly), so closing does not reset the connection under the response.
asio::awaitable<void> linger(Session& s) {
  boost::system::error_code ignored;
  s.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  std::vector<char> sink(64 * 1024);
  std::size_t drained = 0;
  s.stream.expires_after(std::chrono::seconds(2));
  while (drained < 4 * 1024 * 1024) {
    auto [ec, n] =
        co_await s.stream.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    drained += n;
  }
}

// An answer before dispatch (oversized or malformed request), counted like the others.
Response early_error(Worker& w, const http::request_parser<http::string_body>& parser, int status,
                     const char* code, const std::string& message) {
  const auto& header = parser.get();
  const auto [path, query] = split_target(header.target());
  const auto route = match_route(header.method(), path);
  w.metrics.observe(header.method_string(), route.route, status, DataPathLabels{}, 0.0);
  return error_response(status, code, message, std::nullopt);
}

}  // namespace

void close_idle(Worker& worker) {
  for (Session* s : worker.sessions) {
    if (s->idle) s->stream.cancel();
  }
}

asio::awaitable<void> serve_connection(Worker& w, tcp::socket socket) {
  Session s(std::move(socket));
  Registration registration(w, s);
  beast::flat_buffer buffer;
  const auto& options = w.shared.options;
  try {
    while (!w.shared.shutting_down.load()) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(options.max_body_bytes);
      s.idle = true;
      s.stream.expires_after(options.idle_timeout);
      auto [ec, n] =
          co_await http::async_read(s.stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      s.idle = false;
      if (ec == http::error::body_limit) {
        const std::string message =
            "the body is larger than " + std::to_string(options.max_body_bytes) + " bytes";
        auto res = early_error(w, parser, 413, code::kPayloadTooLarge, message);
        if (co_await write(s, std::move(res), false)) co_await linger(s);
        break;
      }
      if (ec) {
        // A client that closed, timed out or was cancelled at shutdown just goes; one that
        // sent something unparsable is told so.
        if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
            ec != http::error::end_of_stream && ec != http::error::partial_message) {
          const std::string message = "malformed HTTP request: " + ec.message();
          auto res = early_error(w, parser, 400, code::kInvalidValue, message);
          co_await write(s, std::move(res), false);
        }
        break;
      }
      const Request req = parser.release();
      Response res = co_await dispatch(w, req);
      res.version(req.version());
      const bool keep_alive = req.keep_alive() && !w.shared.shutting_down.load();
      if (!co_await write(s, std::move(res), keep_alive) || !keep_alive) break;
    }
  } catch (const std::exception& e) {
    w.shared.log.warn("connection failed", {{"error", e.what()}});
  }
  boost::system::error_code ignored;
  s.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  s.stream.socket().close(ignored);
}

}  // namespace folio::api::detail
