// folioctl: the operator CLI. Wiring only: parses flags, runs one folio library call on an
// io_context, and maps failures to exit codes and one clear line on stderr (cli.hpp lists
// the codes).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "cli.hpp"
#include "folio/db/connection.hpp"
#include "folio/db/errors.hpp"
#include "folio/db/migrator.hpp"
#include "folio/obs/log.hpp"
#include "folio/seed/copy_files.hpp"
#include "folio/seed/loader.hpp"

namespace {

using folioctl::env_or;
using folioctl::run;
using folioctl::UsageError;
namespace asio = boost::asio;

std::chrono::year_month parse_month(const std::string& text) {
  int y = 0;
  unsigned m = 0;
  char dash = 0;
  if (std::sscanf(text.c_str(), "%d%c%u", &y, &dash, &m) != 3 || dash != '-' || m < 1 || m > 12) {
    throw UsageError("--until must look like YYYY-MM, got '" + text + "'");
  }
  return std::chrono::year{y} / std::chrono::month{m};
}

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
      for (const auto& m : migrations) {
        const bool pending = std::find(status.pending.begin(), status.pending.end(), m.version) !=
                             status.pending.end();
        std::cout << (pending ? "pending  " : "applied  ") << m.name << "\n";
      }
      co_return status.current() ? 0 : 1;
    }
    const auto applied = co_await folio::db::migrate(*conn, migrations);
    for (const int v : applied) {
      const auto& m = *std::find_if(migrations.begin(), migrations.end(),
                                    [&](const auto& x) { return x.version == v; });
      log.info("migration applied", {{"version", v}, {"name", m.name}});
    }
    std::cout << "schema is current: " << migrations.size() << " migrations, " << applied.size()
              << " applied now\n";
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

void print_counts(const folio::seed::RowCounts& rows, double seconds) {
  std::printf("%-14s %12s\n", "table", "rows");
  std::printf("%-14s %12lld\n", "organizations", static_cast<long long>(rows.organizations));
  std::printf("%-14s %12lld\n", "revenues", static_cast<long long>(rows.revenues));
  std::printf("%-14s %12lld\n", "expenses", static_cast<long long>(rows.expenses));
  std::printf("%-14s %12lld\n", "balances", static_cast<long long>(rows.balances));
  std::printf("%-14s %12lld  in %.1f s (%.0f rows/s)\n", "total",
              static_cast<long long>(rows.total()), seconds,
              seconds > 0 ? static_cast<double>(rows.total()) / seconds : 0.0);
}

// A progress line on a terminal, a JSON log line every few seconds otherwise.
class ProgressReporter {
 public:
  ProgressReporter() : tty_(::isatty(STDERR_FILENO) == 1), log_("folioctl.seed") {}
  void operator()(const folio::seed::LoadProgress& p) {
    const double secs = p.elapsed.count();
    const double rate = secs > 0 ? static_cast<double>(p.rows.total()) / secs : 0;
    const double frac = static_cast<double>(p.orgs_done) / static_cast<double>(p.orgs_total);
    const double eta = frac > 0 ? secs / frac - secs : 0;
    if (tty_) {
      const int width = 30;
      const int filled = static_cast<int>(frac * width);
      std::fprintf(stderr, "\r[%.*s%*s] %5.1f%%  %lld rows  %.0f rows/s  ETA %.0fs  ", filled,
                   "##############################", width - filled, "", frac * 100,
                   static_cast<long long>(p.rows.total()), rate, eta);
      if (p.orgs_done == p.orgs_total) std::fputc('\n', stderr);
    } else if (secs - last_logged_ >= 5 || p.orgs_done == p.orgs_total) {
      last_logged_ = secs;
      log_.info("seed progress", {{"orgs_done", p.orgs_done},
                                  {"orgs_total", p.orgs_total},
                                  {"rows", p.rows.total()},
                                  {"rows_per_s", static_cast<std::int64_t>(rate)},
                                  {"eta_s", static_cast<std::int64_t>(eta)}});
    }
  }

 private:
  bool tty_;
  folio::obs::Logger log_;
  double last_logged_ = -1e9;
};

int cmd_seed(SeedArgs args) {
  args.options.until =
      args.until.empty() ? folio::seed::current_utc_month() : parse_month(args.until);
  if (const auto problem = folio::seed::validate(args.options)) throw UsageError(*problem);
  if (!args.copy_files_dir.empty()) {
    // The benchmark baseline: the same rows as COPY text files, for psql's \copy.
    const auto started = std::chrono::steady_clock::now();
    const auto rows = folio::seed::write_copy_text_files(args.options, args.copy_files_dir);
    print_counts(rows,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return 0;
  }
  if (args.database_url.empty())
    throw UsageError("no database: pass --database-url or set DATABASE_URL");
  ProgressReporter progress;
  folio::seed::LoadOptions load;
  load.dsn = args.database_url;
  load.chunk_orgs = args.chunk_orgs;
  load.on_progress = [&](const folio::seed::LoadProgress& p) { progress(p); };
  const auto report =
      run([&](asio::any_io_executor ex) { return folio::seed::load(ex, args.options, load); });
  print_counts(report.rows, report.elapsed.count());
  std::printf(
      "organization ids %lld..%lld, revenue/expense ids %lld..%lld\n",
      static_cast<long long>(report.first_org_id), static_cast<long long>(report.last_org_id),
      static_cast<long long>(report.first_row_id), static_cast<long long>(report.last_row_id));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"folioctl — operate folio: schema migrations, seed data, the partition cutover"};
  app.require_subcommand(1);
  std::string log_level = env_or({"FOLIO_LOG_LEVEL"});
  app.add_option("--log-level", log_level, "debug, info, warn or error (env FOLIO_LOG_LEVEL)");

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
  folioctl::register_token(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

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
    std::cerr << "folioctl: " << e.what() << "\n";
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "folioctl: " << e.what() << "\n";
    return 2;
  } catch (const folioctl::Refused& e) {
    std::cerr << "folioctl: refused: " << e.what() << "\n";
    return 5;
  } catch (const folio::db::MigrationError& e) {
    std::cerr << "folioctl: " << e.what() << "\n";
    return 3;
  } catch (const folio::db::Error& e) {
    std::cerr << "folioctl: database error"
              << (e.sqlstate().empty() ? "" : " [" + e.sqlstate() + "]") << ": " << e.what()
              << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "folioctl: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
