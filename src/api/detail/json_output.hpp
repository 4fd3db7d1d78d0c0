// The API's JSON representations of the finance values (docs/api.md).
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>

#include "folio/finance/model.hpp"
#include "folio/partitioning/partitioning_manager.hpp"

namespace folio::api::detail {

boost::json::object to_json(const finance::Entry& entry);
boost::json::object to_json(const finance::BalanceDay& day);
boost::json::object to_json(const finance::PnlRow& row);
boost::json::object to_json(const finance::CategoryRow& row);
boost::json::object to_json(const finance::BalanceHistoryRow& row);
boost::json::value cursor_json(const std::optional<finance::Cursor>& cursor);
// {"env_default", "fleet", "pilots": [{"org_id", "target"}], "version", "listener_up",
//  "loaded"}
boost::json::object routing_json(const partitioning::PartitioningManager& routing, bool loaded);

}  // namespace folio::api::detail
