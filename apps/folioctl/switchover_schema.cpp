// folioctl switchover prepare | sync-on | sync-off: the schema side of the cutover.
#include <fmt/format.h>

#include "cli.hpp"
#include "folio/cutover/audit.hpp"
#include "folio/cutover/schema.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/db/pool.hpp"
#include "folio/partitioning/routing_store.hpp"
#include "output.hpp"

namespace folioctl {

namespace {

namespace cutover = folio::cutover;
namespace db = folio::db;

struct SchemaArgs {
  std::string database_url;
  std::string audit_stats = "full";
  cutover::PrepareOptions prepare;
  std::int64_t lock_timeout_ms = 500;
  int lock_attempts = 5;
};

void add_common(CLI::App* cmd, SchemaArgs& args) {
  add_direct_database_url(cmd, args.database_url);
  cmd->add_option("--audit-stats", args.audit_stats,
                  "Row counts and checksums recorded before and after: full, counts or none")
      ->capture_default_str();
  cmd->add_option("--lock-timeout-ms", args.lock_timeout_ms,
                  "Longest wait for a table lock; writers queue behind a waiting DDL, so keep "
                  "it short")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--lock-attempts", args.lock_attempts,
                  "Attempts before giving up when a long transaction holds a table")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

cutover::StatsLevel stats_level(const SchemaArgs& args) {
  const auto level = cutover::parse_stats_level(args.audit_stats);
  if (!level) throw UsageError("--audit-stats must be full, counts or none");
  return *level;
}

cutover::LockRetryOptions locks(const SchemaArgs& args) {
  cutover::LockRetryOptions options;
  options.lock_timeout = std::chrono::milliseconds(args.lock_timeout_ms);
  options.attempts = args.lock_attempts;
  return options;
}

// Runs `body` as audited phase `phase` on a small pool and prints its result.
template <typename Body>
int run_phase(const SchemaArgs& args, std::string phase, Body body) {
  require_database_url(args.database_url);
  const auto level = stats_level(args);
  const auto result = run([&](asio::any_io_executor ex) -> asio::awaitable<cutover::AuditedPhase> {
    db::Pool pool(ex, {.dsn = args.database_url, .name = "cutover", .max_size = 2});
    co_return co_await cutover::run_audited(
        pool, phase, level,
        [&]() -> asio::awaitable<cutover::PhaseOutcome> { co_return co_await body(pool); });
  });
  print_phase(result);
  return 0;
}

std::string month_text(std::chrono::year_month m) {
  return fmt::format("{:04d}-{:02d}", static_cast<int>(m.year()), static_cast<unsigned>(m.month()));
}

int cmd_prepare(const SchemaArgs& args) {
  return run_phase(args, "prepare", [&](db::Pool& pool) -> asio::awaitable<cutover::PhaseOutcome> {
    auto options = args.prepare;
    options.locks = locks(args);
    const auto report = co_await cutover::prepare(pool, options);
    cutover::PhaseOutcome outcome;
    outcome.status = report.tables_created + report.months_created == 0 ? "noop" : "ok";
    outcome.details = {{"tables_created", report.tables_created},
                       {"months_created", report.months_created},
                       {"first_month", month_text(report.first_month)},
                       {"last_month", month_text(report.last_month)},
                       {"hash_modulus", report.hash_modulus}};
    co_return outcome;
  });
}

// Without the triggers the legacy side stops receiving the writes of organizations routed
// to the partitioned side, so sync-off waits until routing sends everyone to legacy.
asio::awaitable<void> require_nobody_on_partitioned(db::Pool& pool) {
  using folio::partitioning::Target;
  const auto routing = co_await folio::partitioning::RoutingStore::load(pool);
  std::size_t pilots = 0;
  for (const auto& [org, target] : routing.pilots) {
    if (target == Target::partitioned) ++pilots;
  }
  if (routing.fleet == Target::partitioned || pilots > 0) {
    throw Refused(fmt::format(
        "routing sends {} to the partitioned tables; turning the sync off would leave legacy "
        "stale. Run `folioctl switchover rollback` first",
        routing.fleet == Target::partitioned ? std::string("the fleet")
                                             : fmt::format("{} pilot organizations", pilots)));
  }
}

int cmd_sync(const SchemaArgs& args, bool on) {
  return run_phase(args, on ? "sync-on" : "sync-off",
                   [&](db::Pool& pool) -> asio::awaitable<cutover::PhaseOutcome> {
                     if (on && !co_await cutover::partitioned_modulus(pool)) {
                       throw Refused(
                           "the partitioned tables do not exist: run "
                           "`folioctl switchover prepare` first");
                     }
                     if (!on) co_await require_nobody_on_partitioned(pool);
                     const int changed = on ? co_await cutover::sync_on(pool, locks(args))
                                            : co_await cutover::sync_off(pool, locks(args));
                     cutover::PhaseOutcome outcome;
                     outcome.status = changed == 0 ? "noop" : "ok";
                     outcome.details = {{"tables_changed", changed}};
                     co_return outcome;
                   });
}

}  // namespace

void register_switchover_schema(CLI::App& switchover, Action& action) {
  auto prepare_args = std::make_shared<SchemaArgs>();
  auto* prepare = switchover.add_subcommand(
      "prepare",
      "Create the partitioned tables and the month partitions covering existing data plus "
      "future months (idempotent)");
  add_common(prepare, *prepare_args);
  prepare
      ->add_option("--hash-modulus", prepare_args->prepare.hash_modulus,
                   "Hash partitions of org_id per month")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  prepare
      ->add_option("--future-months", prepare_args->prepare.future_months,
                   "Months after the current one to create in advance")
      ->capture_default_str()
      ->check(CLI::Range(0, 120));
  on_parsed(prepare, action, prepare_args, cmd_prepare);

  auto on_args = std::make_shared<SchemaArgs>();
  auto* sync_on = switchover.add_subcommand(
      "sync-on",
      "Install the two-way sync triggers, one table per transaction under a short "
      "lock_timeout; gives up rather than queue writers behind a long transaction");
  add_common(sync_on, *on_args);
  on_parsed(sync_on, action, on_args, [](const SchemaArgs& a) { return cmd_sync(a, true); });

  auto off_args = std::make_shared<SchemaArgs>();
  auto* sync_off = switchover.add_subcommand(
      "sync-off", "Drop the sync triggers (before any pilot only: afterwards the sides drift)");
  add_common(sync_off, *off_args);
  on_parsed(sync_off, action, off_args, [](const SchemaArgs& a) { return cmd_sync(a, false); });
}

}  // namespace folioctl
