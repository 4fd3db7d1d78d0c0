#include "support/own_stack.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace folio::test {
namespace {

std::string stack_script() {
  const char* source = std::getenv("FOLIO_SOURCE_DIR");
  return std::string(source != nullptr && *source != '\0' ? source : FOLIO_SOURCE_DIR) +
         "/scripts/stack";
}

// Runs `command` through the shell; returns its exit status and combined output.
std::pair<int, std::string> shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace

OwnStack::OwnStack() {
  char pattern[] = "/tmp/folio-own-stack.XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  const auto [status, output] = shell(stack_script() + " up --dir " + dir_);
  if (status != 0) {
    shell(stack_script() + " down --dir " + dir_);
    throw std::runtime_error("scripts/stack up failed:\n" + output);
  }
  std::ifstream in(dir_ + "/stack.env");
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (env_.empty()) throw std::runtime_error("no stack.env in " + dir_);
}

OwnStack::~OwnStack() { shell(stack_script() + " down --dir " + dir_); }

const std::string& OwnStack::value(const std::string& key) const {
  const auto it = env_.find(key);
  if (it == env_.end()) throw std::runtime_error("stack.env has no " + key);
  return it->second;
}

void OwnStack::component(const std::string& command) {
  const auto [status, output] = shell(stack_script() + " " + command + " --dir " + dir_);
  if (status != 0) throw std::runtime_error("scripts/stack " + command + " failed:\n" + output);
}

}  // namespace folio::test
