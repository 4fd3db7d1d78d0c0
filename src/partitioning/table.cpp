#include "folio/partitioning/table.hpp"

#include <stdexcept>

namespace folio::partitioning {

std::string_view to_string(Table table) {
  switch (table) {
    case Table::revenues:
      return "revenues";
    case Table::expenses:
      return "expenses";
    case Table::balances:
      return "balances";
  }
  return "?";
}

std::string_view physical_name(Table table, Target target) {
  const bool partitioned = target == Target::partitioned;
  switch (table) {
    case Table::revenues:
      return partitioned ? "revenues_partitioned" : "revenues";
    case Table::expenses:
      return partitioned ? "expenses_partitioned" : "expenses";
    case Table::balances:
      return partitioned ? "balances_partitioned" : "balances";
  }
  throw std::invalid_argument("unknown table");
}

std::string_view locator_name(Table table) {
  if (table == Table::balances) throw std::invalid_argument("balances have no locator");
  return table == Table::revenues ? "revenues_locator" : "expenses_locator";
}

std::string_view by_id_function(Table table) {
  if (table == Table::balances) throw std::invalid_argument("balances have no locator");
  return table == Table::revenues ? "folio_revenues_by_id" : "folio_expenses_by_id";
}

}  // namespace folio::partitioning
