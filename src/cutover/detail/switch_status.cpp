// status_report (switchover.hpp): everything an operator checks before the next phase, on
// one screen, read-only.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "folio/cutover/backfill.hpp"
#include "folio/cutover/maintenance.hpp"
#include "folio/cutover/schema.hpp"
#include "folio/cutover/switchover.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/cutover/verify_gate.hpp"
#include "folio/jobs/lease.hpp"
#include "folio/partitioning/routing_store.hpp"
#include "months.hpp"
#include "switch_state.hpp"

namespace folio::cutover {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kMaxPilotsShown = 20;

std::string line(std::string_view label, std::string_view text) {
  return fmt::format("{:<11} {}\n", label, text);
}

std::string routing_text(const partitioning::RoutingSnapshot& routing) {
  std::size_t to_partitioned = 0;
  std::vector<std::int64_t> shown;
  for (const auto& [org, target] : routing.pilots) {
    if (target == partitioning::Target::partitioned) ++to_partitioned;
    if (shown.size() < kMaxPilotsShown) shown.push_back(org);
  }
  std::string text = fmt::format(
      "fleet {}, version {}; {} pilot rows ({} to partitioned, {} to legacy)",
      routing.fleet ? partitioning::to_string(*routing.fleet) : "unset (environment default)",
      routing.version, routing.pilots.size(), to_partitioned,
      routing.pilots.size() - to_partitioned);
  if (!shown.empty()) {
    text += fmt::format(": {}{}", fmt::join(shown, ", "),
                        routing.pilots.size() > shown.size() ? ", ..." : "");
  }
  return text;
}

std::string backfill_text(const std::vector<BackfillRangeState>& ranges) {
  struct Sum {
    double span = 0;
    double covered = 0;
    std::int64_t rows = 0;
    int ranges = 0;
    int done = 0;
  };
  std::map<std::string, Sum, std::less<>> sums;
  for (const auto& r : ranges) {
    auto& s = sums[r.table];
    const double span = static_cast<double>(r.range_end) - static_cast<double>(r.range_start) + 1;
    const double covered = static_cast<double>(r.next_start) - static_cast<double>(r.range_start);
    s.span += span;
    s.covered += std::clamp(covered, 0.0, span);
    s.rows += r.rows_copied;
    ++s.ranges;
    if (r.finished()) ++s.done;
  }
  std::string text;
  for (const auto& spec : all_tables()) {
    const auto it = sums.find(spec.name);
    std::string part;
    if (it == sums.end()) {
      part = fmt::format("{} not started", spec.name);
    } else {
      const auto& s = it->second;
      part = fmt::format("{} {:.1f}% ({} rows copied, {}/{} ranges done)", spec.name,
                         s.span > 0 ? 100.0 * s.covered / s.span : 100.0, s.rows, s.done, s.ranges);
    }
    text += (text.empty() ? "" : "; ") + part;
  }
  return text;
}

}  // namespace

asio::awaitable<std::string> status_report(db::Pool& pool) {
  std::string out;
  const auto state = co_await detail::schema_state(pool);
  out += line("routing", routing_text(co_await partitioning::RoutingStore::load(pool)));

  std::string sync;
  for (const auto& s : co_await sync_state(pool)) {
    sync += fmt::format("{}{} {}", sync.empty() ? "" : "; ", s.table,
                        s.on() ? std::string("on")
                               : fmt::format("off (legacy {}/3, partitioned {}/3 triggers)",
                                             s.legacy_triggers, s.partitioned_triggers));
  }
  out += line("sync", sync);
  out += line("backfill", backfill_text(co_await backfill_state(pool)));

  out += line("verify gate", format_gate(co_await verify_gate(pool)));

  std::string partitions;
  for (const auto& t : state.tables) {
    std::string part;
    if (!t.partitioned) {
      part = fmt::format("{} not created", t.spec->partitioned);
    } else {
      const auto months = co_await partition_months(pool, *t.spec);
      part = months.empty() ? fmt::format("{} no months", t.spec->partitioned)
                            : fmt::format("{} {}..{} ({} months)", t.spec->name,
                                          detail::month_text(months.front()),
                                          detail::month_text(months.back()), months.size());
    }
    partitions += (partitions.empty() ? "" : "; ") + part;
  }
  out += line("partitions", partitions);
  // How far ahead each table is ready and what waits in its DEFAULT partition (maintenance).
  std::string ahead;
  std::string defaults;
  for (const auto& h : co_await observe_partitions(pool)) {
    if (!h.exists) continue;
    ahead += fmt::format("{}{} {}", ahead.empty() ? "" : "; ", h.table, h.months_ready_ahead);
    if (h.default_rows.rows > 0) {
      defaults += fmt::format("{}{} {} rows ({}..{})", defaults.empty() ? "" : "; ", h.table,
                              h.default_rows.rows, detail::month_text(*h.default_rows.first_month),
                              detail::month_text(*h.default_rows.last_month));
    }
  }
  if (!ahead.empty()) {
    out += line("ahead", "months ready after this one: " + ahead);
    out += line("DEFAULT", defaults.empty() ? std::string("empty")
                                            : defaults +
                                                  " — run `folioctl jobs run "
                                                  "partition-maintenance`");
  }
  std::string leases;
  for (const auto& j : co_await jobs::lease_states(pool)) {
    std::string state = j.holder ? fmt::format("held by {} (term {})", *j.holder, j.term)
                                 : fmt::format("free (term {})", j.term);
    if (j.last_outcome) state += ", last " + *j.last_outcome;
    if (j.last_success_age_s) {
      state += fmt::format(", last success {:.0f} min ago", *j.last_success_age_s / 60);
    }
    leases += fmt::format("{}{}: {}", leases.empty() ? "" : "; ", j.job, state);
  }
  out += line("jobs", leases.empty() ? std::string("none has run (folio-server --jobs, or "
                                                   "`folioctl jobs run NAME`)")
                                     : leases);
  out += line("finalize", detail::finalized(state) ? "done: " + detail::finalized_text(state)
                                                   : std::string("not yet"));

  auto audit = co_await pool.query(
      "SELECT id, phase, status, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),"
      "       extract(epoch FROM finished_at - started_at)::float8, coalesce(error, '')"
      "  FROM cutover_audit ORDER BY id DESC LIMIT 10");
  out += "audit      (latest 10, UTC)\n";
  for (std::size_t i = audit.size(); i-- > 0;) {
    const auto row = audit[i];
    const auto seconds = row.get<std::optional<double>>(4);
    auto error = row.get<std::string>(5);
    if (error.size() > 80) error = error.substr(0, 77) + "...";
    out += fmt::format("  #{:<5} {:<10} {:<8} {}  {:>9}  {}\n", row.get<std::int64_t>(0),
                       row.get<std::string>(1), row.get<std::string>(2), row.get<std::string>(3),
                       seconds ? fmt::format("{:.1f} s", *seconds) : std::string("running"), error);
  }
  if (audit.empty()) out += "  (no phase has run)\n";
  co_return out;
}

}  // namespace folio::cutover
