// Runs the built folio-server binary as a child process for API tests: on a free port
// (FOLIO_LISTEN=127.0.0.1:0), with the given database and extra environment/arguments,
// its log captured in a file. The constructor returns once the server logged its
// "listening" line and /readyz answered 200; the destructor stops it with SIGTERM.
//
// With a Prometheus targets directory (the local stack's PROMETHEUS_TARGETS_DIR, by
// default), the listening server registers as a target of the stack's Prometheus: the file
// <dir>/folio-server-<pid>.json names its address (the target's `instance` label) and is
// removed when the server stops, before SIGTERM, or is found to have exited.
//
//   folio::test::CutoverDatabase db{"api_x", 2};
//   folio::test::ServerProcess server(db.dsn());
//   folio::test::HttpClient http("127.0.0.1", server.port());
//   ...
//   EXPECT_EQ(server.stop(), 0);  // graceful shutdown exits 0
//
// Thread-safety: construct, use and destroy on one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace folio::test {

struct ServerProcessOptions {
  // Extra environment (overrides the inherited one), e.g. {"USE_PARTITIONED_TABLES","true"}.
  std::map<std::string, std::string> env;
  // Extra command-line arguments, e.g. {"--workers", "2"}.
  std::vector<std::string> args;
  // The binary; empty: the folio-server this test was built with (FOLIO_SERVER_PATH).
  std::string binary;
  // DATABASE_DIRECT_URL; empty: the database URL given to the constructor.
  std::string direct_database_url;
  // How long to wait for "listening" and a 200 from /readyz.
  std::chrono::seconds ready_timeout{60};
  // false: return right after "listening" (for tests of an unready server).
  bool wait_ready = true;
  // Where the server registers as a Prometheus file_sd target; empty: PROMETHEUS_TARGETS_DIR
  // of $FOLIO_STACK_DIR/stack.env when that has one, else no registration.
  std::string prometheus_targets_dir;
};

class ServerProcess {
 public:
  // Starts the server with DATABASE_URL = `database_url`. Throws std::runtime_error (with
  // the server's log) when it exits or does not become ready in time, or when its target
  // file cannot be written.
  explicit ServerProcess(std::string database_url, ServerProcessOptions options = {});
  // Stops the server (SIGTERM, then SIGKILL after 30 s) unless stop() already ran.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  const std::string& host() const { return host_; }
  pid_t pid() const { return pid_; }
  // "host:port": the `instance` label Prometheus gives the server's series.
  std::string address() const { return host_ + ":" + std::to_string(port_); }
  // The Prometheus target file while the server is registered, else "".
  const std::string& prometheus_target_file() const { return target_file_; }

  // Removes the target file, sends SIGTERM and waits up to `timeout` (then SIGKILL).
  // Returns the exit code, or 128 + signal number when a signal ended it. Later calls
  // return the same value.
  int stop(std::chrono::seconds timeout = std::chrono::seconds(30));
  // Sends `signal` without waiting (for shutdown tests).
  void signal(int signal) const;
  // Waits up to `timeout` for the process to end on its own; the exit code as stop().
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();

  // Everything the server wrote to stdout and stderr so far.
  std::string log() const;
  // Polls GET /readyz until it answers 200 or `timeout` passes.
  bool wait_ready(std::chrono::milliseconds timeout);

 private:
  // Writes the target file (a temporary file renamed into place); throws when it cannot.
  void register_target(const std::string& dir);
  void unregister_target() noexcept;

  std::string log_path_;
  std::string target_file_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace folio::test
