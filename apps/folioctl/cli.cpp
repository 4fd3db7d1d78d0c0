#include "cli.hpp"

#include <cstdlib>

namespace folioctl {

std::string env_or(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return v;
  }
  return {};
}

void add_direct_database_url(CLI::App* cmd, std::string& url) {
  url = env_or({"DATABASE_DIRECT_URL", "DATABASE_URL"});
  cmd->add_option("--database-url", url,
                  "Direct PostgreSQL URL, not PgBouncer (env DATABASE_DIRECT_URL, then "
                  "DATABASE_URL)");
}

void require_database_url(const std::string& url) {
  if (url.empty()) {
    throw UsageError("no database: pass --database-url or set DATABASE_DIRECT_URL");
  }
}

}  // namespace folioctl
