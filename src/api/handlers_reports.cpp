// /v1/orgs/{org}/balances and /v1/orgs/{org}/reports/{pnl,categories,balance-history}
#include <boost/json/array.hpp>

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

finance::Granularity granularity(const std::map<std::string, std::string>& params) {
  const auto it = params.find("granularity");
  if (it == params.end() || it->second == "day") return finance::Granularity::day;
  if (it->second == "month") return finance::Granularity::month;
  bad_request(code::kInvalidValue, "granularity", "granularity must be day or month");
}

finance::EntryKind kind(const std::map<std::string, std::string>& params) {
  const auto it = params.find("kind");
  if (it == params.end()) bad_request(code::kMissingField, "kind", "kind is required");
  if (it->second == "revenue") return finance::EntryKind::revenue;
  if (it->second == "expense") return finance::EntryKind::expense;
  bad_request(code::kInvalidValue, "kind", "kind must be revenue or expense");
}

}  // namespace

asio::awaitable<Response> handle_reports(Call& call) {
  auto& w = call.worker;
  switch (call.route.id) {
    case RouteId::balances: {
      const auto range = day_range(parse_query(call.query, {"from", "to"}));
      const auto rows = co_await w.finance->balances(call.org, range.from, range.to);
      co_return json_response(200, report(range, rows));
    }
    case RouteId::pnl: {
      const auto params = parse_query(call.query, {"from", "to", "granularity"});
      const auto range = day_range(params);
      const auto g = granularity(params);
      const auto rows = co_await w.reports->profit_and_loss(call.org, range.from, range.to, g);
      auto body = report(range, rows);
      body["granularity"] = finance::to_string(g);
      co_return json_response(200, body);
    }
    case RouteId::categories: {
      const auto params = parse_query(call.query, {"from", "to", "kind"});
      const auto range = day_range(params);
      const auto k = kind(params);
      const auto rows = co_await w.reports->categories(call.org, k, range.from, range.to);
      auto body = report(range, rows);
      body["kind"] = finance::to_string(k);
      co_return json_response(200, body);
    }
    default: {
      const auto range = day_range(parse_query(call.query, {"from", "to"}));
      const auto rows = co_await w.reports->balance_history(call.org, range.from, range.to);
      co_return json_response(200, report(range, rows));
    }
  }
}

}  // namespace folio::api::detail
