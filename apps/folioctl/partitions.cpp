// folioctl partitions archive | archived | drop-archived: partition retention after finalize
// (docs/operations.md, "Retention"). `archive` is what the partition-retention job runs;
// dropping an archive is only ever done here, by an operator, after it is checked against
// its manifest row.
#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <type_traits>

#include "cli.hpp"
#include "folio/cutover/retention.hpp"
#include "folio/cutover/switchover.hpp"
#include "folio/db/pool.hpp"
#include "output.hpp"

namespace folioctl {

namespace {

namespace cutover = folio::cutover;
namespace db = folio::db;

struct PartitionsArgs {
  std::string database_url;
  int keep_months = 0;
  std::string archive_schema = std::string(cutover::kDefaultArchiveSchema);
  std::string table;
  std::string month;
  bool confirm = false;
  std::int64_t lock_timeout_ms = 500;
  int lock_attempts = 5;
};

cutover::LockRetryOptions locks(const PartitionsArgs& args) {
  cutover::LockRetryOptions options;
  options.lock_timeout = std::chrono::milliseconds(args.lock_timeout_ms);
  options.attempts = args.lock_attempts;
  return options;
}

void add_lock_options(CLI::App* cmd, PartitionsArgs& args) {
  cmd->add_option("--lock-timeout-ms", args.lock_timeout_ms,
                  "Longest wait for a table lock; writers queue behind a waiting DETACH, so "
                  "keep it short")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--lock-attempts", args.lock_attempts,
                  "Attempts before giving up when a long transaction holds a table")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

// Runs `fn(pool)` on a small pool; a safety refusal exits 5.
template <typename Fn>
auto with_pool(const PartitionsArgs& args, Fn fn) {
  require_database_url(args.database_url);
  try {
    return run([&](asio::any_io_executor ex) {
      return [](asio::any_io_executor ex, std::string dsn,
                Fn fn) -> std::invoke_result_t<Fn&, db::Pool&> {
        db::Pool pool(ex, {.dsn = dsn, .name = "retention", .max_size = 2});
        co_return co_await fn(pool);
      }(ex, args.database_url, fn);
    });
  } catch (const cutover::SwitchRefused& e) {
    throw Refused(e.what());
  }
}

int cmd_archive(const PartitionsArgs& args) {
  auto options = cutover::RetentionOptions{};
  options.keep_months = args.keep_months;
  options.archive_schema = args.archive_schema;
  options.locks = locks(args);
  const auto report = with_pool(
      args, [options](db::Pool& pool) { return cutover::archive_old_months(pool, options); });
  print_result(cutover::to_json(report), cutover::format_report(report));
  return 0;
}

int cmd_archived(const PartitionsArgs& args) {
  const auto partitions =
      with_pool(args, [](db::Pool& pool) { return cutover::list_archived(pool); });
  boost::json::array rows;
  for (const auto& p : partitions) rows.push_back(cutover::to_json(p));
  print_result({{"archived", std::move(rows)}}, cutover::format_archived(partitions));
  return 0;
}

int cmd_drop_archived(const PartitionsArgs& args) {
  const auto month = parse_month(args.month, "--month");
  cutover::DropArchivedOptions options;
  options.confirm = args.confirm;
  options.locks = locks(args);
  const auto result = with_pool(args, [table = args.table, month, options](db::Pool& pool) {
    return cutover::drop_archived(pool, table, month, options);
  });
  auto doc = cutover::to_json(result.partition);
  doc["dropped"] = result.dropped;
  const auto& p = result.partition;
  const std::string where = p.archive_schema + "." + p.partition_name;
  print_result(doc, result.dropped
                        ? fmt::format("dropped {} ({} rows, checksum {}, as archived {})\n", where,
                                      p.rows, p.checksum, p.archived_at)
                        : fmt::format("{} was dropped already, at {} UTC\n", where,
                                      p.dropped_at.value_or("?")));
  return 0;
}

}  // namespace

void register_partitions(CLI::App& app, Action& action) {
  auto* partitions = app.add_subcommand(
      "partitions", "Partition retention after finalize: archive old months, list, drop");
  partitions->require_subcommand(1);

  auto archive_args = std::make_shared<PartitionsArgs>();
  auto* archive = partitions->add_subcommand(
      "archive",
      "Detach the month partitions older than --keep-months before the current month and move "
      "them, with their leaves, to the archive schema (refused before finalize)");
  add_direct_database_url(archive, archive_args->database_url);
  archive
      ->add_option("--keep-months", archive_args->keep_months,
                   "Months kept before the current one; older ones are archived")
      ->required()
      ->check(CLI::Range(1, 1200));
  archive
      ->add_option("--archive-schema", archive_args->archive_schema,
                   "Schema the archived months move to (created when missing)")
      ->capture_default_str();
  add_lock_options(archive, *archive_args);
  on_parsed(archive, action, archive_args, cmd_archive);

  auto list_args = std::make_shared<PartitionsArgs>();
  auto* list = partitions->add_subcommand(
      "archived",
      "The archive manifest: every archived month, its rows and checksum, and when "
      "it was dropped");
  add_direct_database_url(list, list_args->database_url);
  on_parsed(list, action, list_args, cmd_archived);

  auto drop_args = std::make_shared<PartitionsArgs>();
  auto* drop = partitions->add_subcommand(
      "drop-archived",
      "Drop one archived month for good, after checking its rows against the manifest "
      "(refused when they differ)");
  add_direct_database_url(drop, drop_args->database_url);
  drop->add_option("--table", drop_args->table, "revenues, expenses or balances")->required();
  drop->add_option("--month", drop_args->month, "The archived month, YYYY-MM")->required();
  drop->add_flag("--confirm", drop_args->confirm, "The rows are gone afterwards: required");
  add_lock_options(drop, *drop_args);
  on_parsed(drop, action, drop_args, cmd_drop_archived);
}

}  // namespace folioctl
