// The pilot guard against a real Prometheus on a private stack (its rules from
// deploy/prometheus): pilots 1-3 on the partitioned tables, the fleet on legacy, reads of
// both cohorts flowing. With healthy pilots `folioctl switchover guard` watches for minutes
// and changes nothing. Then the partitioned path alone breaks (folio_app loses its
// privileges on revenues_partitioned): a dry-run guard reports the pilots it would remove
// and keeps them; the folio-server job pilot-guard removes them within its window with no
// manual step, audited with the evidence, and the pilots' reads succeed again on legacy.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>

#include "api_support.hpp"
#include "infra_support.hpp"
#include "support/prometheus_client.hpp"

namespace folio::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;

constexpr int kOrgs = 8;
const std::vector<std::int64_t> kPilots = {1, 2, 3};
// How long a regression must hold before the guard acts, and the check period.
constexpr const char* kHold = "20s";
constexpr const char* kInterval = "2s";

// folioctl started in the background with its output in a file; stopped with SIGTERM.
class Background {
 public:
  explicit Background(const std::vector<std::string>& args) {
    char path[] = "/tmp/folio-guard-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    log_path_ = path;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(FOLIOCTL_PATH));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(FOLIOCTL_PATH, argv.data());
      ::_exit(127);
    }
    ::close(fd);
  }
  ~Background() {
    stop();
    ::unlink(log_path_.c_str());
  }
  bool running() {
    if (exit_code_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }
  // SIGTERM, then the exit code.
  int stop() {
    if (running()) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return *exit_code_;
  }
  std::string output() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // The JSON documents the guard printed, one per check.
  std::vector<boost::json::object> checks() const {
    std::vector<boost::json::object> out;
    std::istringstream lines(output());
    for (std::string line; std::getline(lines, line);) {
      boost::system::error_code ec;
      auto v = boost::json::parse(line, ec);
      if (!ec && v.is_object() && v.as_object().contains("state")) out.push_back(v.as_object());
    }
    return out;
  }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_code_;
};

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
  const auto end = steady_clock::now() + limit;
  while (steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(500ms);
  }
  return pred();
}

class PilotGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dsn_ = stack_.value("DATABASE_DIRECT_URL");
    prepare_pilots(dsn_, "1 2 3");
    if (HasFatalFailure()) return;
    tokens_.resize(kOrgs + 1);
    for (std::int64_t org = 1; org <= kOrgs; ++org) tokens_[org] = stack_.token(org);
    server_ = stack_.start(stack_.options(false, false));
    // Reads of every organization: pilots 1-3 on partitioned, 4-8 the fleet on legacy.
    load_ = std::make_unique<Load>(
        *server_, 3, [this](HttpClient& http, int client, int i, std::string& why) {
          const std::int64_t org = 1 + (client * 3 + i) % kOrgs;
          const auto res =
              http.request("GET",
                           "/v1/orgs/" + std::to_string(org) + "/revenues?from=" + utc_day(-90) +
                               "&to=" + utc_day() + "&limit=20",
                           tokens_[org]);
          if (res.status == 200) return true;
          why = "org " + std::to_string(org) + " -> " + std::to_string(res.status);
          return false;
        });
    prometheus_ = std::make_unique<PrometheusClient>(stack_.value("PROMETHEUS_URL"));
    // Both cohorts visible to the rules before anything is judged.
    ASSERT_TRUE(prometheus_->wait_for_value(
        R"(folio:pilot_regression:pilot_request_rate1m > 0 and on() folio:pilot_regression:fleet_request_rate1m > 0)",
        [](std::optional<double> v) { return v.has_value(); }, 90s))
        << "no pilot and fleet traffic in Prometheus";
  }

  std::int64_t pilots() const {
    return scalar(dsn_, "SELECT count(*) FROM partition_routing WHERE scope = 'pilot'");
  }
  std::vector<std::string> guard_args(bool dry_run) const {
    std::vector<std::string> args = {"switchover",
                                     "guard",
                                     "--json",
                                     "--database-url",
                                     dsn_,
                                     "--prometheus-url",
                                     stack_.value("PROMETHEUS_URL"),
                                     "--hold",
                                     kHold,
                                     "--interval",
                                     kInterval};
    if (dry_run) args.push_back("--dry-run");
    return args;
  }
  // The partitioned path breaks for every organization on it; legacy is untouched.
  void break_partitioned_path() const {
    run_async([&](boost::asio::io_context& io) -> boost::asio::awaitable<void> {
      auto c = co_await db::Connection::connect(io.get_executor(), dsn_, 5s);
      co_await c->execute(
          "DO $$ DECLARE r regclass; BEGIN FOR r IN SELECT relid FROM "
          "pg_partition_tree('revenues_partitioned') LOOP EXECUTE format('REVOKE ALL ON %s "
          "FROM folio_app', r); END LOOP; END $$");
    });
  }

  InfraStack stack_{kOrgs};
  std::string dsn_;
  std::vector<std::string> tokens_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Load> load_;
  std::unique_ptr<PrometheusClient> prometheus_;
};

TEST_F(PilotGuardTest, KeepsHealthyPilotsReportsInDryRunAndRemovesRegressedOnes) {
  // Healthy pilots: minutes of checks, nothing removed.
  {
    Background guard(guard_args(false));
    const auto until = steady_clock::now() + 3min;
    while (steady_clock::now() < until) {
      ASSERT_TRUE(guard.running()) << guard.output();
      ASSERT_EQ(pilots(), 3) << guard.output();
      std::this_thread::sleep_for(5s);
    }
    EXPECT_EQ(guard.stop(), 0) << guard.output();
    const auto checks = guard.checks();
    ASSERT_GE(checks.size(), 20u) << guard.output();
    for (const auto& c : checks) EXPECT_EQ(c.at("state").as_string(), "healthy") << c;
    EXPECT_EQ(load_->failures(), 0) << load_->first_failure();
  }

  // The partitioned path fails: requests of the pilots answer 5xx, the fleet's do not.
  break_partitioned_path();
  const auto fault = steady_clock::now();
  EXPECT_TRUE(eventually([&] { return load_->failures() > 0; }, 30s))
      << "the pilots' reads did not fail";

  // Dry run: the regression is reported, the pilots stay.
  {
    Background guard(guard_args(true));
    const bool reported = eventually(
        [&] {
          for (const auto& c : guard.checks()) {
            if (c.at("would_remove").as_bool()) return true;
          }
          return false;
        },
        150s);
    ASSERT_TRUE(reported) << guard.output();
    EXPECT_TRUE(guard.running()) << guard.output();
    EXPECT_EQ(pilots(), 3);
    EXPECT_EQ(guard.stop(), 0);
    for (const auto& c : guard.checks()) {
      if (c.at("state").as_string() != "regressed") continue;
      EXPECT_FALSE(c.at("evidence").as_array().empty()) << c;
    }
  }

  // The folio-server job: removes them with no manual step, within its window.
  auto options = stack_.options(false, false);
  options.env["FOLIO_PILOT_GUARD_PROMETHEUS_URL"] = stack_.value("PROMETHEUS_URL");
  options.env["FOLIO_PILOT_GUARD_HOLD_S"] = "20";
  options.env["FOLIO_PILOT_GUARD_INTERVAL_S"] = "2";
  const auto guard_server = stack_.start(options);
  ASSERT_TRUE(eventually([&] { return pilots() == 0; }, 150s))
      << "pilots still routed "
      << std::chrono::duration_cast<std::chrono::seconds>(steady_clock::now() - fault).count()
      << " s after the fault\n"
      << guard_server->log();
  EXPECT_EQ(scalar(dsn_,
                   "SELECT count(*) FROM cutover_audit WHERE phase = 'pilot' AND status = 'ok' "
                   "AND details->'reason'->>'by' = 'pilot-guard' "
                   "AND jsonb_array_length(details->'reason'->'evidence') > 0 "
                   "AND (details->'reason'->>'regressed_for_s')::float8 >= 20"),
            1);
  // Back on legacy, the former pilots read again.
  HttpClient http(server_->host(), server_->port());
  EXPECT_TRUE(eventually(
      [&] {
        return http.request("GET", "/v1/orgs/1/revenues?from=" + utc_day(-90) + "&to=" + utc_day(),
                            tokens_[1])
                   .status == 200;
      },
      10s));
}

}  // namespace
}  // namespace folio::test
