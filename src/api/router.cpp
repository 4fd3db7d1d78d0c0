#include "detail/router.hpp"

#include <vector>

namespace folio::api::detail {

namespace {

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path[0] != '/') return out;
  path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

struct Template {
  RouteId id;
  std::string_view route;
  std::string_view allow;
};

RouteMatch finish(RouteMatch m, http::verb method) {
  const auto name = http::to_string(method);
  // allow is a ", "-separated list of method names.
  std::string_view rest = m.allow;
  while (!rest.empty()) {
    const auto comma = rest.find(", ");
    if (rest.substr(0, comma) == name) {
      m.method_allowed = true;
      break;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 2);
  }
  return m;
}

}  // namespace

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

bool needs_token(RouteId id) {
  return id != RouteId::metrics && id != RouteId::healthz && id != RouteId::readyz &&
         id != RouteId::unmatched;
}

RouteMatch match_route(http::verb method, std::string_view path) {
  RouteMatch m;
  m.route = "unmatched";
  const auto s = segments(path);
  auto set = [&](RouteId id, std::string_view route, std::string_view allow) {
    m.id = id;
    m.route = route;
    m.allow = allow;
    return finish(std::move(m), method);
  };
  if (s.size() == 1) {
    if (s[0] == "metrics") return set(RouteId::metrics, "/metrics", "GET");
    if (s[0] == "healthz") return set(RouteId::healthz, "/healthz", "GET");
    if (s[0] == "readyz") return set(RouteId::readyz, "/readyz", "GET");
    return m;
  }
  if (s.size() < 3 || s[0] != "v1") return m;
  if (s[1] == "admin") {
    if (s[2] != "routing") return m;
    if (s.size() == 3) return set(RouteId::admin_routing, "/v1/admin/routing", "GET");
    if (s[3] != "pilots") return m;
    if (s.size() == 4) return set(RouteId::admin_pilots, "/v1/admin/routing/pilots", "POST");
    if (s.size() == 5 && !s[4].empty()) {
      m.org = std::string(s[4]);
      return set(RouteId::admin_pilot, "/v1/admin/routing/pilots/{org}", "DELETE");
    }
    return m;
  }
  if (s[1] != "orgs" || s[2].empty() || s.size() < 4) return m;
  m.org = std::string(s[2]);
  const auto area = s[3];
  if (area == "revenues" || area == "expenses") {
    m.expenses = area == "expenses";
    if (s.size() == 4) {
      return set(RouteId::entries,
                 m.expenses ? "/v1/orgs/{org}/expenses" : "/v1/orgs/{org}/revenues", "GET, POST");
    }
    if (s.size() == 5 && !s[4].empty()) {
      m.item = std::string(s[4]);
      return set(RouteId::entry,
                 m.expenses ? "/v1/orgs/{org}/expenses/{id}" : "/v1/orgs/{org}/revenues/{id}",
                 "GET, PATCH, DELETE");
    }
    return m;
  }
  if (area == "balances" && s.size() == 4) {
    return set(RouteId::balances, "/v1/orgs/{org}/balances", "GET");
  }
  if (area == "reports" && s.size() == 5) {
    if (s[4] == "pnl") return set(RouteId::pnl, "/v1/orgs/{org}/reports/pnl", "GET");
    if (s[4] == "categories") {
      return set(RouteId::categories, "/v1/orgs/{org}/reports/categories", "GET");
    }
    if (s[4] == "balance-history") {
      return set(RouteId::balance_history, "/v1/orgs/{org}/reports/balance-history", "GET");
    }
  }
  return m;
}

}  // namespace folio::api::detail
