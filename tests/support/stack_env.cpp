#include "support/stack_env.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace folio::test {
namespace {

// $FOLIO_STACK_DIR, "" when unset.
std::string stack_dir() {
  const char* dir = std::getenv("FOLIO_STACK_DIR");
  return dir == nullptr ? std::string() : std::string(dir);
}

std::map<std::string, std::string> parse_env(std::ifstream& in) {
  std::map<std::string, std::string> env;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

}  // namespace

std::map<std::string, std::string> load_stack_env() {
  const auto dir = stack_dir();
  if (dir.empty()) {
    throw std::runtime_error("FOLIO_STACK_DIR is not set: run this test through ctest");
  }
  std::ifstream in(dir + "/stack.env");
  if (!in) throw std::runtime_error("no stack.env in " + dir);
  return parse_env(in);
}

std::string stack_value(const std::string& key) {
  const auto env = load_stack_env();
  const auto it = env.find(key);
  if (it == env.end()) throw std::runtime_error("stack.env has no " + key);
  return it->second;
}

std::optional<std::string> find_stack_value(const std::string& key) {
  const auto dir = stack_dir();
  if (dir.empty()) return std::nullopt;
  std::ifstream in(dir + "/stack.env");
  if (!in) return std::nullopt;
  const auto env = parse_env(in);
  const auto it = env.find(key);
  if (it == env.end()) return std::nullopt;
  return it->second;
}

}  // namespace folio::test
