// Shared plumbing of folioctl's commands: each command file registers its subcommands with
// `register_*` and sets the one action main() runs; failures map to exit codes in main():
//   0 success, 1 runtime failure (database, network), 2 bad usage or input,
//   3 migrations refused (an applied file changed), 4 verification found differences,
//   5 refused by a safety check (for example finalize without a recent clean verify).
#pragma once

#include <CLI/CLI.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace folioctl {

namespace asio = boost::asio;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A safety check said no; the message says why and what would make it say yes.
struct Refused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The command main() runs after parsing; returns the exit code.
using Action = std::function<int()>;

// Sets `action` to run `fn(*args)` when `cmd` is the parsed subcommand.
template <typename Args, typename Fn>
void on_parsed(CLI::App* cmd, Action& action, std::shared_ptr<Args> args, Fn fn) {
  cmd->callback([&action, args, fn] { action = [args, fn] { return fn(*args); }; });
}

// Value of the first set, non-empty environment variable among `names`, or "".
std::string env_or(std::initializer_list<const char*> names);

// Runs a coroutine made by `make(executor)` on a fresh io_context; returns its result or
// rethrows its exception.
template <typename Make>
auto run(Make make) {
  asio::io_context io;
  auto future = asio::co_spawn(io, make(io.get_executor()), asio::use_future);
  io.run();
  return future.get();
}

// Adds --database-url defaulting to DATABASE_DIRECT_URL (then DATABASE_URL): cutover
// commands run DDL and long statements, which belong on a direct connection.
void add_direct_database_url(CLI::App* cmd, std::string& url);
// Throws UsageError when `url` is empty.
void require_database_url(const std::string& url);
// "2026-01" as a month. Throws UsageError naming `flag` when it does not look like YYYY-MM.
std::chrono::year_month parse_month(const std::string& text, std::string_view flag);

// "24h", "90m", "3600s", "2d" or plain seconds, above zero. Throws UsageError naming `flag`.
std::chrono::seconds parse_duration(const std::string& text, std::string_view flag);

void register_switchover_schema(CLI::App& switchover, Action& action);    // prepare, sync-on/off
void register_switchover_backfill(CLI::App& switchover, Action& action);  // backfill
void register_switchover_verify(CLI::App& switchover, Action& action);    // verify
void register_switchover_routing(CLI::App& switchover, Action& action);   // preflight, pilot,
                                                                          // cutover, rollback,
                                                                          // finalize, status
void register_switchover_guard(CLI::App& switchover, Action& action);     // guard
void register_token(CLI::App& app, Action& action);                       // token create | revoke
void register_jobs(CLI::App& app, Action& action);                        // jobs run | status
void register_partitions(CLI::App& app, Action& action);  // partitions archive | archived |
                                                          // drop-archived

}  // namespace folioctl
