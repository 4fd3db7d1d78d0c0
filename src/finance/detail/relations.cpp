#include "detail/relations.hpp"

namespace folio::finance::detail {

using partitioning::Target;

std::string read_source(partitioning::PartitioningManager& routing, Table table, std::int64_t org,
                        Month first, Month last) {
  const auto d = routing.route(table, org);
  if (d.target != Target::partitioned) return std::string(d.table_name);
  return d.layout->source(table, org, first, last);
}

std::string write_target(partitioning::PartitioningManager& routing, Table table, std::int64_t org,
                         Month month) {
  const auto d = routing.route(table, org);
  if (d.target != Target::partitioned) return std::string(d.table_name);
  return d.layout->target(table, org, month);
}

}  // namespace folio::finance::detail
