// One connection to a Redis server over TLS (or plain TCP for redis:// URLs), driven by
// Boost.Asio C++20 coroutines. The transport is folio's own (Asio + OpenSSL); hiredis is used
// only to parse replies (see resp.hpp).
//
// connect() resolves, connects, handshakes TLS (verifying the certificate chain against the
// configured CA and the server name or IP), then AUTHs and SELECTs the database, each step
// under RedisConfig::connect_timeout. command() and pipeline() each make one round trip under
// RedisConfig::command_timeout.
//
// Failures are the typed exceptions of errors.hpp. After a RedisConnectionError (I/O failure,
// timeout, unparseable reply) or an abandoned call (cancelled coroutine) the connection is
// broken(): every later call throws RedisConnectionError at once, and the owner should drop
// it and connect again. Error replies (RedisCommandError) leave it usable.
//
// Thread-safety: a RedisConnection is bound to the executor it was created on and must be
// used from that executor only, by one coroutine at a time: replies are matched to requests
// by order, so a second call while one is in flight would read the wrong replies. (A second
// call made while one is in flight throws RedisConnectionError instead of corrupting the
// stream, and the connection is then broken.) The connection must outlive every call on it.
#pragma once

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <concepts>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "folio/cache/redis_config.hpp"
#include "folio/cache/reply.hpp"
#include "folio/cache/resp.hpp"

namespace folio::cache {

namespace asio = boost::asio;

// Anything a command argument can be read from as bytes: std::string, std::string_view,
// string literals.
template <typename T>
concept CommandArg = std::convertible_to<const T&, std::string_view>;

class RedisConnection {
 public:
  // Opens a connection (see the file comment). Throws RedisConnectionError when the server
  // cannot be reached, closes the connection or a step times out; RedisTlsError when the
  // TLS handshake fails (the message says why, e.g. the certificate did not verify against
  // ca_file or does not name server_name); RedisAuthError when AUTH is refused or required;
  // RedisCommandError when SELECT is refused (a database number out of range).
  static asio::awaitable<std::unique_ptr<RedisConnection>> connect(asio::any_io_executor executor,
                                                                   RedisConfig config);

  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;
  ~RedisConnection();

  // Sends one command, e.g. command("SET", key, value), and returns its reply. The arguments
  // are encoded before the call returns, so they need not outlive it. Throws
  // RedisCommandError for an error reply, RedisAuthError for NOAUTH/WRONGPASS,
  // RedisConnectionError as described above, and std::invalid_argument for no arguments.
  //
  // (Variadic rather than std::initializer_list: g++ 12 rejects a braced list inside a
  // co_await expression, "array used as initializer".)
  template <CommandArg First, CommandArg... Rest>
  asio::awaitable<Reply> command(const First& first, const Rest&... rest) {
    const std::array<std::string_view, 1 + sizeof...(Rest)> argv{std::string_view(first),
                                                                 std::string_view(rest)...};
    return command(std::span<const std::string_view>(argv));
  }
  asio::awaitable<Reply> command(std::span<const std::string_view> args);
  asio::awaitable<Reply> command(std::span<const std::string> args);

  // Sends all commands in one write and returns their replies in order. Error replies are
  // returned in place (Reply::is_error()), not thrown: the caller decides. The whole batch
  // shares one command_timeout. Throws RedisConnectionError as described above, and
  // std::invalid_argument when a command is empty.
  asio::awaitable<std::vector<Reply>> pipeline(std::span<const std::vector<std::string>> commands);

  // True after a connection failure or an abandoned call, and while a call is in flight.
  bool broken() const noexcept { return broken_ || in_flight_; }
  // "host:port" of the server, for messages and metrics labels.
  const std::string& address() const noexcept { return address_; }
  const asio::any_io_executor& executor() const noexcept { return executor_; }

 private:
  struct PrivateTag {};

 public:
  // Use connect(); public only so that std::make_unique can reach it.
  RedisConnection(PrivateTag tag, asio::any_io_executor executor, const RedisConfig& config);

 private:
  using TcpSocket = asio::ip::tcp::socket;
  using TlsStream = asio::ssl::stream<TcpSocket>;

  asio::awaitable<void> open(const RedisConfig& config);
  asio::awaitable<void> handshake(const RedisConfig& config);
  asio::awaitable<void> login(const RedisConfig& config);
  asio::awaitable<Reply> run_command(std::string request, std::string name);
  asio::awaitable<std::vector<Reply>> round_trip(std::string request, std::size_t replies,
                                                 std::string what);
  asio::awaitable<std::vector<Reply>> write_and_read(std::string request, std::size_t replies);
  asio::awaitable<std::size_t> read_some();
  // Runs one step of I/O under `timeout`; on failure or timeout the connection is broken and
  // the RedisConnectionError saying "<what> <address> failed: ..." is thrown.
  template <typename T>
  asio::awaitable<T> step(asio::awaitable<T> op, std::chrono::milliseconds timeout,
                          std::string what);
  TcpSocket& socket() noexcept;
  // Marks the connection broken, closes the socket and throws the exception that describes
  // `error` (an I/O error or a RedisError) during `what`.
  [[noreturn]] void fail(std::exception_ptr error, std::string_view what);
  [[noreturn]] void fail_timeout(std::string_view what, std::chrono::milliseconds timeout);
  template <typename E>
  [[noreturn]] void fail_with(const E& error);
  void mark_broken(std::string reason) noexcept;
  [[noreturn]] void throw_error_reply(std::string_view name, const Reply& reply) const;

  asio::any_io_executor executor_;
  std::string address_;
  std::chrono::milliseconds command_timeout_;
  bool tls_;
  std::unique_ptr<asio::ssl::context> tls_context_;  // outlives stream_
  std::variant<TcpSocket, TlsStream> stream_;
  ReplyParser parser_;
  std::array<char, std::size_t{16} * 1024> read_buffer_{};
  bool in_flight_ = false;  // a call started and has not finished (stays set if abandoned)
  bool broken_ = false;     // an earlier failure, described by broken_reason_
  std::string broken_reason_;
};

}  // namespace folio::cache
