// folioctl switchover guard: watches the pilots while the fleet is on legacy and removes them
// when Prometheus reports a regression that holds (cutover/pilot_guard.hpp). Runs until it
// removed the pilots or is interrupted (SIGINT, SIGTERM); --once checks one time.
//
// One line per check for a person, one JSON document per check with --json; the removal
// itself is printed as the audited phase it is.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/value_from.hpp>
#include <csignal>
#include <ctime>

#include "cli.hpp"
#include "folio/cutover/pilot_guard.hpp"
#include "folio/db/pool.hpp"
#include "folio/obs/json_text.hpp"
#include "output.hpp"

namespace folioctl {

namespace {

namespace cutover = folio::cutover;
namespace db = folio::db;
namespace json = boost::json;

struct GuardArgs {
  std::string database_url;
  std::string hold = "2m";
  std::string interval = "15s";
  bool once = false;
  cutover::PilotGuardOptions options;
};

std::string utc_time_of_day() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M:%S", &tm);
  return text;
}

// `name{label="value", ...} = 3.2` for each sample.
std::string samples_text(const json::array& evidence) {
  std::vector<std::string> out;
  for (const auto& item : evidence) {
    const auto& o = item.as_object();
    std::string name;
    std::vector<std::string> labels;
    for (const auto& [key, value] : o) {
      if (key == "value") continue;
      const std::string text = value.is_string() ? std::string(value.as_string()) : "";
      if (key == "__name__") {
        name = text;
      } else {
        labels.push_back(fmt::format("{}=\"{}\"", std::string_view(key), text));
      }
    }
    out.push_back(fmt::format("{}{{{}}} = {}", name, fmt::join(labels, ", "),
                              folio::obs::to_json_text(o.at("value"))));
  }
  return fmt::format("{}", fmt::join(out, "; "));
}

void print_check(const cutover::GuardCheck& c, const cutover::PilotGuardOptions& options) {
  json::object doc{{"state", cutover::to_string(c.state)},
                   {"pilots", json::value_from(c.pilots)},
                   {"query", options.query},
                   {"hold_s", std::chrono::duration<double>(options.hold).count()},
                   {"regressed_for_s", c.regressed_for_s},
                   {"dry_run", options.dry_run},
                   {"would_remove", c.would_remove},
                   {"evidence", c.evidence}};
  if (!c.error.empty()) doc["error"] = c.error;
  if (c.removal) doc["audit_id"] = c.removal->audit_id;
  const std::string pilots = c.pilots.empty() ? "no pilot on the partitioned tables"
                                              : fmt::format("pilots {}", fmt::join(c.pilots, ", "));
  std::string human;
  switch (c.state) {
    case cutover::GuardState::inactive:
    case cutover::GuardState::healthy:
      human =
          fmt::format("{}  {:<9}  {}\n", utc_time_of_day(), cutover::to_string(c.state), pilots);
      break;
    case cutover::GuardState::regressed:
      human = fmt::format("{}  REGRESSED  {}  for {:.0f} s of {} s{}\n           {}\n",
                          utc_time_of_day(), pilots, c.regressed_for_s, options.hold.count(),
                          c.would_remove ? " — dry run: would remove them" : "",
                          samples_text(c.evidence));
      break;
    case cutover::GuardState::removed:
      human = fmt::format("{}  REMOVED    {} after {:.0f} s of regression (audit #{})\n",
                          utc_time_of_day(), pilots, c.regressed_for_s, c.removal->audit_id);
      break;
    case cutover::GuardState::error:
      human = fmt::format("{}  error      {}: {}\n", utc_time_of_day(), pilots, c.error);
      break;
  }
  print_result(doc, human);
}

int cmd_guard(GuardArgs& args) {
  require_database_url(args.database_url);
  args.options.hold = parse_duration(args.hold, "--hold");
  const auto interval = parse_duration(args.interval, "--interval");
  cutover::PilotGuard guard(args.options);  // std::invalid_argument: exit 2
  if (!json_output()) {
    std::cout << fmt::format(
        "guarding the pilots: {} on {} every {} s; {} after {} s of regression\n",
        args.options.query, args.options.prometheus_url, interval.count(),
        args.options.dry_run ? "report (dry run)" : "remove them", args.options.hold.count());
  }
  return run([&](asio::any_io_executor ex) -> asio::awaitable<int> {
    db::Pool pool(ex, {.dsn = args.database_url, .name = "cutover", .max_size = 2});
    asio::signal_set signals(ex, SIGINT, SIGTERM);
    asio::steady_timer timer(ex);
    bool stop = false;
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (!ec) {
        stop = true;
        timer.cancel();
      }
    });
    int code = 0;
    while (!stop) {
      const auto c = co_await guard.check(pool);
      print_check(c, args.options);
      if (c.state == cutover::GuardState::removed) {
        print_phase(*c.removal);
        break;
      }
      if (args.once) {
        code = c.state == cutover::GuardState::error ? 1 : 0;
        break;
      }
      timer.expires_after(interval);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    signals.cancel();
    co_return code;
  });
}

}  // namespace

void register_switchover_guard(CLI::App& switchover, Action& action) {
  auto* cmd = switchover.add_subcommand(
      "guard",
      "Watch the pilots while the fleet is on legacy; when Prometheus reports a pilot "
      "regression for --hold, remove them (audited with the evidence). Runs until it acted");
  auto args = std::make_shared<GuardArgs>();
  add_direct_database_url(cmd, args->database_url);
  args->options.prometheus_url = env_or({"PROMETHEUS_URL"});
  cmd->add_option("--prometheus-url", args->options.prometheus_url,
                  "http://host:port of Prometheus (env PROMETHEUS_URL)");
  cmd->add_option("--query", args->options.query,
                  "PromQL that has a series while the pilots regress (deploy/prometheus)")
      ->capture_default_str();
  cmd->add_option("--hold", args->hold,
                  "Act when every check for this long saw a regression (2m, 90s)")
      ->capture_default_str();
  cmd->add_option("--interval", args->interval, "Time between checks (15s, 1m)")
      ->capture_default_str();
  cmd->add_flag("--dry-run", args->options.dry_run,
                "Only report the pilots it would remove; change nothing");
  cmd->add_flag("--once", args->once, "Check once and exit (0, or 1 when the check failed)");
  on_parsed(cmd, action, args, [](GuardArgs& a) { return cmd_guard(a); });
}

}  // namespace folioctl
