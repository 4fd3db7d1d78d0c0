// The backfill as an operator sees it: its precondition, checkpoints, the audited phase and
// the terminal progress line.
#include <algorithm>
#include <boost/json/object.hpp>
#include <cmath>
#include <cstdio>
#include <string>

#include "folio/cutover/backfill.hpp"
#include "folio/cutover/sync.hpp"

namespace folio::cutover {

namespace asio = boost::asio;

namespace {

// 1234567 -> "1,234,567".
std::string with_thousands(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

// 17 -> "0:17", 3725 -> "1:02:05".
std::string clock_text(double seconds) {
  const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

boost::json::object details_of(const BackfillReport& report) {
  boost::json::object rows;
  for (const auto& t : report.tables) rows[t.table] = t.rows_copied;
  std::int64_t retries = 0;
  for (const auto& t : report.tables) retries += t.retries;
  boost::json::object d;
  d["rows_copied"] = std::move(rows);
  d["batches"] = report.batches();
  d["seconds"] = std::round(report.seconds * 1000) / 1000;
  d["rows_per_s"] = report.seconds > 0
                        ? std::llround(static_cast<double>(report.rows_copied()) / report.seconds)
                        : 0;
  d["paused_seconds"] = std::round(report.paused_seconds * 1000) / 1000;
  d["retries"] = retries;
  d["workers"] = report.workers;
  d["resumed"] = report.resumed;
  return d;
}

}  // namespace

std::int64_t BackfillReport::rows_copied() const {
  std::int64_t n = 0;
  for (const auto& t : tables) n += t.rows_copied;
  return n;
}

std::int64_t BackfillReport::batches() const {
  std::int64_t n = 0;
  for (const auto& t : tables) n += t.batches;
  return n;
}

asio::awaitable<void> require_sync_on(db::Pool& pool) {
  const auto states = co_await sync_state(pool);
  std::string off;
  for (const auto& spec : all_tables()) {
    const auto it = std::find_if(states.begin(), states.end(),
                                 [&](const SyncState& s) { return s.table == spec.name; });
    if (it != states.end() && it->on()) continue;
    off += (off.empty() ? "" : ", ") + std::string(spec.name);
    if (it != states.end()) {
      off += " (legacy " + std::to_string(it->legacy_triggers) + "/3, partitioned " +
             std::to_string(it->partitioned_triggers) + "/3 triggers)";
    }
  }
  if (!off.empty()) {
    throw BackfillRefused(
        "the sync triggers are not on for " + off +
        ": run `folioctl switchover sync-on` first (the backfill copies rows up to a bound "
        "and relies on the triggers for every later write)");
  }
}

asio::awaitable<std::vector<BackfillRangeState>> backfill_state(db::Pool& pool) {
  std::vector<BackfillRangeState> out;
  for (const auto row :
       co_await pool.query("SELECT table_name, range_start, range_end, next_start, rows_copied "
                           "FROM backfill_progress ORDER BY table_name, range_start")) {
    out.push_back({row.get<std::string>(0), row.get<std::int64_t>(1), row.get<std::int64_t>(2),
                   row.get<std::int64_t>(3), row.get<std::int64_t>(4)});
  }
  co_return out;
}

asio::awaitable<AuditedPhase> run_backfill_phase(db::Pool& pool, BackfillOptions options,
                                                 StatsLevel stats, BackfillProgressFn on_progress) {
  co_await require_sync_on(pool);
  co_return co_await run_audited(pool, "backfill", stats, [&]() -> asio::awaitable<PhaseOutcome> {
    const auto report = co_await backfill(pool, options, on_progress);
    PhaseOutcome outcome;
    outcome.status = report.noop ? "noop" : "ok";
    outcome.details = details_of(report);
    co_return outcome;
  });
}

std::string format_progress_line(const BackfillProgress& p, int bar_width) {
  const double fraction = std::clamp(p.fraction(), 0.0, 1.0);
  const int filled = static_cast<int>(fraction * bar_width);
  std::string line = "[" + std::string(static_cast<std::size_t>(filled), '#') +
                     std::string(static_cast<std::size_t>(bar_width - filled), ' ') + "] ";
  char pct[16];
  std::snprintf(pct, sizeof pct, "%5.1f%%", fraction * 100);
  line += pct;
  line += "  " + with_thousands(p.rows_copied) + " rows  " +
          with_thousands(std::llround(p.rows_per_s)) + " rows/s  ETA ";
  line += p.done ? clock_text(0) : p.eta ? clock_text(p.eta->count()) : "-:--";
  if (p.paused) line += "  (paused: replica lag)";
  return line;
}

}  // namespace folio::cutover
