#include "cli.hpp"

#include <cstdio>
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

std::chrono::year_month parse_month(const std::string& text, std::string_view flag) {
  int y = 0;
  unsigned m = 0;
  char dash = 0;
  char rest = 0;
  if (std::sscanf(text.c_str(), "%d%c%u%c", &y, &dash, &m, &rest) != 3 || dash != '-' || m < 1 ||
      m > 12 || y < 1 || y > 9999) {
    throw UsageError(std::string(flag) + " must look like YYYY-MM, got '" + text + "'");
  }
  return std::chrono::year{y} / std::chrono::month{m};
}

}  // namespace folioctl
