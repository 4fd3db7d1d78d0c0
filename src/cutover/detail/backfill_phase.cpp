// The backfill as an operator sees it: its precondition, checkpoints, the audited phase and
// the terminal progress line.
#include <algorithm>
#include <boost/json/object.hpp>
#include <cmath>
#include <string>

#include "folio/cutover/backfill.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/obs/human_text.hpp"

namespace folio::cutover {

namespace asio = boost::asio;

namespace {

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

obs::ProgressLine progress_line(const BackfillProgress& p) {
  obs::ProgressLine line;
  line.fraction = p.fraction();
  line.rows = p.rows_copied;
  line.rows_per_s = p.rows_per_s;
  if (p.eta) line.eta_seconds = p.eta->count();
  line.done = p.done;
  if (!p.done) {
    const auto current = std::find_if(p.tables.begin(), p.tables.end(),
                                      [](const auto& t) { return t.covered < t.span; });
    if (current != p.tables.end()) line.note = current->table;
  }
  if (p.paused) line.note += (line.note.empty() ? "" : "  ") + std::string("(paused: replica lag)");
  return line;
}

std::string format_progress_line(const BackfillProgress& p, int bar_width) {
  return obs::progress_line_text(progress_line(p), bar_width);
}

}  // namespace folio::cutover
