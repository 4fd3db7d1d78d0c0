// folioctl switchover verify: compare both sides of every table (and --repair them), as one
// audited phase. Exit 0 when clean, 4 when differences remain.
#include <cmath>
#include <cstdio>
#include <fstream>

#include "cli.hpp"
#include "folio/cutover/audit.hpp"
#include "folio/cutover/schema.hpp"
#include "folio/cutover/verify.hpp"
#include "folio/db/pool.hpp"
#include "folio/obs/json_text.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace folioctl {

namespace {

namespace cutover = folio::cutover;
namespace db = folio::db;

constexpr int kDifferencesFound = 4;

struct VerifyArgs {
  std::string database_url;
  // Full checksums before and after would scan every table twice more than the
  // verification itself; counts are cheap.
  std::string audit_stats = "counts";
  std::string since;
  std::string report_path;
  std::int64_t target_chunk_ms = 300;
  bool explain = false;
  cutover::VerifyOptions options;
};

std::chrono::sys_days parse_day(const std::string& text) {
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3) {
    throw UsageError("--since must look like YYYY-MM-DD, got '" + text + "'");
  }
  const std::chrono::year_month_day day{std::chrono::year{y}, std::chrono::month{m},
                                        std::chrono::day{d}};
  if (!day.ok()) throw UsageError("--since: no such day '" + text + "'");
  return std::chrono::sys_days{day};
}

void show_progress(ProgressReporter& progress, const cutover::VerifyProgress& p) {
  folio::obs::ProgressLine line;
  line.fraction = p.overall_fraction;
  line.rows = p.rows_all;
  line.rows_per_s = p.rows_per_s;
  if (p.eta) line.eta_seconds = p.eta->count();
  line.note = p.table;
  progress.update(line,
                  {{"table", p.table}, {"table_percent", std::round(p.fraction * 1000) / 10}});
}

// The full report (every difference) as JSON, for a file an operator keeps or a tool reads.
void write_report(const std::string& path, const cutover::VerifyReport& report) {
  std::ofstream out(path);
  out << folio::obs::to_json_text(cutover::to_json(report)) << "\n";
  if (!out) throw std::runtime_error("cannot write " + path);
}

int cmd_verify(VerifyArgs args) {
  require_database_url(args.database_url);
  const auto level = cutover::parse_stats_level(args.audit_stats);
  if (!level) throw UsageError("--audit-stats must be full, counts or none");
  if (!args.since.empty()) args.options.since = parse_day(args.since);
  args.options.target_chunk = std::chrono::milliseconds(args.target_chunk_ms);
  ProgressReporter progress("verify");
  if (!args.explain) {
    args.options.on_progress = [&](const cutover::VerifyProgress& p) {
      show_progress(progress, p);
    };
  }
  db::PoolOptions pool_options{.dsn = args.database_url,
                               .name = "verify",
                               .max_size = static_cast<std::size_t>(args.options.workers) + 2,
                               .acquire_timeout = std::chrono::seconds(120)};
  if (args.explain) {
    const auto plans = run([&](asio::any_io_executor ex) -> asio::awaitable<std::string> {
      db::Pool pool(ex, pool_options);
      co_return co_await cutover::explain_chunks(pool, args.options);
    });
    print_result({{"plans", plans}}, plans);
    return 0;
  }
  const auto phase = run([&](asio::any_io_executor ex) -> asio::awaitable<cutover::VerifyPhase> {
    db::Pool pool(ex, pool_options);
    if (!co_await cutover::partitioned_modulus(pool)) {
      throw Refused("the partitioned tables do not exist: run `folioctl switchover prepare` first");
    }
    co_return co_await cutover::verify_phase(pool, args.options, *level);
  });
  std::int64_t rows = 0;
  for (const auto& t : phase.report.tables) rows += t.rows_legacy + t.rows_partitioned;
  progress.update(
      {.fraction = 1, .rows = rows, .rows_per_s = phase.report.rows_per_s, .done = true});
  // One result: the phase as cutover_audit records it, with the full report.
  auto doc = cutover::to_json(phase.audit);
  doc["report"] = cutover::to_json(phase.report);
  print_result(doc, json_output() ? std::string()
                                  : cutover::format_phase(phase.audit,
                                                          cutover::format_summary(phase.report)));
  if (!args.report_path.empty()) write_report(args.report_path, phase.report);
  return phase.report.clean ? 0 : kDifferencesFound;
}

}  // namespace

void register_switchover_verify(CLI::App& switchover, Action& action) {
  auto args = std::make_shared<VerifyArgs>();
  auto* cmd = switchover.add_subcommand(
      "verify",
      "Compare both sides of every table per (month, hash bucket) in short snapshots, pin "
      "differences to row keys; exit 4 when differences remain");
  add_direct_database_url(cmd, args->database_url);
  cmd->add_flag("--repair", args->options.repair,
                "Re-sync each differing row from the side its organization is routed to, then "
                "re-check it");
  cmd->add_option("--since", args->since,
                  "Only rows from this day (UTC) on, YYYY-MM-DD; finalize needs a run without");
  cmd->add_option("--workers", args->options.workers, "Chunks compared concurrently")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--report-file", args->report_path,
                  "Also write the full report (every difference) as JSON to FILE; --json prints "
                  "it on stdout with the phase");
  cmd->add_option("--audit-stats", args->audit_stats,
                  "Row counts and checksums recorded before and after: full, counts or none")
      ->capture_default_str();
  cmd->add_option("--target-chunk-ms", args->target_chunk_ms,
                  "Aim each chunk's snapshot at this duration")
      ->capture_default_str()
      ->check(CLI::Range(10, 60000));
  cmd->add_option("--table", args->options.tables,
                  "Only this table (revenues, expenses, balances); repeatable");
  cmd->add_option("--max-differences", args->options.max_differences,
                  "Differing keys listed (and repaired) per table at most")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--explain", args->explain,
                "Only print the query plans of the chunk scans (expect index or bitmap scans)");
  on_parsed(cmd, action, args, cmd_verify);
}

}  // namespace folioctl
