#include "detail/json_output.hpp"

#include <boost/json/array.hpp>

#include "folio/api/time_text.hpp"

namespace folio::api::detail {

namespace json = boost::json;

namespace {

json::value nullable(const std::optional<std::string>& text) {
  return text ? json::value(*text) : json::value(nullptr);
}

}  // namespace

json::object to_json(const finance::Entry& entry) {
  json::object out;
  out["id"] = entry.id;
  out["org_id"] = entry.org_id;
  out["category"] = entry.category;
  out["amount_cents"] = entry.amount_cents;
  out["currency"] = entry.currency;
  out["occurred_at"] = format_timestamp(entry.occurred_at);
  out["description"] = nullable(entry.description);
  if (entry.kind == finance::EntryKind::expense) out["vendor"] = nullable(entry.vendor);
  out["created_at"] = format_timestamp(entry.created_at);
  out["updated_at"] = format_timestamp(entry.updated_at);
  return out;
}

json::object to_json(const finance::BalanceDay& day) {
  return {{"date", format_day(day.date)},
          {"revenue_cents", day.revenue_cents},
          {"expense_cents", day.expense_cents},
          {"net_cents", day.net_cents}};
}

json::object to_json(const finance::PnlRow& row) {
  return {{"period_start", format_day(row.period_start)},
          {"revenue_cents", row.revenue_cents},
          {"expense_cents", row.expense_cents},
          {"net_cents", row.net_cents}};
}

json::object to_json(const finance::CategoryRow& row) {
  return {{"category", row.category}, {"amount_cents", row.amount_cents}, {"entries", row.entries}};
}

json::object to_json(const finance::BalanceHistoryRow& row) {
  return {{"date", format_day(row.date)},
          {"net_cents", row.net_cents},
          {"closing_cents", row.closing_cents}};
}

json::value cursor_json(const std::optional<finance::Cursor>& cursor) {
  if (!cursor) return nullptr;
  return json::value(finance::encode_cursor(*cursor));
}

json::object routing_json(const partitioning::PartitioningManager& routing, bool loaded) {
  const auto snapshot = routing.snapshot();
  json::object out;
  out["env_default"] = partitioning::to_string(routing.env_default());
  out["fleet"] = snapshot && snapshot->fleet
                     ? json::value(partitioning::to_string(*snapshot->fleet))
                     : json::value(nullptr);
  json::array pilots;
  if (snapshot) {
    for (const auto& [org, target] : snapshot->pilots) {
      pilots.push_back(json::object{{"org_id", org}, {"target", partitioning::to_string(target)}});
    }
  }
  out["pilots"] = std::move(pilots);
  out["version"] = snapshot ? snapshot->version : 0;
  out["listener_up"] = routing.listening();
  out["loaded"] = loaded;
  return out;
}

}  // namespace folio::api::detail
