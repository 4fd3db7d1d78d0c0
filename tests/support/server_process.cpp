#include "support/server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/http_client.hpp"
#include "support/stack_env.hpp"

extern char** environ;

namespace folio::test {

namespace {

std::map<std::string, std::string> current_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

// The port of the first {"msg":"listening",...,"port":N} line of `log`, or 0.
int listening_port(const std::string& log) {
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"listening\"") == std::string::npos) continue;
    boost::system::error_code ec;
    const auto value = boost::json::parse(line, ec);
    if (ec || !value.is_object()) continue;
    const auto& obj = value.as_object();
    const auto* msg = obj.if_contains("msg");
    const auto* port = obj.if_contains("port");
    if (msg && msg->is_string() && msg->as_string() == "listening" && port && port->is_int64()) {
      return static_cast<int>(port->as_int64());
    }
  }
  return 0;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

ServerProcess::ServerProcess(std::string database_url, ServerProcessOptions options) {
  std::string binary = options.binary;
#ifdef FOLIO_SERVER_PATH
  if (binary.empty()) binary = FOLIO_SERVER_PATH;
#endif
  if (binary.empty()) throw std::runtime_error("no folio-server binary given");
  log_path_ = "/tmp/folio-server-test-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::random_device{}()) + ".log";

  auto env = current_environment();
  env["DATABASE_URL"] = database_url;
  env["DATABASE_DIRECT_URL"] =
      options.direct_database_url.empty() ? database_url : options.direct_database_url;
  env["FOLIO_LISTEN"] = host_ + ":0";
  for (const auto& [key, value] : options.env) env[key] = value;

  std::vector<std::string> env_strings;
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings{binary};
  arg_strings.insert(arg_strings.end(), options.args.begin(), options.args.end());
  std::vector<char*> argv;
  for (auto& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) throw std::runtime_error("cannot create " + log_path_);
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(log_fd);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid_ == 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    std::_Exit(127);
  }
  ::close(log_fd);

  const auto deadline = std::chrono::steady_clock::now() + options.ready_timeout;
  std::string targets_dir = options.prometheus_targets_dir;
  if (targets_dir.empty()) targets_dir = find_stack_value("PROMETHEUS_TARGETS_DIR").value_or("");
  while (port_ == 0) {
    port_ = listening_port(log());
    if (port_ != 0) break;
    if (!running() || std::chrono::steady_clock::now() > deadline) {
      const auto code = exit_code_ ? std::to_string(*exit_code_) : std::string("still running");
      stop(std::chrono::seconds(5));
      throw std::runtime_error("folio-server did not start listening (exit: " + code + "); log:\n" +
                               log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!targets_dir.empty()) {
    try {
      register_target(targets_dir);
    } catch (const std::exception&) {
      stop(std::chrono::seconds(5));
      throw;
    }
  }
  if (options.wait_ready) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!wait_ready(std::max(left, std::chrono::milliseconds(1000)))) {
      stop(std::chrono::seconds(5));
      throw std::runtime_error("folio-server did not become ready; log:\n" + log());
    }
  }
}

ServerProcess::~ServerProcess() {
  stop();
  ::unlink(log_path_.c_str());
}

void ServerProcess::register_target(const std::string& dir) {
  const std::string name = "folio-server-" + std::to_string(pid_);
  const std::string path = dir + "/" + name + ".json";
  const std::string temporary = dir + "/." + name + ".json.tmp";  // outside the *.json glob
  const boost::json::array targets{
      boost::json::object{{"targets", boost::json::array{address()}},
                          {"labels", boost::json::object{{"instance_name", name}}}}};
  const std::string text = boost::json::serialize(targets) + "\n";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw std::runtime_error("cannot write Prometheus target " + temporary + ": " +
                             std::strerror(errno));
  }
  // Readable by Prometheus, which runs as another user, whatever the umask.
  const bool written = ::fchmod(fd, 0644) == 0 &&
                       ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int write_errno = errno;
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = written ? errno : write_errno;
    ::unlink(temporary.c_str());
    throw std::runtime_error("cannot write Prometheus target " + path + ": " +
                             std::strerror(error));
  }
  target_file_ = path;
}

void ServerProcess::unregister_target() noexcept {
  if (target_file_.empty()) return;
  ::unlink(target_file_.c_str());
  target_file_.clear();
}

bool ServerProcess::running() {
  if (exit_code_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = decode_status(status);
    unregister_target();
    return false;
  }
  return r == 0;
}

std::optional<int> ServerProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

void ServerProcess::signal(int signal) const {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, signal);
}

int ServerProcess::stop(std::chrono::seconds timeout) {
  unregister_target();
  if (pid_ <= 0) return -1;
  if (exit_code_) return *exit_code_;
  if (running()) ::kill(pid_, SIGTERM);
  if (!wait_exit(timeout)) {
    ::kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds(10));
  }
  return exit_code_.value_or(-1);
}

std::string ServerProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool ServerProcess::wait_ready(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return false;
    try {
      HttpClient client(host_, port_, std::chrono::seconds(5));
      if (client.request("GET", "/readyz").status == 200) return true;
    } catch (const std::exception&) {
      // Not accepting yet: try again.
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace folio::test
