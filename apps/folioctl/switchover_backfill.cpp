// folioctl switchover backfill: copy the legacy history into the partitioned tables in
// resumable batches, with a progress bar on a terminal and progress log lines otherwise.
#include <boost/json/object.hpp>
#include <cmath>
#include <sstream>

#include "cli.hpp"
#include "folio/cutover/audit.hpp"
#include "folio/cutover/backfill.hpp"
#include "folio/db/pool.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace folioctl {

namespace {

namespace cutover = folio::cutover;
namespace db = folio::db;

struct BackfillArgs {
  std::string database_url;
  std::string audit_stats = "full";
  std::string tables = "revenues,expenses,balances";
  cutover::BackfillOptions options;
  std::int64_t target_batch_ms = 500;
};

std::vector<std::string> split_tables(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string name; std::getline(in, name, ',');) {
    if (!name.empty()) out.push_back(name);
  }
  if (out.empty()) throw UsageError("--tables names no table");
  return out;
}

// A frame of the progress bar, or of the periodic log line, from the library's report; a
// pause or its end shows at once.
void show_progress(ProgressReporter& progress, const cutover::BackfillProgress& p, bool& paused) {
  const bool changed = p.paused != paused;
  paused = p.paused;
  boost::json::object fields{{"paused", p.paused}, {"replica_lag_bytes", p.replica_lag_bytes}};
  boost::json::object tables;
  for (const auto& t : p.tables) {
    tables[t.table] = {{"percent", std::round(t.fraction() * 1000) / 10},
                       {"rows", t.rows_copied},
                       {"estimated_rows", std::llround(t.estimated_rows)}};
  }
  fields["tables"] = std::move(tables);
  progress.update(cutover::progress_line(p), std::move(fields), changed);
}

int cmd_backfill(const BackfillArgs& args) {
  require_database_url(args.database_url);
  const auto level = cutover::parse_stats_level(args.audit_stats);
  if (!level) throw UsageError("--audit-stats must be full, counts or none");
  auto options = args.options;
  options.tables = split_tables(args.tables);
  options.target_batch = std::chrono::milliseconds(args.target_batch_ms);
  ProgressReporter progress("backfill");
  bool paused = false;
  try {
    const auto result =
        run([&](asio::any_io_executor ex) -> asio::awaitable<cutover::AuditedPhase> {
          db::Pool pool(ex, {.dsn = args.database_url,
                             .name = "backfill",
                             .max_size = static_cast<std::size_t>(options.workers) + 1});
          co_return co_await cutover::run_backfill_phase(
              pool, options, *level,
              [&](const cutover::BackfillProgress& p) { show_progress(progress, p, paused); });
        });
    print_phase(result);
  } catch (const cutover::BackfillRefused& e) {
    throw Refused(e.what());
  }
  return 0;
}

}  // namespace

void register_switchover_backfill(CLI::App& switchover, Action& action) {
  auto args = std::make_shared<BackfillArgs>();
  auto* cmd = switchover.add_subcommand(
      "backfill",
      "Copy the legacy history into the partitioned tables in batches; resumable after a "
      "kill, throttled on replica lag (requires sync-on)");
  add_direct_database_url(cmd, args->database_url);
  cmd->add_option("--tables", args->tables, "Comma-separated: revenues, expenses, balances")
      ->capture_default_str();
  cmd->add_option("--workers", args->options.workers,
                  "Concurrent batches, one connection each; new tables are split into this "
                  "many ranges")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--batch-size", args->options.batch_size,
                  "Fixed batch span in ids (0: adapt to --target-batch-ms)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--target-batch-ms", args->target_batch_ms,
                  "Duration each batch transaction aims at")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--min-batch", args->options.min_batch, "Smallest adaptive span in ids")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-batch", args->options.max_batch, "Largest adaptive span in ids")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--duty-cycle", args->options.duty_cycle,
                  "Share of the time each worker copies; it rests the remainder after every "
                  "batch, leaving disk and WAL to live writes (1: never rests)")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 1.0));
  cmd->add_option("--max-replica-lag-bytes", args->options.max_replica_lag_bytes,
                  "Pause while a replica replays this far behind (0: never pause)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("!--fire-triggers", args->options.skip_triggers,
                "Let the partitioned side's triggers fire for copied rows (they stop at the "
                "sync guard) instead of skipping them with session_replication_role = replica "
                "where the role may set it");
  cmd->add_option("--audit-stats", args->audit_stats,
                  "Row counts and checksums recorded before and after: full, counts or none")
      ->capture_default_str();
  on_parsed(cmd, action, args, cmd_backfill);
}

}  // namespace folioctl
