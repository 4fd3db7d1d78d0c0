// The ReplicaManager's series in obs::Registry::global(): per replica (label replica=<name>)
// and for the whole set.
//
// Thread-safety: the series are atomics; publish() may run on any thread.
#pragma once

#include <string>

#include "folio/db/replica_manager.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::db::detail {

struct ReplicaMetrics {
  explicit ReplicaMetrics(const std::string& name);
  // Sets the gauges from a status.
  void publish(const ReplicaStatus& status);

  obs::Gauge& up;  // reachable and in recovery
  obs::Gauge& in_rotation;
  obs::Gauge& lag_bytes;
  obs::Gauge& lag_seconds;
  obs::Gauge& rtt_seconds;
  obs::Counter& joined;  // rotation_changes_total{direction="in"}
  obs::Counter& left;    // rotation_changes_total{direction="out"}
  obs::Counter& check_failures;
};

struct ReplicaSetMetrics {
  ReplicaSetMetrics();
  obs::Gauge& configured;
  obs::Gauge& in_rotation;
};

}  // namespace folio::db::detail
