// /v1/orgs/{org}/balances and /v1/orgs/{org}/reports/{pnl,categories,balance-history}
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "detail/handlers.hpp"
#include "detail/input.hpp"
#include "detail/json_output.hpp"

namespace folio::api::detail {

namespace json = boost::json;
namespace asio = boost::asio;

namespace {

template <typename Rows>
json::object report(const DayRange& range, const Rows& rows) {
  json::array items;
  items.reserve(rows.size());
  for (const auto& row : rows) items.push_back(to_json(row));
  return {
      {"from", format_day(range.from)}, {"to", format_day(range.to)}, {"items", std::move(items)}};
}

// The cache key of one report: the side routing reads it from (a routing change is a new
// key) and the validated, normalized parameters.
std::string report_key(Call& call, partitioning::Table table, const DayRange& range,
                       std::string_view variant) {
  const auto target = call.worker.shared.routing->route(table, call.org).target;
  std::string key(partitioning::to_string(target));
  key += ':' + format_day(range.from) + ':' + format_day(range.to) + ':';
  key += variant;
  return key;
}

// The report's JSON body: from the cache when it holds the organization's current version,
// else computed (and stored). Without a cache it is computed every time.
asio::awaitable<Response> cached_report(Call& call, std::string_view kind, std::string key,
                                        cache::CacheService::Compute compute) {
  auto* cache = call.worker.cache.get();
  std::string body;
  if (cache == nullptr) {
    body = co_await compute();
  } else {
    body = co_await cache->get_or_compute(call.org, kind, std::move(key), std::move(compute));
  }
  co_return text_response(200, std::move(body), "application/json");
}

}  // namespace

asio::awaitable<Response> handle_reports(Call& call) {
  auto& w = call.worker;
  const auto org = call.org;
  using partitioning::Table;
  switch (call.route.id) {
    case RouteId::balances: {
      const auto range = day_range(parse_query(call.query, {"from", "to"}));
      auto key = report_key(call, Table::balances, range, "");
      co_return co_await cached_report(
          call, "balances", std::move(key), [&w, org, range]() -> asio::awaitable<std::string> {
            const auto rows = co_await w.finance->balances(org, range.from, range.to);
            co_return json::serialize(report(range, rows));
          });
    }
    case RouteId::pnl: {
      const auto params = parse_query(call.query, {"from", "to", "granularity"});
      const auto range = day_range(params);
      const auto g = granularity_param(params);
      auto key = report_key(call, Table::balances, range, finance::to_string(g));
      co_return co_await cached_report(
          call, "pnl", std::move(key), [&w, org, range, g]() -> asio::awaitable<std::string> {
            const auto rows = co_await w.reports->profit_and_loss(org, range.from, range.to, g);
            auto body = report(range, rows);
            body["granularity"] = finance::to_string(g);
            co_return json::serialize(body);
          });
    }
    case RouteId::categories: {
      const auto params = parse_query(call.query, {"from", "to", "kind"});
      const auto range = day_range(params);
      const auto k = kind_param(params);
      const Table table = k == finance::EntryKind::revenue ? Table::revenues : Table::expenses;
      auto key = report_key(call, table, range, finance::to_string(k));
      co_return co_await cached_report(call, "categories", std::move(key),
                                       [&w, org, range, k]() -> asio::awaitable<std::string> {
                                         const auto rows = co_await w.reports->categories(
                                             org, k, range.from, range.to);
                                         auto body = report(range, rows);
                                         body["kind"] = finance::to_string(k);
                                         co_return json::serialize(body);
                                       });
    }
    default: {
      const auto range = day_range(parse_query(call.query, {"from", "to"}));
      auto key = report_key(call, Table::balances, range, "");
      co_return co_await cached_report(call, "balance_history", std::move(key),
                                       [&w, org, range]() -> asio::awaitable<std::string> {
                                         const auto rows = co_await w.reports->balance_history(
                                             org, range.from, range.to);
                                         co_return json::serialize(report(range, rows));
                                       });
    }
  }
}

}  // namespace folio::api::detail
