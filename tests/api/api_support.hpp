// Helpers shared by the API suites: folioctl as a child process, a database taken through
// the cutover up to a finished backfill, tokens, and per-table activity from
// pg_stat_user_tables (partitioned tables summed over their partitions).
//
// Thread-safety: call from one thread.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "folio/auth/tokens.hpp"
#include "folio/db/pool.hpp"
#include "support/async.hpp"
#include "support/cutover_database.hpp"

namespace folio::test {

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs the built folioctl with `args` (shell words, already quoted) and captures its output.
inline CommandResult folioctl(const std::string& args) {
  const std::string command = std::string(FOLIOCTL_PATH) + " " + args + " </dev/null 2>&1";
  CommandResult r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe))
    r.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// prepare, sync-on and backfill: the partitioned side exists, mirrors every write and holds
// the whole history, so routing may send any organization either way.
inline void prepare_both_sides(const std::string& dsn) {
  for (const char* step : {"prepare", "sync-on", "backfill"}) {
    const auto r = folioctl(std::string("switchover ") + step + " --database-url '" + dsn + "'");
    ASSERT_EQ(r.exit_code, 0) << step << ":\n" << r.output;
  }
}

// prepare_both_sides, a clean full verification (the gate pilots need) and `pilots` (ids
// separated by spaces) added as pilots on the partitioned tables; the fleet stays on legacy.
inline void prepare_pilots(const std::string& dsn, const std::string& pilots) {
  prepare_both_sides(dsn);
  if (::testing::Test::HasFatalFailure()) return;
  for (const std::string& step : {std::string("verify"), "pilot add " + pilots}) {
    const auto r = folioctl("switchover " + step + " --database-url '" + dsn + "'");
    ASSERT_EQ(r.exit_code, 0) << step << ":\n" << r.output;
  }
}

inline std::string create_token(const std::string& dsn, auth::Scope scope,
                                std::optional<std::int64_t> org) {
  return run_async([&](boost::asio::io_context& io) -> boost::asio::awaitable<std::string> {
    db::PoolOptions options;
    options.dsn = dsn;
    options.max_size = 1;
    db::Pool pool(io.get_executor(), options);
    std::optional<std::string> label = "test";
    co_return co_await auth::TokenStore::create(pool, scope, org, label);
  });
}

// The value of the series (name with its labels, exactly as exposed) in an exposition;
// nullopt when absent.
inline std::optional<double> metric(const std::string& text, const std::string& series) {
  std::size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + series.size() + 1));
    at += series.size();
  }
  return std::nullopt;
}

// Scans (sequential + index) and rows inserted/updated/deleted of one logical table.
struct TableActivity {
  std::int64_t reads = 0;
  std::int64_t inserted = 0;
  std::int64_t updated = 0;
  std::int64_t deleted = 0;
};
// Keyed by "revenues", "revenues_partitioned", ... (partitions summed into their parent).
using Activity = std::map<std::string, TableActivity>;

inline Activity table_activity(const std::string& dsn) {
  return run_async([&](boost::asio::io_context& io) -> boost::asio::awaitable<Activity> {
    auto c = co_await db::Connection::connect(io.get_executor(), dsn, std::chrono::seconds(5));
    auto r = co_await c->execute(
        "SELECT substring(relname from '^((?:revenues|expenses|balances)(?:_partitioned)?)'), "
        "       sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0))::bigint, "
        "       sum(n_tup_ins)::bigint, sum(n_tup_upd)::bigint, sum(n_tup_del)::bigint "
        "  FROM pg_stat_user_tables "
        " WHERE relname ~ '^(revenues|expenses|balances)(_partitioned.*)?$' GROUP BY 1");
    Activity out;
    for (auto row : r) {
      out[row.get<std::string>(0)] = {row.get<std::int64_t>(1), row.get<std::int64_t>(2),
                                      row.get<std::int64_t>(3), row.get<std::int64_t>(4)};
    }
    co_return out;
  });
}

// after - before, table by table.
inline Activity activity_delta(const Activity& before, const Activity& after) {
  Activity out;
  for (const auto& [name, a] : after) {
    TableActivity b;
    if (auto it = before.find(name); it != before.end()) b = it->second;
    out[name] = {a.reads - b.reads, a.inserted - b.inserted, a.updated - b.updated,
                 a.deleted - b.deleted};
  }
  return out;
}

// An idle session reports its table statistics only every 10 s, an ending one at once: after
// the server stopped, wait until no other session of the database is left.
inline void settle_statistics(const std::string& dsn) {
  for (int i = 0; i < 200; ++i) {
    if (scalar(dsn,
               "SELECT count(*) FROM pg_stat_activity "
               "WHERE datname = current_database() AND pid <> pg_backend_pid()") == 0) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "sessions of the database did not end";
}

}  // namespace folio::test
