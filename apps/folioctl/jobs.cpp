// folioctl jobs run NAME | status: the scheduled jobs (docs/operations.md) from an external
// scheduler (cron, a Kubernetes CronJob) or by hand. A run claims the same fenced lease as
// folio-server's runner, so it never overlaps a run elsewhere.
#include <fmt/format.h>

#include <iostream>

#include "cli.hpp"
#include "folio/cutover/scheduled_jobs.hpp"
#include "folio/db/pool.hpp"
#include "folio/jobs/lease.hpp"
#include "folio/jobs/runner.hpp"
#include "folio/obs/json_text.hpp"
#include "output.hpp"

namespace folioctl {

namespace {

namespace cutover = folio::cutover;
namespace db = folio::db;
namespace jobs = folio::jobs;

struct JobsArgs {
  std::string database_url;
  std::string name;
  bool when_due = false;
  std::int64_t lease_ttl_ms = 30000;
  cutover::ScheduledJobsOptions options;
};

std::string seconds_text(double s) {
  if (s < 0) return "-" + seconds_text(-s);
  if (s < 120) return fmt::format("{:.1f} s", s);
  if (s < 7200) return fmt::format("{:.1f} min", s / 60);
  if (s < 172800) return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} d", s / 86400);
}

// The maintenance details (cutover::to_json(MaintenanceReport)) as aligned rows.
std::string maintenance_rows(const boost::json::object& details) {
  const auto* tables = details.if_contains("tables");
  if (tables == nullptr || !tables->is_array()) return "";
  std::string out = fmt::format("  {:<22} {:>8} {:>11} {:>13} {:>13}\n", "table", "created",
                                "rows moved", "months ahead", "DEFAULT rows");
  for (const auto& t : tables->as_array()) {
    const auto& o = t.as_object();
    const auto& before = o.at("before").as_object();
    const auto& after = o.at("after").as_object();
    out += fmt::format("  {:<22} {:>8} {:>11} {:>6} -> {:<4} {:>6} -> {:<4}\n",
                       o.at("table").as_string().c_str(), o.at("months_created").as_int64(),
                       o.at("rows_moved").as_int64(), before.at("months_ready_ahead").as_int64(),
                       after.at("months_ready_ahead").as_int64(),
                       before.at("default").as_object().at("rows").as_int64(),
                       after.at("default").as_object().at("rows").as_int64());
  }
  return out;
}

// The retention details (cutover::to_json(RetentionReport)): one line per archived month.
std::string retention_rows(const boost::json::object& details) {
  const auto* archived = details.if_contains("archived");
  if (archived == nullptr || !archived->is_array() || archived->as_array().empty()) return "";
  std::string out =
      fmt::format("  {:<22} {:<7} {:>12}  {}\n", "table", "month", "rows", "archived as");
  for (const auto& a : archived->as_array()) {
    const auto& o = a.as_object();
    out += fmt::format("  {:<22} {:<7} {:>12}  {}.{}\n", o.at("table").as_string().c_str(),
                       o.at("month").as_string().c_str(), o.at("rows").as_int64(),
                       o.at("archive_schema").as_string().c_str(),
                       o.at("partition_name").as_string().c_str());
  }
  return out;
}

int cmd_run(const JobsArgs& args) {
  require_database_url(args.database_url);
  const auto record = run([&](asio::any_io_executor ex) -> asio::awaitable<jobs::RunRecord> {
    db::Pool pool(ex, {.dsn = args.database_url,
                       .name = "jobs",
                       .max_size = static_cast<std::size_t>(args.options.verify_workers + 2)});
    auto defs = cutover::scheduled_jobs(pool, args.options, {args.name});
    co_await jobs::register_job(pool, args.name);
    jobs::RunnerOptions options;
    options.instance = jobs::make_instance_id();
    options.lease_ttl = std::chrono::milliseconds(args.lease_ttl_ms);
    co_return co_await jobs::run_once(pool, defs.front(), options, !args.when_due);
  });
  std::string human;
  if (!record.ran) {
    human = fmt::format("{}: not run — {} (see `folioctl jobs status`)\n", record.job,
                        args.when_due ? "not due yet, or running on another instance"
                                      : "running on another instance");
  } else {
    human = fmt::format("{}: {} in {} (lease term {})\n", record.job, record.outcome,
                        seconds_text(record.seconds), record.term);
    if (!record.error.empty()) human += "  error: " + record.error + "\n";
    if (const auto* skipped = record.details.if_contains("skipped")) {
      human += fmt::format("  skipped: {}\n", skipped->as_string().c_str());
    }
    human += maintenance_rows(record.details);
    human += retention_rows(record.details);
    if (const auto* d = record.details.if_contains("differences")) {
      human += fmt::format("  differences: {}\n", folio::obs::to_json_text(*d));
    }
  }
  print_result(jobs::to_json(record), human);
  if (!record.ran || record.outcome == "ok" || record.outcome == "noop") return 0;
  // A verification that found differences exits like `switchover verify` does.
  return record.details.contains("differences") && record.outcome == "failed" ? 4 : 1;
}

int cmd_status(const JobsArgs& args) {
  require_database_url(args.database_url);
  const auto states =
      run([&](asio::any_io_executor ex) -> asio::awaitable<std::vector<jobs::LeaseState>> {
        db::Pool pool(ex, {.dsn = args.database_url, .name = "jobs", .max_size = 1});
        co_return co_await jobs::lease_states(pool);
      });
  if (json_output()) {
    boost::json::array out;
    for (const auto& s : states) {
      const auto ms = [](std::optional<double> seconds) -> boost::json::value {
        if (!seconds) return nullptr;
        return static_cast<std::int64_t>(*seconds * 1000);
      };
      boost::json::object o;
      o["job"] = s.job;
      o["term"] = s.term;
      o["holder"] = s.holder ? boost::json::value(*s.holder) : nullptr;
      o["lease_expires_in_ms"] = ms(s.expires_in_s);
      o["next_run_in_ms"] = ms(s.next_run_in_s);
      o["last_outcome"] = s.last_outcome ? boost::json::value(*s.last_outcome) : nullptr;
      o["last_success_age_ms"] = ms(s.last_success_age_s);
      out.push_back(std::move(o));
    }
    std::cout << folio::obs::to_json_text(out) << "\n";
    return 0;
  }
  if (states.empty()) {
    std::cout << "no job has run yet (start folio-server with --jobs, or run `folioctl jobs run "
                 "partition-maintenance`)\n";
    return 0;
  }
  std::cout << fmt::format("{:<22} {:>5}  {:<32} {:>12}  {:<8} {:>12}\n", "job", "term", "lease",
                           "next run in", "last", "last success");
  for (const auto& s : states) {
    const std::string lease =
        s.holder ? fmt::format("{} ({} left)", *s.holder, seconds_text(s.expires_in_s.value_or(0)))
                 : "free";
    const std::string next =
        !s.next_run_in_s ? "due" : (*s.next_run_in_s <= 0 ? "due" : seconds_text(*s.next_run_in_s));
    const std::string success =
        s.last_success_age_s ? seconds_text(*s.last_success_age_s) + " ago" : "never";
    std::cout << fmt::format("{:<22} {:>5}  {:<32} {:>12}  {:<8} {:>12}\n", s.job, s.term, lease,
                             next, s.last_outcome.value_or("-"), success);
  }
  return 0;
}

}  // namespace

void register_jobs(CLI::App& app, Action& action) {
  auto* jobs_cmd = app.add_subcommand(
      "jobs", "Scheduled jobs (partition maintenance and retention, verification), once per fleet");
  jobs_cmd->require_subcommand(1);

  auto run_args = std::make_shared<JobsArgs>();
  auto* run_cmd = jobs_cmd->add_subcommand(
      "run",
      "Run one job now (for cron or a Kubernetes CronJob); skipped while another "
      "instance holds its lease");
  run_cmd
      ->add_option("name", run_args->name,
                   "partition-maintenance, partition-retention, verify-recent or verify-full")
      ->required()
      ->check(CLI::IsMember(cutover::scheduled_job_names()));
  add_direct_database_url(run_cmd, run_args->database_url);
  run_cmd->add_flag("--when-due", run_args->when_due,
                    "Run only when the job is due by its fleet-wide schedule (folio-server's "
                    "period); default: run now");
  run_cmd
      ->add_option("--lease-ttl-ms", run_args->lease_ttl_ms,
                   "The lease expires this long after its last renewal")
      ->capture_default_str()
      ->check(CLI::Range(300, 3600000));
  run_cmd
      ->add_option("--future-months", run_args->options.future_months,
                   "partition-maintenance: months after the current one kept partitioned")
      ->capture_default_str()
      ->check(CLI::Range(0, 120));
  run_cmd
      ->add_option("--retention-months", run_args->options.retention_months,
                   "partition-retention: months kept before the current one; older month "
                   "partitions are archived (after finalize only); 0: off")
      ->capture_default_str()
      ->check(CLI::Range(0, 1200));
  run_cmd->add_option("--recent-days", run_args->options.recent_days, "verify-recent: days checked")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));
  on_parsed(run_cmd, action, run_args, cmd_run);

  auto status_args = std::make_shared<JobsArgs>();
  auto* status_cmd = jobs_cmd->add_subcommand(
      "status", "Each job's lease (holder, term), when it runs next and how it last ended");
  add_direct_database_url(status_cmd, status_args->database_url);
  on_parsed(status_cmd, action, status_args, cmd_status);
}

}  // namespace folioctl
