// /v1/orgs/{org}/revenues|expenses[/{id}]
#include <boost/json/array.hpp>

#include "detail/handlers.hpp"
#include "detail/input.hpp"
#include "detail/json_output.hpp"

namespace folio::api::detail {

namespace json = boost::json;
namespace asio = boost::asio;

namespace {

asio::awaitable<Response> list_entries(Call& call, finance::EntryKind kind) {
  const auto params = parse_query(call.query, {"from", "to", "limit", "cursor"});
  const auto range = day_range(params);
  const auto limit = page_limit(params);
  const auto cursor = page_cursor(params);
  auto page =
      co_await call.worker.finance->list(call.org, kind, range.from, range.to, limit, cursor);
  json::array items;
  items.reserve(page.items.size());
  for (const auto& entry : page.items) items.push_back(to_json(entry));
  co_return json_response(
      200, json::object{{"items", std::move(items)}, {"next_cursor", cursor_json(page.next)}});
}

asio::awaitable<Response> create_entry(Call& call, finance::EntryKind kind) {
  parse_query(call.query, {});
  auto entry = new_entry(parse_json_object(call.req), kind);
  const auto created = co_await call.worker.finance->create(call.org, kind, std::move(entry));
  auto res = json_response(201, to_json(created));
  const std::string location = std::string(call.req.target()) + "/" + std::to_string(created.id);
  res.set(http::field::location, location);
  co_return res;
}

}  // namespace

asio::awaitable<Response> handle_entries(Call& call) {
  const auto kind = call.route.expenses ? finance::EntryKind::expense : finance::EntryKind::revenue;
  const auto method = call.req.method();
  if (call.route.id == RouteId::entries) {
    if (method == http::verb::post) co_return co_await create_entry(call, kind);
    co_return co_await list_entries(call, kind);
  }
  const auto id = parse_id(call.route.item);
  if (!id) bad_request(code::kInvalidValue, "id", "id must be a positive integer");
  auto& finance = *call.worker.finance;
  if (method == http::verb::get) {
    parse_query(call.query, {});
    const auto entry = co_await finance.get(call.org, kind, *id);
    if (!entry) not_found("no such " + std::string(finance::to_string(kind)));
    co_return json_response(200, to_json(*entry));
  }
  if (method == http::verb::patch) {
    parse_query(call.query, {});
    auto patch = entry_patch(parse_json_object(call.req), kind);
    const auto entry = co_await finance.update(call.org, kind, *id, std::move(patch));
    if (!entry) not_found("no such " + std::string(finance::to_string(kind)));
    co_return json_response(200, to_json(*entry));
  }
  parse_query(call.query, {});
  if (!co_await finance.remove(call.org, kind, *id)) {
    not_found("no such " + std::string(finance::to_string(kind)));
  }
  co_return empty_response(204);
}

}  // namespace folio::api::detail
