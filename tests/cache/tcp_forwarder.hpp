// A TCP forwarder for Redis tests: listens on a loopback port of its own and relays every
// connection to the real server. stop() closes the port and every relayed connection, so
// Redis looks unreachable to the code under test (connect refused, pooled connections
// dropped) while the shared server and its data stay untouched; start() serves again on the
// same port.
//
// Thread-safety: bound to the executor it was created with; use it from there.
#pragma once

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <memory>
#include <vector>

namespace folio::test {

class TcpForwarder {
 public:
  TcpForwarder(boost::asio::any_io_executor executor, std::uint16_t target_port)
      : state_(std::make_shared<State>(std::move(executor), target_port)) {
    // Pick a free port once, so stop()/start() keep it.
    boost::asio::ip::tcp::acceptor probe(state_->executor,
                                         {boost::asio::ip::address_v4::loopback(), 0});
    state_->port = probe.local_endpoint().port();
  }
  TcpForwarder(const TcpForwarder&) = delete;
  TcpForwarder& operator=(const TcpForwarder&) = delete;
  ~TcpForwarder() { stop(); }

  std::uint16_t port() const noexcept { return state_->port; }

  void start() {
    namespace asio = boost::asio;
    auto& s = *state_;
    s.acceptor = std::make_unique<asio::ip::tcp::acceptor>(s.executor);
    const asio::ip::tcp::endpoint endpoint(asio::ip::address_v4::loopback(), s.port);
    s.acceptor->open(endpoint.protocol());
    s.acceptor->set_option(asio::ip::tcp::acceptor::reuse_address(true));
    s.acceptor->bind(endpoint);
    s.acceptor->listen();
    asio::co_spawn(s.executor, accept_loop(state_), asio::detached);
  }

  void stop() {
    auto& s = *state_;
    boost::system::error_code ignored;
    if (s.acceptor) s.acceptor->close(ignored);
    for (const auto& socket : s.sockets) socket->close(ignored);
    s.sockets.clear();
  }

 private:
  using Socket = boost::asio::ip::tcp::socket;
  struct State {
    State(boost::asio::any_io_executor ex, std::uint16_t target)
        : executor(std::move(ex)), target_port(target) {}
    boost::asio::any_io_executor executor;
    std::uint16_t target_port;
    std::uint16_t port = 0;
    std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;
    std::vector<std::shared_ptr<Socket>> sockets;
  };

  static boost::asio::awaitable<void> accept_loop(std::shared_ptr<State> state) {
    namespace asio = boost::asio;
    auto* acceptor = state->acceptor.get();
    while (true) {
      auto [ec, client] = co_await acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      auto down = std::make_shared<Socket>(std::move(client));
      auto up = std::make_shared<Socket>(state->executor);
      const asio::ip::tcp::endpoint target(asio::ip::address_v4::loopback(), state->target_port);
      auto [connect_ec] = co_await up->async_connect(target, asio::as_tuple(asio::use_awaitable));
      if (connect_ec) continue;
      state->sockets.push_back(down);
      state->sockets.push_back(up);
      asio::co_spawn(state->executor, pump(down, up), asio::detached);
      asio::co_spawn(state->executor, pump(up, down), asio::detached);
    }
  }

  static boost::asio::awaitable<void> pump(std::shared_ptr<Socket> from,
                                           std::shared_ptr<Socket> to) {
    namespace asio = boost::asio;
    std::array<char, 16384> buffer{};
    while (true) {
      auto [ec, n] =
          co_await from->async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      auto [write_ec, written] = co_await asio::async_write(*to, asio::buffer(buffer.data(), n),
                                                            asio::as_tuple(asio::use_awaitable));
      if (write_ec) break;
    }
    boost::system::error_code ignored;
    from->close(ignored);
    to->close(ignored);
  }

  std::shared_ptr<State> state_;
};

}  // namespace folio::test
