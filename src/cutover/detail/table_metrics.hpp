// One set of metric series per partitioned table (label table="revenues_partitioned", ...),
// registered once in the process-wide registry the first time it is needed.
//
//   struct Series { obs::Gauge* rows; };
//   static TableMetrics<Series> metrics([](obs::Registry& r, const obs::Labels& labels) {
//     return Series{&r.gauge("folio_x", "help", labels)};
//   });
//   if (auto* m = metrics.find("revenues_partitioned")) m->rows->set(3);
//
// Thread-safety: construct once (a function-local static); find() only reads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "folio/cutover/tables.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::cutover::detail {

template <typename Series>
class TableMetrics {
 public:
  template <typename Make>
  explicit TableMetrics(Make make) {
    auto& registry = obs::Registry::global();
    for (const auto& spec : all_tables()) {
      const obs::Labels labels{{"table", std::string(spec.partitioned)}};
      tables_.emplace_back(std::string(spec.partitioned), make(registry, labels));
    }
  }

  // Calls fn(series) for every table's series.
  template <typename Fn>
  void each(Fn fn) {
    for (auto& entry : tables_) fn(entry.second);
  }

  // The series of `table` (a partitioned table's name); nullptr for any other name.
  Series* find(std::string_view table) {
    for (auto& [name, series] : tables_) {
      if (name == table) return &series;
    }
    return nullptr;
  }

 private:
  std::vector<std::pair<std::string, Series>> tables_;
};

}  // namespace folio::cutover::detail
