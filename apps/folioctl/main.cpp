// folioctl: the operator CLI. Wiring only: parses flags, decides once how to speak (output.hpp:
// for a person at a terminal, or JSON for a program), runs one folio library call on an
// io_context, and maps failures to exit codes and one clear message on stderr (cli.hpp lists
// the codes).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/array.hpp>
#include <cmath>
#include <cstdlib>

#include "cli.hpp"
#include "folio/db/connection.hpp"
#include "folio/db/errors.hpp"
#include "folio/db/migrator.hpp"
#include "folio/obs/human_text.hpp"
#include "folio/obs/log.hpp"
#include "folio/seed/copy_files.hpp"
#include "folio/seed/loader.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace {

using folioctl::env_or;
using folioctl::run;
using folioctl::UsageError;
namespace asio = boost::asio;

// ---- migrate ---------------------------------------------------------------------------------

struct MigrateArgs {
  std::string database_url;
  std::string migrations_dir;
  bool status_only = false;
};

int cmd_migrate(const MigrateArgs& args) {
  if (args.database_url.empty()) {
    throw UsageError("no database: pass --database-url or set DATABASE_DIRECT_URL");
  }
  const auto migrations = args.migrations_dir.empty()
                              ? folio::db::embedded_migrations()
                              : folio::db::load_migrations(args.migrations_dir);
  const folio::obs::Logger log("folioctl.migrate");
  return run([&](asio::any_io_executor ex) -> asio::awaitable<int> {
    auto conn =
        co_await folio::db::Connection::connect(ex, args.database_url, std::chrono::seconds(10));
    if (args.status_only) {
      const auto status = co_await folio::db::migration_status(*conn, migrations);
      boost::json::array applied_names;
      boost::json::array pending_names;
      std::string text;
      for (const auto& m : migrations) {
        const bool pending = std::find(status.pending.begin(), status.pending.end(), m.version) !=
                             status.pending.end();
        (pending ? pending_names : applied_names).emplace_back(m.name);
        text += (pending ? "pending  " : "applied  ") + m.name + "\n";
      }
      folioctl::print_result(
          {{"current", status.current()}, {"applied", applied_names}, {"pending", pending_names}},
          text);
      co_return status.current() ? 0 : 1;
    }
    const auto applied = co_await folio::db::migrate(*conn, migrations);
    boost::json::array applied_names;
    for (const int v : applied) {
      const auto& m = *std::find_if(migrations.begin(), migrations.end(),
                                    [&](const auto& x) { return x.version == v; });
      log.info("migration applied", {{"version", v}, {"name", m.name}});
      applied_names.emplace_back(m.name);
    }
    folioctl::print_result(
        {{"migrations", static_cast<std::int64_t>(migrations.size())}, {"applied", applied_names}},
        "schema is current: " + std::to_string(migrations.size()) + " migrations, " +
            std::to_string(applied.size()) + " applied now\n");
    co_return 0;
  });
}

// ---- seed ------------------------------------------------------------------------------------

struct SeedArgs {
  folio::seed::SeedOptions options;
  std::string until;
  std::string database_url;
  std::string copy_files_dir;
  std::int64_t chunk_orgs = 1000;
};

// The rows loaded (or written), as one result.
void print_counts(const folio::seed::RowCounts& rows, double seconds, boost::json::object extra,
                  const std::string& human_tail) {
  using folio::obs::thousands;
  const double rate = seconds > 0 ? static_cast<double>(rows.total()) / seconds : 0.0;
  boost::json::object doc{{"rows",
                           {{"organizations", rows.organizations},
                            {"revenues", rows.revenues},
                            {"expenses", rows.expenses},
                            {"balances", rows.balances},
                            {"total", rows.total()}}},
                          {"seconds", std::round(seconds * 1000) / 1000},
                          {"rows_per_s", std::round(rate)}};
  for (auto& field : extra) doc[field.key()] = std::move(field.value());
  std::string text = fmt::format("{:<14} {:>14}\n", "table", "rows");
  for (const auto& [name, n] : {std::pair{"organizations", rows.organizations},
                                {"revenues", rows.revenues},
                                {"expenses", rows.expenses},
                                {"balances", rows.balances}}) {
    text += fmt::format("{:<14} {:>14}\n", name, thousands(n));
  }
  text += fmt::format("{:<14} {:>14}  in {} ({})\n", "total", thousands(rows.total()),
                      folio::obs::duration_text(seconds), folio::obs::rate_text(rate));
  folioctl::print_result(doc, text + human_tail);
}

void show_seed_progress(folioctl::ProgressReporter& progress, const folio::seed::LoadProgress& p) {
  const double secs = p.elapsed.count();
  // Every organization gets the same number of rows: organizations done is the honest share.
  const double fraction =
      p.orgs_total > 0 ? static_cast<double>(p.orgs_done) / static_cast<double>(p.orgs_total) : 1;
  folio::obs::ProgressLine line;
  line.fraction = fraction;
  line.rows = p.rows.total();
  line.rows_per_s = secs > 0 ? static_cast<double>(p.rows.total()) / secs : 0;
  if (fraction > 0 && secs > 0) line.eta_seconds = secs / fraction - secs;
  line.done = p.orgs_done == p.orgs_total;
  progress.update(line, {{"orgs_done", p.orgs_done}, {"orgs_total", p.orgs_total}});
}

int cmd_seed(SeedArgs args) {
  args.options.until = args.until.empty() ? folio::seed::current_utc_month()
                                          : folioctl::parse_month(args.until, "--until");
  if (const auto problem = folio::seed::validate(args.options)) throw UsageError(*problem);
  if (!args.copy_files_dir.empty()) {
    // The benchmark baseline: the same rows as COPY text files, for psql's \copy.
    const auto started = std::chrono::steady_clock::now();
    const auto rows = folio::seed::write_copy_text_files(args.options, args.copy_files_dir);
    print_counts(rows,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                 {{"directory", args.copy_files_dir}}, "");
    return 0;
  }
  if (args.database_url.empty())
    throw UsageError("no database: pass --database-url or set DATABASE_URL");
  folioctl::ProgressReporter progress("seed");
  folio::seed::LoadOptions load;
  load.dsn = args.database_url;
  load.chunk_orgs = args.chunk_orgs;
  load.on_progress = [&](const folio::seed::LoadProgress& p) { show_seed_progress(progress, p); };
  const auto report =
      run([&](asio::any_io_executor ex) { return folio::seed::load(ex, args.options, load); });
  print_counts(
      report.rows, report.elapsed.count(),
      {{"organization_ids", {report.first_org_id, report.last_org_id}},
       {"row_ids", {report.first_row_id, report.last_row_id}}},
      fmt::format("organization ids {}..{}, revenue/expense ids {}..{}\n", report.first_org_id,
                  report.last_org_id, report.first_row_id, report.last_row_id));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"folioctl — operate folio: schema migrations, seed data, the partition cutover"};
  app.require_subcommand(1);
  // Global flags are accepted after the subcommand too (`folioctl switchover verify --json`):
  // subcommands created from here on pass what they do not know up to their parent.
  app.fallthrough();
  std::string log_level = env_or({"FOLIO_LOG_LEVEL"});
  app.add_option("--log-level", log_level, "debug, info, warn or error (env FOLIO_LOG_LEVEL)");
  bool json = false;
  app.add_flag("--json", json,
               "Print each result as one JSON document on stdout and log JSON lines on stderr "
               "(the default when stdout is not a terminal)");

  MigrateArgs migrate;
  migrate.database_url = env_or({"DATABASE_DIRECT_URL"});
  auto* migrate_cmd = app.add_subcommand(
      "migrate", "Apply pending sql/migrations (embedded in this binary) under an advisory lock");
  migrate_cmd->add_option("--database-url", migrate.database_url,
                          "Direct PostgreSQL URL, not PgBouncer (env DATABASE_DIRECT_URL)");
  migrate_cmd->add_option("--migrations-dir", migrate.migrations_dir,
                          "Read migrations from this directory instead of the embedded ones");
  migrate_cmd->add_flag("--status", migrate.status_only,
                        "Only list applied and pending migrations; exit 1 if any is pending");

  SeedArgs seed;
  seed.database_url = env_or({"DATABASE_URL"});
  auto* seed_cmd = app.add_subcommand(
      "seed", "Generate deterministic hospitality data and COPY it into the legacy tables");
  seed_cmd->add_option("--orgs", seed.options.orgs, "Organizations to create")->required();
  seed_cmd
      ->add_option("--rows-per-org", seed.options.rows_per_org,
                   "Revenue + expense rows per organization")
      ->capture_default_str();
  seed_cmd->add_option("--months", seed.options.months, "Months of history (1..120)")
      ->capture_default_str();
  seed_cmd->add_option("--seed", seed.options.seed, "Random seed: same seed, same data")
      ->capture_default_str();
  seed_cmd->add_option("--until", seed.until, "Last month of history, YYYY-MM (default: now)");
  seed_cmd->add_option("--database-url", seed.database_url, "PostgreSQL URL (env DATABASE_URL)");
  seed_cmd->add_option("--chunk-orgs", seed.chunk_orgs, "Organizations per COPY round")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  seed_cmd->add_option("--copy-files-dir", seed.copy_files_dir,
                       "Write the rows as COPY text files (organizations.tsv, ...) into this "
                       "directory instead of loading them");

  folioctl::Action action;
  auto* switchover = app.add_subcommand(
      "switchover", "The online cutover to the partitioned tables, one phase per subcommand");
  switchover->require_subcommand(1);
  folioctl::register_switchover_schema(*switchover, action);
  folioctl::register_switchover_backfill(*switchover, action);
  folioctl::register_switchover_verify(*switchover, action);
  folioctl::register_switchover_routing(*switchover, action);
  folioctl::register_switchover_guard(*switchover, action);
  folioctl::register_token(app, action);
  folioctl::register_jobs(app, action);
  folioctl::register_partitions(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  folioctl::init_output(json);
  using folioctl::print_error;
  try {
    if (!log_level.empty()) {
      const auto level = folio::obs::parse_level(log_level);
      if (!level) throw UsageError("unknown log level '" + log_level + "'");
      folio::obs::set_log_level(*level);
    }
    if (*migrate_cmd) return cmd_migrate(migrate);
    if (*seed_cmd) return cmd_seed(seed);
    if (action) return action();
  } catch (const UsageError& e) {
    print_error(e.what(), 2);
    return 2;
  } catch (const std::invalid_argument& e) {
    print_error(e.what(), 2);
    return 2;
  } catch (const folioctl::Refused& e) {
    print_error(std::string("refused: ") + e.what(), 5);
    return 5;
  } catch (const folio::db::MigrationError& e) {
    print_error(e.what(), 3);
    return 3;
  } catch (const folio::db::Error& e) {
    print_error(std::string("database error") +
                    (e.sqlstate().empty() ? "" : " [" + e.sqlstate() + "]") + ": " + e.what(),
                1, {{"sqlstate", e.sqlstate()}});
    return 1;
  } catch (const std::exception& e) {
    print_error(e.what(), 1);
    return 1;
  }
  return 0;
}
