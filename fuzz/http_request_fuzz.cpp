// Bytes as an HTTP/1.1 connection: Beast's request parser with the server's limits
// (session.cpp), request after request while keep-alive holds, then route matching and the
// validation the route's handler runs before it touches the database (handlers_*.cpp), in
// the same order. A parse error ends the connection the way the server answers it: by
// matching the partial header's route for the early error.
//
// Expected: a parse error, or a route and then a value or a Problem (api_checks.hpp).
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>

#include "api_checks.hpp"
#include "detail/router.hpp"
#include "folio/api/server.hpp"
#include "folio/finance/finance_repository.hpp"

namespace folio::fuzz {
namespace {

namespace http = api::detail::http;
using namespace api::detail;

constexpr std::size_t kHeaderLimit = std::size_t{16} * 1024;  // session.cpp

// The validation of handle_entries, handle_reports and handle_admin, per route and method.
void validate(const Request& req, const RouteMatch& route, std::string_view query) {
  const auto method = req.method();
  const auto kind = route.expenses ? finance::EntryKind::expense : finance::EntryKind::revenue;
  switch (route.id) {
    case RouteId::admin_routing:
      parse_query(query, {});
      return;
    case RouteId::admin_pilots: {
      parse_query(query, {});
      const auto orgs = pilot_orgs(parse_json_object(req));
      FUZZ_CHECK(!orgs.empty() && orgs.size() <= kMaxPilotOrgs);
      for (const auto org : orgs) FUZZ_CHECK(org > 0);
      return;
    }
    case RouteId::admin_pilot:
      parse_query(query, {});
      if (!parse_id(route.org)) bad_request(code::kInvalidValue, "org", "org");
      return;
    default:
      break;
  }
  // dispatch(): an {org} that is not an id is a 404 before any handler runs.
  if (!parse_id(route.org)) return;
  switch (route.id) {
    case RouteId::entries:
      if (method == http::verb::post) {
        parse_query(query, {});
        check_new_entry(new_entry(parse_json_object(req), kind), kind);
      } else {
        const auto params = parse_query(query, {"from", "to", "limit", "cursor"});
        check_day_range(day_range(params));
        const auto limit = page_limit(params);
        FUZZ_CHECK(limit >= 1 && limit <= finance::kMaxPageSize);
        const auto cursor = page_cursor(params);
        if (cursor) check_cursor(cursor, params.at("cursor"));
      }
      return;
    case RouteId::entry: {
      const auto id = parse_id(route.item);
      if (!id) bad_request(code::kInvalidValue, "id", "id must be a positive integer");
      parse_query(query, {});
      if (method == http::verb::patch) check_patch(entry_patch(parse_json_object(req), kind), kind);
      return;
    }
    case RouteId::balances:
    case RouteId::balance_history:
      check_day_range(day_range(parse_query(query, {"from", "to"})));
      return;
    case RouteId::pnl: {
      const auto params = parse_query(query, {"from", "to", "granularity"});
      check_day_range(day_range(params));
      granularity_param(params);
      return;
    }
    case RouteId::categories: {
      const auto params = parse_query(query, {"from", "to", "kind"});
      check_day_range(day_range(params));
      kind_param(params);
      return;
    }
    default:
      FUZZ_CHECK(false);  // every route that needs a token is handled above
  }
}

}  // namespace
}  // namespace folio::fuzz

namespace folio::fuzz {
namespace {

// One request from the front of `input` (advanced past it), as session.cpp reads it; false
// when the connection would end: nothing left, a parse error or a body over the limit.
bool serve_one(boost::asio::const_buffer& input) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(api::ServerOptions{}.max_body_bytes);
  parser.eager(true);
  boost::beast::error_code ec;
  // All the connection's bytes are given at once, so need_more means the client closed (and
  // Beast's put must not be called again until more bytes have arrived).
  while (!parser.is_done()) {
    const auto used = parser.put(input, ec);
    input += used;
    if (ec == http::error::need_more || (!ec && input.size() == 0)) {
      if (!parser.got_some()) return false;  // http::read: end_of_stream
      ec = {};
      parser.put_eof(ec);  // the client closed: complete only if nothing is missing
    }
    if (ec) break;
    if (used == 0 && !parser.is_done()) break;  // cannot happen; never spin
  }
  if (!parser.is_done() || ec) {
    // session.cpp's early_error: the route of whatever header arrived.
    const auto [path, query] = split_target(parser.get().target());
    match_route(parser.get().method(), path);
    return false;
  }

  const Request req = parser.release();
  const auto target = split_target(req.target());  // (clang 14 cannot capture a binding)
  const std::string_view query = target.second;
  const auto route = match_route(req.method(), target.first);
  FUZZ_CHECK(route.id != RouteId::unmatched || route.route == "unmatched");
  // dispatch(): 404, 405 and the token-free routes need no more input.
  if (route.id != RouteId::unmatched && route.method_allowed && needs_token(route.id)) {
    expect_value_or_problem([&] { validate(req, route, query); });
  }
  return req.keep_alive();
}

}  // namespace
}  // namespace folio::fuzz

// The bytes are one connection: requests are served while the connection stays open.
// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::asio::const_buffer input(data, size);
  while (folio::fuzz::serve_one(input)) {
  }
  return 0;
}
