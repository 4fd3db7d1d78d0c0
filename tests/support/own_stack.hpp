// A private local stack (scripts/stack) for tests that stop, restart or pause its servers:
// the shared CTest fixture stack must stay untouched for the tests running beside them.
//
// The constructor runs `scripts/stack up` in a fresh directory under /tmp (about 10-20 s)
// and reads its stack.env; the destructor runs `scripts/stack down`, which stops exactly the
// processes that stack started. component() runs stop-replica, start-replica, stop-redis or
// start-redis on it. Its Prometheus is value("PROMETHEUS_URL"); a folio-server started with
// ServerProcessOptions::prometheus_targets_dir = value("PROMETHEUS_TARGETS_DIR") is scraped
// by it (component("reload-rules") reloads deploy/prometheus/rules).
//
// Thread-safety: none; use from the test's thread.
#pragma once

#include <map>
#include <string>

namespace folio::test {

class OwnStack {
 public:
  // Throws std::runtime_error (with the script's output) when the stack does not come up.
  OwnStack();
  ~OwnStack();
  OwnStack(const OwnStack&) = delete;
  OwnStack& operator=(const OwnStack&) = delete;

  const std::string& dir() const noexcept { return dir_; }
  // A stack.env value, e.g. value("DATABASE_URL"). Throws when the key is missing.
  const std::string& value(const std::string& key) const;
  const std::map<std::string, std::string>& env() const noexcept { return env_; }
  // Runs `scripts/stack <command> --dir <dir>`; throws when it fails.
  void component(const std::string& command);

 private:
  std::string dir_;
  std::map<std::string, std::string> env_;
};

}  // namespace folio::test
