// folioctl switchover preflight | pilot add|remove | cutover | rollback | finalize | status:
// the routing side of the cutover.
//
// --audit-stats defaults: counts for pilot, cutover and rollback (instant routing switches,
// run often: row counts only, no checksum pass over the tables), full for finalize (the
// irreversible step records checksums of both sides) and none for preflight (it reads
// catalogs only). status records nothing and has no --audit-stats.
#include <cctype>
#include <iostream>

#include "cli.hpp"
#include "folio/cutover/audit.hpp"
#include "folio/cutover/switchover.hpp"
#include "folio/db/pool.hpp"
#include "output.hpp"

namespace folioctl {

namespace {

namespace cutover = folio::cutover;
namespace db = folio::db;

struct RoutingArgs {
  std::string database_url;
  std::string audit_stats;
  std::vector<std::int64_t> orgs;
  bool confirm = false;
  bool skip_verify_gate = false;
  std::string max_verify_age = "24h";
  std::int64_t lock_timeout_ms = 500;
  int lock_attempts = 5;
  cutover::PreflightOptions preflight;
};

std::shared_ptr<RoutingArgs> add_common(CLI::App* cmd, std::string default_stats) {
  auto args = std::make_shared<RoutingArgs>();
  args->audit_stats = std::move(default_stats);
  add_direct_database_url(cmd, args->database_url);
  cmd->add_option("--audit-stats", args->audit_stats,
                  "Row counts and checksums recorded before and after: full, counts or none")
      ->capture_default_str();
  return args;
}

cutover::VerifyGatePolicy gate_policy(const RoutingArgs& args) {
  return args.skip_verify_gate ? cutover::VerifyGatePolicy::skip
                               : cutover::VerifyGatePolicy::enforce;
}

// pilot add, cutover and finalize wait for a clean full verification (verify_gate.hpp).
void add_skip_verify_gate(CLI::App* cmd, RoutingArgs& args) {
  cmd->add_flag("--skip-verify-gate", args.skip_verify_gate,
                "Go ahead without a clean full verification after the last backfill, sync-on "
                "and repair; recorded in the audit row with who skipped it and why it was "
                "closed");
}

cutover::StatsLevel stats_level(const RoutingArgs& args) {
  const auto level = cutover::parse_stats_level(args.audit_stats);
  if (!level) throw UsageError("--audit-stats must be full, counts or none");
  return *level;
}

// Runs `phase(pool)` on a small pool and prints its result (output.hpp); a safety refusal
// exits 5.
template <typename Phase>
int run_phase(const RoutingArgs& args, Phase phase) {
  require_database_url(args.database_url);
  try {
    const auto result =
        run([&](asio::any_io_executor ex) -> asio::awaitable<cutover::AuditedPhase> {
          db::Pool pool(ex, {.dsn = args.database_url, .name = "cutover", .max_size = 2});
          co_return co_await phase(pool);
        });
    print_phase(result);
  } catch (const cutover::SwitchRefused& e) {
    if (const auto* checks = e.details().if_contains("checks");
        checks && checks->is_array() && !json_output()) {
      std::cout << cutover::format_checks(checks->as_array());
    }
    throw Refused(e.what());
  }
  return 0;
}

int cmd_preflight(const RoutingArgs& args) {
  auto options = args.preflight;
  options.stats = stats_level(args);
  return run_phase(args, [&](db::Pool& pool) -> asio::awaitable<cutover::AuditedPhase> {
    auto phase = co_await cutover::preflight(pool, options);
    // The check lines, then the audit table with the checks counted instead of repeated (as
    // JSON the checks stay in the document).
    if (auto* checks = phase.details.if_contains("checks");
        checks && checks->is_array() && !json_output()) {
      std::cout << cutover::format_checks(checks->as_array());
      *checks = static_cast<std::int64_t>(checks->as_array().size());
    }
    co_return phase;
  });
}

int cmd_pilot(const RoutingArgs& args, bool add) {
  const auto level = stats_level(args);
  return run_phase(args, [&](db::Pool& pool) {
    return add ? cutover::pilot_add(pool, args.orgs, level, gate_policy(args))
               : cutover::pilot_remove(pool, args.orgs, level);
  });
}

int cmd_cutover(const RoutingArgs& args) {
  const auto level = stats_level(args);
  return run_phase(
      args, [&](db::Pool& pool) { return cutover::cut_over(pool, level, gate_policy(args)); });
}

int cmd_rollback(const RoutingArgs& args) {
  const auto level = stats_level(args);
  return run_phase(args, [&](db::Pool& pool) { return cutover::rollback(pool, level); });
}

int cmd_finalize(const RoutingArgs& args) {
  cutover::FinalizeOptions options;
  options.confirm = args.confirm;
  options.max_verify_age = parse_duration(args.max_verify_age, "--max-verify-age");
  options.gate = gate_policy(args);
  options.stats = stats_level(args);
  options.locks.lock_timeout = std::chrono::milliseconds(args.lock_timeout_ms);
  options.locks.attempts = args.lock_attempts;
  return run_phase(args, [&](db::Pool& pool) { return cutover::finalize(pool, options); });
}

int cmd_status(const RoutingArgs& args) {
  require_database_url(args.database_url);
  std::cout << run([&](asio::any_io_executor ex) -> asio::awaitable<std::string> {
    db::Pool pool(ex, {.dsn = args.database_url, .name = "cutover", .max_size = 2});
    co_return co_await cutover::status_report(pool);
  });
  return 0;
}

void add_orgs(CLI::App* cmd, RoutingArgs& args) {
  cmd->add_option("ORG", args.orgs, "Organization ids")->required()->check(CLI::PositiveNumber);
}

}  // namespace

void register_switchover_routing(CLI::App& switchover, Action& action) {
  auto* preflight = switchover.add_subcommand(
      "preflight",
      "Check the server before the cutover: version, free disk, replica lag, long "
      "transactions, locks, leftovers of earlier runs (exit 5 when a check fails)");
  auto preflight_args = add_common(preflight, "none");
  preflight
      ->add_option("--hash-modulus", preflight_args->preflight.hash_modulus,
                   "Modulus prepare will use (for the lock estimate)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  preflight
      ->add_option("--future-months", preflight_args->preflight.future_months,
                   "Future months prepare will create (for the lock estimate)")
      ->capture_default_str()
      ->check(CLI::Range(0, 120));
  on_parsed(preflight, action, preflight_args, cmd_preflight);

  auto* pilot = switchover.add_subcommand(
      "pilot", "Route chosen organizations to the partitioned tables, or back");
  pilot->require_subcommand(1);
  auto* add = pilot->add_subcommand(
      "add",
      "Route these organizations to the partitioned tables (needs sync-on, a finished "
      "backfill and a clean full verify after both)");
  auto add_args = add_common(add, "counts");
  add_orgs(add, *add_args);
  add_skip_verify_gate(add, *add_args);
  on_parsed(add, action, add_args, [](const RoutingArgs& a) { return cmd_pilot(a, true); });
  auto* remove = pilot->add_subcommand(
      "remove", "Delete these organizations' pilot rows: they follow the fleet routing again");
  auto remove_args = add_common(remove, "counts");
  add_orgs(remove, *remove_args);
  on_parsed(remove, action, remove_args, [](const RoutingArgs& a) { return cmd_pilot(a, false); });

  auto* cut = switchover.add_subcommand(
      "cutover",
      "Route every organization to the partitioned tables (the fleet row; needs sync-on, a "
      "finished backfill and a clean full verify after both)");
  auto cut_args = add_common(cut, "counts");
  add_skip_verify_gate(cut, *cut_args);
  on_parsed(cut, action, cut_args, cmd_cutover);

  auto* back = switchover.add_subcommand(
      "rollback",
      "Route every organization back to legacy and drop all pilots (any time "
      "before finalize; nothing is lost while the sync is on)");
  on_parsed(back, action, add_common(back, "counts"), cmd_rollback);

  auto* finalize = switchover.add_subcommand(
      "finalize",
      "IRREVERSIBLE: drop the sync triggers and archive the legacy tables, after cutover and "
      "a recent clean full verify (after the last backfill, sync-on and repair)");
  auto finalize_args = add_common(finalize, "full");
  finalize->add_flag("--confirm", finalize_args->confirm,
                     "Required: yes, retire the legacy tables");
  finalize
      ->add_option("--max-verify-age", finalize_args->max_verify_age,
                   "Newest clean full verify must be younger than this (24h, 90m, 2d)")
      ->capture_default_str();
  add_skip_verify_gate(finalize, *finalize_args);
  finalize
      ->add_option("--lock-timeout-ms", finalize_args->lock_timeout_ms,
                   "Longest wait for a table lock per attempt")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  finalize
      ->add_option("--lock-attempts", finalize_args->lock_attempts,
                   "Attempts before giving up when a long transaction holds a table")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  on_parsed(finalize, action, finalize_args, cmd_finalize);

  auto* status = switchover.add_subcommand(
      "status",
      "Show routing, sync, backfill, verification, partitions and the latest audit "
      "rows (read-only)");
  auto status_args = std::make_shared<RoutingArgs>();
  add_direct_database_url(status, status_args->database_url);
  on_parsed(status, action, status_args, cmd_status);
}

}  // namespace folioctl
