#include "folio/cache/redis_connection.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "detail/deadline.hpp"
#include "detail/error_reply.hpp"
#include "detail/tls.hpp"
#include "folio/cache/errors.hpp"

namespace folio::cache {

namespace {

using asio::use_awaitable;

constexpr std::string_view kPlainToTlsHint =
    " (is it a TLS-only port? use a rediss:// URL, or RedisConfig::tls = true)";

// The command name for messages: never an argument, which could be a secret or user data.
std::string command_name(std::string_view first_arg) {
  std::string name(first_arg.substr(0, 32));
  for (char& c : name) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return name;
}

// Removes `secret` from a server message (belt and braces: Redis does not echo passwords).
std::string scrub(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
    text.replace(pos, secret.size(), "***");
  }
  return text;
}

using detail::error_code_word;
using detail::is_auth_error;

std::string io_error_text(const boost::system::error_code& ec) {
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
      ec == asio::error::connection_reset) {
    return "the server closed the connection";
  }
  if (ec == asio::error::operation_aborted) return "the call was cancelled";
  return ec.message();
}

}  // namespace

RedisConnection::RedisConnection(PrivateTag /*tag*/, asio::any_io_executor executor,
                                 const RedisConfig& config)
    : executor_(std::move(executor)),
      address_(config.address()),
      command_timeout_(config.command_timeout),
      tls_(config.tls),
      stream_(std::in_place_type<TcpSocket>, executor_) {
  if (tls_) {
    tls_context_ = detail::make_tls_context(config);
    stream_.emplace<TlsStream>(executor_, *tls_context_);
  }
}

RedisConnection::~RedisConnection() = default;

asio::awaitable<std::unique_ptr<RedisConnection>> RedisConnection::connect(
    asio::any_io_executor executor, RedisConfig config) {
  if (config.host.empty()) throw std::invalid_argument("RedisConfig::host is empty");
  auto conn = std::make_unique<RedisConnection>(PrivateTag{}, executor, config);
  co_await conn->open(config);
  if (config.tls) co_await conn->handshake(config);
  co_await conn->login(config);
  co_return conn;
}

asio::awaitable<void> RedisConnection::open(const RedisConfig& config) {
  asio::ip::tcp::resolver resolver(executor_);
  const auto endpoints =
      co_await step(resolver.async_resolve(config.host, std::to_string(config.port), use_awaitable),
                    config.connect_timeout, "resolving");
  co_await step(asio::async_connect(socket(), endpoints, use_awaitable), config.connect_timeout,
                "connecting to");
  // Commands are small and latency-bound; do not let Nagle hold them back.
  boost::system::error_code ignored;
  socket().set_option(asio::ip::tcp::no_delay(true), ignored);
}

asio::awaitable<void> RedisConnection::handshake(const RedisConfig& config) {
  auto& tls = std::get<TlsStream>(stream_);
  detail::set_server_name(tls.native_handle(), config);
  bool done = false;
  try {
    done = co_await detail::run_until(tls.async_handshake(TlsStream::client, use_awaitable),
                                      config.connect_timeout);
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) {
      fail(std::current_exception(), "TLS handshake with");  // cancelled by the caller
    }
    fail_with(
        RedisTlsError(detail::describe_handshake_failure(tls.native_handle(), e.code(), config)));
  } catch (...) {
    fail(std::current_exception(), "TLS handshake with");
  }
  if (!done) fail_timeout("TLS handshake with", config.connect_timeout);
}

asio::awaitable<void> RedisConnection::login(const RedisConfig& config) {
  // AUTH and SELECT (or a PING, to prove the session works) in one round trip.
  std::string request;
  std::size_t count = 0;
  const bool auth = !config.password.empty();
  if (auth) {
    if (config.username.empty()) {
      append_command(request, std::array<std::string_view, 2>{"AUTH", config.password});
    } else {
      append_command(request,
                     std::array<std::string_view, 3>{"AUTH", config.username, config.password});
    }
    ++count;
  }
  const std::string db = std::to_string(config.db);
  const bool select = config.db != 0;
  if (select) {
    append_command(request, std::array<std::string_view, 2>{"SELECT", db});
    ++count;
  }
  if (count == 0) {
    append_command(request, std::array<std::string_view, 1>{"PING"});
    ++count;
  }

  const std::string what = auth ? "AUTH on" : select ? "SELECT on" : "PING on";
  std::vector<Reply> replies;
  try {
    replies =
        co_await step(write_and_read(std::move(request), count), config.connect_timeout, what);
  } catch (const RedisProtocolError& e) {
    if (tls_) throw;
    throw RedisProtocolError(e.what() + std::string(kPlainToTlsHint));
  } catch (const RedisConnectionError& e) {
    if (tls_) throw;
    throw RedisConnectionError(e.what() + std::string(kPlainToTlsHint));
  }

  std::size_t next = 0;
  if (auth) {
    const Reply& reply = replies[next++];
    if (reply.is_error()) {
      const std::string user = config.username.empty() ? "default" : config.username;
      throw RedisAuthError("Redis at " + address_ + " refused AUTH for user '" + user +
                           "': " + scrub(reply.error_message(), config.password));
    }
  }
  if (next == replies.size()) co_return;
  const Reply& last = replies[next];
  if (last.is_error()) {
    const std::string code = error_code_word(last.error_message());
    if (code == "NOAUTH") {
      throw RedisAuthError("Redis at " + address_ +
                           " requires a password (NOAUTH): put one in the URL, "
                           "rediss://user:password@host");
    }
    throw_error_reply(select ? "SELECT " + db : "PING", last);
  }
}

asio::awaitable<Reply> RedisConnection::command(std::span<const std::string_view> args) {
  if (args.empty()) throw std::invalid_argument("empty Redis command");
  std::string request;
  append_command(request, args);
  return run_command(std::move(request), command_name(args.front()));
}

asio::awaitable<Reply> RedisConnection::command(std::span<const std::string> args) {
  if (args.empty()) throw std::invalid_argument("empty Redis command");
  std::string request;
  append_command(request, args);
  return run_command(std::move(request), command_name(args.front()));
}

asio::awaitable<std::vector<Reply>> RedisConnection::pipeline(
    std::span<const std::vector<std::string>> commands) {
  std::string request;
  for (const auto& args : commands) {
    if (args.empty()) throw std::invalid_argument("empty Redis command in a pipeline");
    append_command(request, args);
  }
  return round_trip(std::move(request), commands.size(),
                    "pipeline of " + std::to_string(commands.size()) + " commands on");
}

asio::awaitable<Reply> RedisConnection::run_command(std::string request, std::string name) {
  auto replies = co_await round_trip(std::move(request), 1, name + " on");
  Reply reply = std::move(replies.front());
  if (reply.is_error()) throw_error_reply(name, reply);
  co_return reply;
}

asio::awaitable<std::vector<Reply>> RedisConnection::round_trip(std::string request,
                                                                std::size_t replies,
                                                                std::string what) {
  if (in_flight_ && !broken_) {
    broken_ = true;
    broken_reason_ = "a call was abandoned mid-way, or two coroutines used the connection at once";
  }
  if (broken_) {
    throw RedisConnectionError("connection to " + address_ + " is broken (" + broken_reason_ +
                               "); open a new one");
  }
  if (replies == 0) co_return std::vector<Reply>{};
  in_flight_ = true;  // stays set if this coroutine never finishes
  auto result =
      co_await step(write_and_read(std::move(request), replies), command_timeout_, std::move(what));
  in_flight_ = false;
  co_return result;
}

asio::awaitable<std::vector<Reply>> RedisConnection::write_and_read(std::string request,
                                                                    std::size_t replies) {
  co_await std::visit(
      [&](auto& stream) { return asio::async_write(stream, asio::buffer(request), use_awaitable); },
      stream_);
  std::vector<Reply> result;
  result.reserve(replies);
  while (result.size() < replies) {
    if (auto reply = parser_.next()) {
      result.push_back(std::move(*reply));
      continue;
    }
    const std::size_t n = co_await read_some();
    parser_.feed(std::string_view(read_buffer_.data(), n));
  }
  co_return result;
}

asio::awaitable<std::size_t> RedisConnection::read_some() {
  return std::visit(
      [this](auto& stream) {
        return stream.async_read_some(asio::buffer(read_buffer_), use_awaitable);
      },
      stream_);
}

template <typename T>
asio::awaitable<T> RedisConnection::step(asio::awaitable<T> op, std::chrono::milliseconds timeout,
                                         std::string what) {
  if constexpr (std::is_void_v<T>) {
    bool done = false;
    try {
      done = co_await detail::run_until(std::move(op), timeout);
    } catch (...) {
      fail(std::current_exception(), what);
    }
    if (!done) fail_timeout(what, timeout);
  } else {
    std::optional<T> result;
    try {
      result = co_await detail::run_until(std::move(op), timeout);
    } catch (...) {
      fail(std::current_exception(), what);
    }
    if (!result) fail_timeout(what, timeout);
    co_return std::move(*result);
  }
}

RedisConnection::TcpSocket& RedisConnection::socket() noexcept {
  if (auto* tls = std::get_if<TlsStream>(&stream_)) return tls->next_layer();
  return *std::get_if<TcpSocket>(&stream_);
}

void RedisConnection::fail(std::exception_ptr error, std::string_view what) {
  const std::string prefix = std::string(what) + " " + address_ + " failed: ";
  try {
    std::rethrow_exception(std::move(error));
  } catch (const boost::system::system_error& e) {
    fail_with(RedisConnectionError(prefix + io_error_text(e.code())));
  } catch (const RedisProtocolError& e) {
    fail_with(RedisProtocolError(prefix + e.what()));
  } catch (const RedisError& e) {
    mark_broken(e.what());
    throw;
  } catch (...) {
    // std::bad_alloc and the like propagate unchanged; the stream is lost all the same.
    mark_broken(prefix + "unexpected exception");
    throw;
  }
}

void RedisConnection::fail_timeout(std::string_view what, std::chrono::milliseconds timeout) {
  fail_with(RedisConnectionError(std::string(what) + " " + address_ + " timed out after " +
                                 std::to_string(timeout.count()) + " ms"));
}

template <typename E>
void RedisConnection::fail_with(const E& error) {
  mark_broken(error.what());
  throw error;
}

void RedisConnection::mark_broken(std::string reason) noexcept {
  broken_ = true;
  broken_reason_ = std::move(reason);
  // The server may still be answering the lost call: nothing on this stream is trustworthy.
  boost::system::error_code ignored;
  socket().close(ignored);
}

void RedisConnection::throw_error_reply(std::string_view name, const Reply& reply) const {
  detail::throw_error_reply(name, address_, reply);
}

}  // namespace folio::cache
