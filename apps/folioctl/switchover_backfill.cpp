// folioctl switchover backfill: copy the legacy history into the partitioned tables in
// resumable batches, with a progress bar on a terminal and JSON progress lines otherwise.
#include <unistd.h>

#include <boost/json/object.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "folio/cutover/audit.hpp"
#include "folio/cutover/backfill.hpp"
#include "folio/db/pool.hpp"
#include "folio/obs/log.hpp"

namespace folioctl {

namespace {

namespace cutover = folio::cutover;
namespace db = folio::db;
using Clock = std::chrono::steady_clock;

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

// A redrawn bar on a terminal (at most 5 times a second); a JSON line every 5 s otherwise.
class ProgressReporter {
 public:
  ProgressReporter() : tty_(::isatty(STDERR_FILENO) == 1), log_("folioctl.backfill") {}

  void operator()(const cutover::BackfillProgress& p) {
    const auto now = Clock::now();
    const bool changed = p.paused != paused_;
    paused_ = p.paused;
    if (tty_) {
      if (!p.done && !changed && now - last_ < std::chrono::milliseconds(200)) return;
      last_ = now;
      std::fprintf(stderr, "\r%s\x1b[K", cutover::format_progress_line(p).c_str());
      if (p.done) std::fputc('\n', stderr);
      std::fflush(stderr);
      return;
    }
    if (!p.done && !changed && now - last_ < std::chrono::seconds(5)) return;
    last_ = now;
    boost::json::object tables;
    for (const auto& t : p.tables) {
      tables[t.table] = {{"covered", t.covered}, {"span", t.span}, {"rows", t.rows_copied}};
    }
    log_.info(p.done ? "backfill done" : "backfill progress",
              {{"percent", std::round(p.fraction() * 1000) / 10},
               {"rows", p.rows_copied},
               {"rows_per_s", std::llround(p.rows_per_s)},
               {"eta_s", p.eta ? std::llround(p.eta->count()) : -1},
               {"paused", p.paused},
               {"replica_lag_bytes", p.replica_lag_bytes},
               {"tables", std::move(tables)}});
  }

 private:
  bool tty_;
  folio::obs::Logger log_;
  Clock::time_point last_{};
  bool paused_ = false;
};

int cmd_backfill(const BackfillArgs& args) {
  require_database_url(args.database_url);
  const auto level = cutover::parse_stats_level(args.audit_stats);
  if (!level) throw UsageError("--audit-stats must be full, counts or none");
  auto options = args.options;
  options.tables = split_tables(args.tables);
  options.target_batch = std::chrono::milliseconds(args.target_batch_ms);
  ProgressReporter progress;
  try {
    const auto result =
        run([&](asio::any_io_executor ex) -> asio::awaitable<cutover::AuditedPhase> {
          db::Pool pool(ex, {.dsn = args.database_url,
                             .name = "backfill",
                             .max_size = static_cast<std::size_t>(options.workers) + 1});
          co_return co_await cutover::run_backfill_phase(
              pool, options, *level, [&](const cutover::BackfillProgress& p) { progress(p); });
        });
    std::cout << cutover::format_phase(result);
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
