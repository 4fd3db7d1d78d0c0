// Validation of request input: JSON bodies and query strings. Each function either returns
// a checked value or throws Problem(400, code, message, field) naming the offending field,
// so a handler has validated everything before it writes anything.
//
// Limits (docs/api.md): amounts are integers 0..kMaxAmountCents; text fields at most
// kMaxTextBytes (descriptions) / kMaxNameBytes (vendors); currencies are active ISO-4217
// codes; date ranges span at most kMaxSpanDays days.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detail/http.hpp"
#include "folio/api/time_text.hpp"
#include "folio/finance/model.hpp"

namespace folio::api::detail {

inline constexpr std::int64_t kMaxAmountCents = 9'007'199'254'740'991;  // 2^53 - 1
inline constexpr std::size_t kMaxTextBytes = 1000;
inline constexpr std::size_t kMaxNameBytes = 200;
inline constexpr int kMaxSpanDays = 731;
inline constexpr std::size_t kDefaultPageSize = 100;
inline constexpr std::size_t kMaxPilotOrgs = 1000;

// ---- bodies --------------------------------------------------------------------------------

// The body as a JSON object: 415 unless the Content-Type is application/json, 400 when it is
// empty, not JSON, or not an object.
boost::json::object parse_json_object(const Request& req);

// 400 unknown_field for the first key of `obj` not in `allowed`.
void only_fields(const boost::json::object& obj, std::initializer_list<std::string_view> allowed);

// The field's value, nullptr when absent; `required` makes absence a 400 missing_field.
const boost::json::value* field(const boost::json::object& obj, std::string_view name,
                                bool required);

std::string text_value(const boost::json::value& v, std::string_view name, std::size_t max_bytes);
// null reads as nullopt.
std::optional<std::string> nullable_text(const boost::json::value& v, std::string_view name,
                                         std::size_t max_bytes);
std::int64_t amount_value(const boost::json::value& v, std::string_view name);
std::int64_t id_value(const boost::json::value& v, std::string_view name);  // > 0
finance::Timestamp timestamp_value(const boost::json::value& v, std::string_view name);
std::string currency_value(const boost::json::value& v, std::string_view name);
std::string category_value(const boost::json::value& v, std::string_view name,
                           finance::EntryKind kind);

// A create body of the kind's collection (vendor only for expenses).
finance::NewEntry new_entry(const boost::json::object& obj, finance::EntryKind kind);
// A PATCH body; 400 when it changes nothing.
finance::EntryPatch entry_patch(const boost::json::object& obj, finance::EntryKind kind);
// The body of a pilot change: {"org_ids": [...]}, 1..kMaxPilotOrgs positive ids.
std::vector<std::int64_t> pilot_orgs(const boost::json::object& body);

// ---- query strings ---------------------------------------------------------------------------

// Parameters of a query string, percent-decoded. 400 for a parameter not in `allowed`, one
// given twice, or a malformed escape.
std::map<std::string, std::string> parse_query(std::string_view query,
                                               std::initializer_list<std::string_view> allowed);

struct DayRange {
  finance::Day from{};
  finance::Day to{};
};
// from and to (both required): real days, from <= to, at most kMaxSpanDays days.
DayRange day_range(const std::map<std::string, std::string>& params);

// limit: 1..finance::kMaxPageSize, default kDefaultPageSize.
std::size_t page_limit(const std::map<std::string, std::string>& params);
std::optional<finance::Cursor> page_cursor(const std::map<std::string, std::string>& params);
// granularity: day (the default) or month.
finance::Granularity granularity_param(const std::map<std::string, std::string>& params);
// kind (required): revenue or expense.
finance::EntryKind kind_param(const std::map<std::string, std::string>& params);

// A path id ({org}, {id}): a positive 64-bit integer in plain decimal; nullopt otherwise.
std::optional<std::int64_t> parse_id(std::string_view text);

// Active ISO-4217 currency codes.
bool is_currency(std::string_view code);

}  // namespace folio::api::detail
