// JSON body validation (detail/input.hpp).
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "detail/input.hpp"

namespace folio::api::detail {

namespace json = boost::json;

namespace {

std::string lower_trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void wrong_type(std::string_view name, std::string_view expected) {
  bad_request(code::kInvalidType, std::string(name),
              std::string(name) + " must be " + std::string(expected));
}

[[noreturn]] void bad_value(std::string_view name, const std::string& message) {
  bad_request(code::kInvalidValue, std::string(name), std::string(name) + " " + message);
}

// Finds the first key given twice in one object. json::parse keeps the last of them, while a
// proxy or another reader in front of folio may keep the first: such a body is refused, so
// that everybody reads the same values.
class DuplicateKeyFinder {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  bool on_object_begin(boost::system::error_code&) {
    keys_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    keys_.pop_back();
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, boost::system::error_code& ec) {
    key_.append(s.data(), s.size());
    if (!keys_.back().insert(key_).second) {
      duplicate_ = key_;
      ec = json::error::syntax;  // stops the parser: one duplicate is enough
      return false;
    }
    key_.clear();
    return true;
  }
  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
  bool on_string_part(json::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) { return true; }
  bool on_double(double, json::string_view, boost::system::error_code&) { return true; }
  bool on_bool(bool, boost::system::error_code&) { return true; }
  bool on_null(boost::system::error_code&) { return true; }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }

  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  std::vector<std::set<std::string, std::less<>>> keys_;
  std::string key_;
  std::optional<std::string> duplicate_;
};

std::optional<std::string> duplicate_key(std::string_view body,
                                         const json::parse_options& options) {
  json::basic_parser<DuplicateKeyFinder> parser(options);
  boost::system::error_code ec;
  parser.write_some(false, body.data(), body.size(), ec);
  return parser.handler().duplicate();
}

}  // namespace

json::object parse_json_object(const Request& req) {
  const auto content_type = req[http::field::content_type];
  const auto media = lower_trimmed(content_type.substr(0, content_type.find(';')));
  if (media != "application/json") {
    throw Problem(415, code::kUnsupportedMediaType,
                  "the body must be application/json, got '" + std::string(content_type) + "'");
  }
  if (req.body().empty()) {
    throw Problem(400, code::kInvalidJson, "the request needs a JSON object body");
  }
  json::parse_options options;
  options.max_depth = 16;
  boost::system::error_code ec;
  json::value value = json::parse(req.body(), ec, {}, options);
  if (ec) throw Problem(400, code::kInvalidJson, "the body is not valid JSON: " + ec.message());
  if (!value.is_object()) throw Problem(400, code::kInvalidType, "the body must be a JSON object");
  if (const auto key = duplicate_key(req.body(), options)) {
    bad_value(*key, "is given more than once");
  }
  return std::move(value.as_object());
}

void only_fields(const json::object& obj, std::initializer_list<std::string_view> allowed) {
  for (const auto& item : obj) {
    bool known = false;
    for (const auto name : allowed) known = known || item.key() == name;
    if (!known) {
      bad_request(code::kUnknownField, std::string(item.key()),
                  "unknown field '" + std::string(item.key()) + "'");
    }
  }
}

const json::value* field(const json::object& obj, std::string_view name, bool required) {
  const auto* v = obj.if_contains(name);
  if (v == nullptr && required) {
    bad_request(code::kMissingField, std::string(name), std::string(name) + " is required");
  }
  return v;
}

std::string text_value(const json::value& v, std::string_view name, std::size_t max_bytes) {
  if (!v.is_string()) wrong_type(name, "a string");
  const auto& s = v.get_string();
  if (s.size() > max_bytes)
    bad_value(name, "is longer than " + std::to_string(max_bytes) + " bytes");
  if (s.find('\0') != json::string::npos) bad_value(name, "must not contain NUL characters");
  return std::string(s);
}

std::optional<std::string> nullable_text(const json::value& v, std::string_view name,
                                         std::size_t max_bytes) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_string()) wrong_type(name, "a string or null");
  return text_value(v, name, max_bytes);
}

std::int64_t amount_value(const json::value& v, std::string_view name) {
  if (v.is_double()) bad_value(name, "must be a whole number of cents written as an integer");
  if (v.is_uint64()) bad_value(name, "must be at most " + std::to_string(kMaxAmountCents));
  if (!v.is_int64()) wrong_type(name, "an integer number of cents");
  const auto amount = v.get_int64();
  if (amount < 0) bad_value(name, "must not be negative");
  if (amount > kMaxAmountCents)
    bad_value(name, "must be at most " + std::to_string(kMaxAmountCents));
  return amount;
}

std::int64_t id_value(const json::value& v, std::string_view name) {
  if (v.is_double() || v.is_uint64()) bad_value(name, "must be a positive 64-bit integer");
  if (!v.is_int64()) wrong_type(name, "an integer");
  if (v.get_int64() <= 0) bad_value(name, "must be positive");
  return v.get_int64();
}

finance::Timestamp timestamp_value(const json::value& v, std::string_view name) {
  if (!v.is_string()) wrong_type(name, "an RFC 3339 timestamp string");
  const auto t = parse_timestamp(v.get_string());
  if (!t) {
    bad_value(name, "must be an RFC 3339 timestamp with Z or an offset, years " +
                        std::to_string(kMinYear) + "-" + std::to_string(kMaxYear) +
                        ", e.g. 2026-03-01T09:30:00Z");
  }
  return *t;
}

std::string currency_value(const json::value& v, std::string_view name) {
  if (!v.is_string()) wrong_type(name, "a string");
  const std::string code(v.get_string());
  if (!is_currency(code)) bad_value(name, "must be an ISO-4217 currency code such as EUR");
  return code;
}

std::string category_value(const json::value& v, std::string_view name, finance::EntryKind kind) {
  if (!v.is_string()) wrong_type(name, "a string");
  const std::string category(v.get_string());
  if (!finance::is_category(kind, category)) {
    std::string allowed;
    for (const auto c : finance::categories(kind)) {
      allowed += allowed.empty() ? "" : ", ";
      allowed += c;
    }
    bad_value(name, "must be one of " + allowed);
  }
  return category;
}

// Refuses any field an entry of this kind does not have (vendor is for expenses only).
static void only_entry_fields(const json::object& obj, finance::EntryKind kind) {
  if (kind == finance::EntryKind::expense) {
    only_fields(obj,
                {"category", "amount_cents", "currency", "occurred_at", "description", "vendor"});
  } else {
    only_fields(obj, {"category", "amount_cents", "currency", "occurred_at", "description"});
  }
}

finance::NewEntry new_entry(const json::object& obj, finance::EntryKind kind) {
  only_entry_fields(obj, kind);
  finance::NewEntry entry;
  entry.category = category_value(*field(obj, "category", true), "category", kind);
  entry.amount_cents = amount_value(*field(obj, "amount_cents", true), "amount_cents");
  if (const auto* v = field(obj, "currency", false))
    entry.currency = currency_value(*v, "currency");
  entry.occurred_at = timestamp_value(*field(obj, "occurred_at", true), "occurred_at");
  if (const auto* v = field(obj, "description", false)) {
    entry.description = nullable_text(*v, "description", kMaxTextBytes);
  }
  if (const auto* v = field(obj, "vendor", false)) {
    entry.vendor = nullable_text(*v, "vendor", kMaxNameBytes);
  }
  return entry;
}

finance::EntryPatch entry_patch(const json::object& obj, finance::EntryKind kind) {
  only_entry_fields(obj, kind);
  finance::EntryPatch patch;
  if (const auto* v = field(obj, "category", false)) {
    patch.category = category_value(*v, "category", kind);
  }
  if (const auto* v = field(obj, "amount_cents", false)) {
    patch.amount_cents = amount_value(*v, "amount_cents");
  }
  if (const auto* v = field(obj, "currency", false))
    patch.currency = currency_value(*v, "currency");
  if (const auto* v = field(obj, "occurred_at", false)) {
    patch.occurred_at = timestamp_value(*v, "occurred_at");
  }
  if (const auto* v = field(obj, "description", false)) {
    patch.description = nullable_text(*v, "description", kMaxTextBytes);
  }
  if (const auto* v = field(obj, "vendor", false)) {
    patch.vendor = nullable_text(*v, "vendor", kMaxNameBytes);
  }
  if (patch.empty()) {
    throw Problem(400, code::kMissingField, "the patch changes nothing: give at least one field");
  }
  return patch;
}

std::vector<std::int64_t> pilot_orgs(const json::object& body) {
  only_fields(body, {"org_ids"});
  const auto* v = field(body, "org_ids", true);
  if (!v->is_array()) bad_request(code::kInvalidType, "org_ids", "org_ids must be an array");
  const auto& ids = v->get_array();
  if (ids.empty() || ids.size() > kMaxPilotOrgs) {
    bad_request(code::kInvalidValue, "org_ids",
                "org_ids must hold 1.." + std::to_string(kMaxPilotOrgs) + " organization ids");
  }
  std::vector<std::int64_t> orgs;
  for (const auto& id : ids) orgs.push_back(id_value(id, "org_ids"));
  return orgs;
}

}  // namespace folio::api::detail
