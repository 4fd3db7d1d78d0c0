// The logical tables the services query, and the one place their physical names are built.
//
// Thread-safety: pure functions over constants.
#pragma once

#include <string_view>

#include "folio/partitioning/routing_store.hpp"

namespace folio::partitioning {

enum class Table { revenues, expenses, balances };

std::string_view to_string(Table table);
// "revenues" / "revenues_partitioned" and so on.
std::string_view physical_name(Table table, Target target);
// The id -> month locator of an entry table's partitioned side, and the function that reads
// one entry by id through it (sql/migrations/0005_entry_locator.sql).
// REQUIRES: table is revenues or expenses.
std::string_view locator_name(Table table);
std::string_view by_id_function(Table table);

}  // namespace folio::partitioning
