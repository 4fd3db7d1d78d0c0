#include "detail/replica_metrics.hpp"

namespace folio::db::detail {

namespace {

obs::Gauge& replica_gauge(std::string_view metric, std::string_view help, const std::string& name) {
  return obs::Registry::global().gauge(metric, help, {{"replica", name}});
}

obs::Counter& rotation_changes(const std::string& name, std::string_view direction) {
  return obs::Registry::global().counter(
      "folio_replica_rotation_changes_total", "Replicas entering (in) or leaving (out) rotation",
      {{"replica", name}, {"direction", std::string(direction)}});
}

}  // namespace

ReplicaMetrics::ReplicaMetrics(const std::string& name)
    : up(replica_gauge("folio_replica_up",
                       "1 when the replica's last health check connected and it is in recovery",
                       name)),
      in_rotation(
          replica_gauge("folio_replica_in_rotation", "1 when the replica may serve reads", name)),
      lag_bytes(replica_gauge("folio_replica_lag_bytes",
                              "WAL bytes the replica had not replayed at its last check", name)),
      lag_seconds(replica_gauge("folio_replica_lag_seconds",
                                "Replay lag in seconds at the replica's last check", name)),
      rtt_seconds(replica_gauge("folio_replica_rtt_seconds",
                                "Round trip of the replica's health check query", name)),
      joined(rotation_changes(name, "in")),
      left(rotation_changes(name, "out")),
      check_failures(obs::Registry::global().counter(
          "folio_replica_check_failures_total",
          "Replica health checks that could not connect or did not answer in time",
          {{"replica", name}})) {}

void ReplicaMetrics::publish(const ReplicaStatus& s) {
  up.set(s.reachable && s.in_recovery ? 1 : 0);
  in_rotation.set(s.in_rotation ? 1 : 0);
  lag_bytes.set(static_cast<double>(s.lag_bytes));
  lag_seconds.set(s.lag_seconds);
  rtt_seconds.set(static_cast<double>(s.rtt.count()) / 1e6);
}

ReplicaSetMetrics::ReplicaSetMetrics()
    : configured(
          obs::Registry::global().gauge("folio_replicas_configured", "Read replicas configured")),
      in_rotation(obs::Registry::global().gauge("folio_replicas_in_rotation",
                                                "Read replicas that may serve reads")) {}

}  // namespace folio::db::detail
