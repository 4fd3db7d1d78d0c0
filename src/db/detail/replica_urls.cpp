// parse_replica_urls (declared in folio/db/replica_manager.hpp): REPLICA_URLS and
// REPLICA_HEALTH_URLS into endpoints. libpq's own parser reads each item, so every DSN form
// libpq accepts is accepted; its error text is never shown because it may quote a password.
#include <libpq-fe.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "folio/db/replica_manager.hpp"

namespace folio::db {

namespace {

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

// The trimmed items of a comma separated list; none for a blank list. Throws on an empty item.
std::vector<std::string> split_items(std::string_view list, std::string_view what) {
  std::vector<std::string> items;
  if (trim(list).empty()) return items;
  std::size_t begin = 0;
  while (true) {
    const auto comma = list.find(',', begin);
    const auto item =
        trim(list.substr(begin, comma == std::string_view::npos ? list.npos : comma - begin));
    if (item.empty()) {
      throw std::invalid_argument(std::string(what) + " item " + std::to_string(items.size() + 1) +
                                  " is empty (a stray comma?)");
    }
    items.emplace_back(item);
    if (comma == std::string_view::npos) return items;
    begin = comma + 1;
  }
}

struct ConninfoDeleter {
  void operator()(PQconninfoOption* options) const noexcept { PQconninfoFree(options); }
};

// "host:port/dbname" of one DSN. Throws (without libpq's message) when it cannot be parsed.
std::string endpoint_name(const std::string& dsn, std::string_view what, std::size_t position) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> options(PQconninfoParse(dsn.c_str(), &error));
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) {
    throw std::invalid_argument(std::string(what) + " item " + std::to_string(position) +
                                " is neither a postgresql:// URL nor a key=value connection "
                                "string");
  }
  std::map<std::string, std::string, std::less<>> values;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val != nullptr && *o->val != '\0') values[o->keyword] = o->val;
  }
  const auto value = [&](std::string_view key, const std::string& fallback) {
    const auto it = values.find(key);
    return it == values.end() ? fallback : it->second;
  };
  const std::string host = value("host", value("hostaddr", "localhost"));
  const std::string port = value("port", "5432");
  const std::string dbname = value("dbname", value("user", ""));
  return host + ":" + port + "/" + dbname;
}

}  // namespace

std::vector<ReplicaEndpoint> parse_replica_urls(std::string_view urls,
                                                std::string_view health_urls) {
  const auto dsns = split_items(urls, "REPLICA_URLS");
  const auto health = split_items(health_urls, "REPLICA_HEALTH_URLS");
  if (!health.empty() && health.size() != dsns.size()) {
    throw std::invalid_argument("REPLICA_HEALTH_URLS lists " + std::to_string(health.size()) +
                                " servers but REPLICA_URLS lists " + std::to_string(dsns.size()) +
                                ": give one health URL per replica, in the same order, or none");
  }
  std::vector<ReplicaEndpoint> endpoints;
  std::map<std::string, int> seen;
  for (std::size_t i = 0; i < dsns.size(); ++i) {
    ReplicaEndpoint e;
    e.name = endpoint_name(dsns[i], "REPLICA_URLS", i + 1);
    if (!health.empty()) {
      endpoint_name(health[i], "REPLICA_HEALTH_URLS", i + 1);  // validates it
      e.health_dsn = health[i];
    }
    if (const int n = ++seen[e.name]; n > 1) e.name += "#" + std::to_string(n);
    e.dsn = dsns[i];
    endpoints.push_back(std::move(e));
  }
  return endpoints;
}

}  // namespace folio::db
