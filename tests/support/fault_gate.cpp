#include "support/fault_gate.hpp"

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace folio::test {

namespace asio = boost::asio;
using asio::ip::tcp;
using Mode = FaultGate::Mode;

namespace {

constexpr auto kPoll = std::chrono::milliseconds(20);
constexpr auto token = asio::as_tuple(asio::use_awaitable);

// One relayed connection: the client's socket and ours to the server.
struct Link {
  explicit Link(asio::io_context& io) : client(io), server(io) {}
  tcp::socket client;
  tcp::socket server;

  // RST both sides: linger 0, then close.
  void abort() {
    boost::system::error_code ignored;
    for (auto* s : {&client, &server}) {
      if (!s->is_open()) continue;
      s->set_option(tcp::socket::linger(true, 0), ignored);
      s->close(ignored);
    }
  }
};

}  // namespace

struct FaultGate::State {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::string host;
  std::uint16_t target_port = 0;
  std::uint16_t port = 0;
  std::atomic<Mode> up{pass};
  std::atomic<Mode> down{pass};
  std::atomic<std::int64_t> latency_ms{0};
  std::vector<std::weak_ptr<Link>> links;  // touched on the io thread only
  std::atomic<std::size_t> open{0};
  std::thread thread;

  // Applies what a mode change does at once to the open connections.
  void apply() {
    std::vector<std::shared_ptr<Link>> live;
    for (auto& weak : links) {
      if (auto link = weak.lock()) live.push_back(std::move(link));
    }
    links.assign(live.begin(), live.end());
    boost::system::error_code ignored;
    for (auto& link : live) {
      if (up == reset || down == reset) {
        link->abort();
        continue;
      }
      if (up == half_open && link->server.is_open()) {
        link->server.shutdown(tcp::socket::shutdown_send, ignored);
      }
      if (down == half_open && link->client.is_open()) {
        link->client.shutdown(tcp::socket::shutdown_send, ignored);
      }
    }
  }
};

namespace {

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(token);
}

// Relays one direction until either side closes or the link is reset.
asio::awaitable<void> pump(FaultGate::State* state, std::shared_ptr<Link> link, tcp::socket& from,
                           tcp::socket& to, const std::atomic<Mode>& mode) {
  std::array<char, 16384> buffer;
  for (;;) {
    auto [read_ec, n] = co_await from.async_read_some(asio::buffer(buffer), token);
    if (read_ec) break;
    // Held, not read further (the sender's kernel buffers fill up behind it), while the
    // direction is blackholed.
    while (mode == Mode::blackhole) co_await pause(kPoll);
    const Mode now = mode;
    if (now == Mode::reset) {
      link->abort();
      co_return;
    }
    if (now == Mode::half_open) continue;  // the receiver was sent a FIN: drop
    if (now == Mode::slow) co_await pause(std::chrono::milliseconds(state->latency_ms.load()));
    auto [write_ec, written] =
        co_await asio::async_write(to, asio::buffer(buffer.data(), n), token);
    (void)written;
    if (write_ec) break;
  }
  // One side is gone: pass the end on, as a FIN.
  boost::system::error_code ignored;
  if (to.is_open()) to.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> relay(FaultGate::State* state, std::shared_ptr<Link> link) {
  ++state->open;
  tcp::resolver resolver(state->io);
  auto [resolve_ec, endpoints] =
      co_await resolver.async_resolve(state->host, std::to_string(state->target_port), token);
  bool connected = false;
  if (!resolve_ec) {
    auto [connect_ec, endpoint] = co_await asio::async_connect(link->server, endpoints, token);
    (void)endpoint;
    connected = !connect_ec;
  }
  if (connected && state->up != Mode::reset && state->down != Mode::reset) {
    // Both directions at once; the link lives while either runs.
    int running = 2;
    asio::steady_timer done(state->io, asio::steady_timer::time_point::max());
    auto run = [&](tcp::socket& from, tcp::socket& to,
                   const std::atomic<Mode>& mode) -> asio::awaitable<void> {
      co_await pump(state, link, from, to, mode);
      if (--running == 0) done.cancel();
    };
    asio::co_spawn(state->io, run(link->client, link->server, state->up), asio::detached);
    asio::co_spawn(state->io, run(link->server, link->client, state->down), asio::detached);
    co_await done.async_wait(token);
  }
  link->abort();
  --state->open;
}

asio::awaitable<void> accept_loop(FaultGate::State* state) {
  for (;;) {
    auto link = std::make_shared<Link>(state->io);
    auto [ec] = co_await state->acceptor.async_accept(link->client, token);
    if (ec) co_return;
    if (state->up == Mode::reset || state->down == Mode::reset) {
      link->abort();
      continue;
    }
    state->links.push_back(link);
    asio::co_spawn(state->io, relay(state, link), asio::detached);
  }
}

}  // namespace

FaultGate::FaultGate(std::string host, std::uint16_t port) : state_(std::make_shared<State>()) {
  state_->host = std::move(host);
  state_->target_port = port;
  const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen();
  state_->port = state_->acceptor.local_endpoint().port();
  asio::co_spawn(state_->io, accept_loop(state_.get()), asio::detached);
  state_->thread = std::thread([s = state_.get()] { s->io.run(); });
}

FaultGate::~FaultGate() {
  asio::post(state_->io, [s = state_.get()] {
    boost::system::error_code ignored;
    s->acceptor.close(ignored);
    s->up = Mode::reset;
    s->down = Mode::reset;
    s->apply();
  });
  // Pumps waiting in a blackhole see the reset within one poll and end.
  state_->thread.join();
}

std::uint16_t FaultGate::port() const noexcept { return state_->port; }

std::string FaultGate::address() const { return "127.0.0.1:" + std::to_string(state_->port); }

void FaultGate::set(Mode both, std::chrono::milliseconds latency) { set(both, both, latency); }

void FaultGate::set(Mode up, Mode down, std::chrono::milliseconds latency) {
  state_->latency_ms = latency.count();
  state_->up = up;
  state_->down = down;
  std::promise<void> applied;
  asio::post(state_->io, [s = state_.get(), &applied] {
    s->apply();
    applied.set_value();
  });
  applied.get_future().wait();
}

std::size_t FaultGate::connections() const { return state_->open.load(); }

}  // namespace folio::test
