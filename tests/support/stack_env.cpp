#include "support/stack_env.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace folio::test {

std::map<std::string, std::string> load_stack_env() {
  const char* dir = std::getenv("FOLIO_STACK_DIR");
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error("FOLIO_STACK_DIR is not set: run this test through ctest");
  }
  std::ifstream in(std::string(dir) + "/stack.env");
  if (!in) throw std::runtime_error(std::string("no stack.env in ") + dir);
  std::map<std::string, std::string> env;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

std::string stack_value(const std::string& key) {
  const auto env = load_stack_env();
  const auto it = env.find(key);
  if (it == env.end()) throw std::runtime_error("stack.env has no " + key);
  return it->second;
}

}  // namespace folio::test
