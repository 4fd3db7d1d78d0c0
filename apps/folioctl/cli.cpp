#include "cli.hpp"

#include <charconv>
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

std::chrono::seconds parse_duration(const std::string& text, std::string_view flag) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  const std::string unit(ptr, end);
  std::int64_t scale = 0;
  if (unit.empty() || unit == "s") scale = 1;
  if (unit == "m") scale = 60;
  if (unit == "h") scale = 3600;
  if (unit == "d") scale = 86400;
  if (ec != std::errc() || ptr == text.data() || value <= 0 || scale == 0) {
    throw UsageError(std::string(flag) + " must look like 24h, 90m, 3600s or 2d, got '" + text +
                     "'");
  }
  return std::chrono::seconds(value * scale);
}

}  // namespace folioctl
