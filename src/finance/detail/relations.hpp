// The relations one repository call names, chosen by routing and, on the partitioned side, by
// the partition layout (partitioning/layout.hpp): the legacy table, or the organization's
// leaves of the months the call touches, so the planner never expands the partition tree for
// a month the layout knows.
//
// Thread-safety: stateless; the manager is thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "folio/partitioning/layout.hpp"
#include "folio/partitioning/partitioning_manager.hpp"

namespace folio::finance::detail {

using partitioning::Month;
using partitioning::Table;

// What to read `org`'s rows of `table` from for the months [first, last].
std::string read_source(partitioning::PartitioningManager& routing, Table table, std::int64_t org,
                        Month first, Month last);

// Where to write `org`'s row of `table` dated in `month`.
std::string write_target(partitioning::PartitioningManager& routing, Table table, std::int64_t org,
                         Month month);

// The earliest month any query asks for (the year 1 of the proleptic calendar): for ranges
// open to the past, such as an opening balance.
inline constexpr Month kFirstMonth = std::chrono::year{1} / std::chrono::January;

}  // namespace folio::finance::detail
