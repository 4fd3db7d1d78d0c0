// Read replicas through the API, on a private stack (primary, streaming replica, PgBouncer):
// zero replicas, a replica stopped and restarted under read load, read-your-writes while
// the replica replays normally and while its replay is paused, and reads that follow their
// organization's own writes served by a caught-up replica (confirmed by the read itself).
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/json.hpp>
#include <iostream>

#include "infra_support.hpp"

namespace folio::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

const std::string kReplicaReads = R"(folio_db_reads_total{target="replica"})";
const std::string kPrimaryReads = R"(folio_db_reads_total{target="primary"})";
const std::string kFallbackReads = R"(folio_db_reads_total{target="primary-fallback"})";
const std::string kInRotation = "folio_replicas_in_rotation";
const std::string kRedirects = "folio_db_read_your_writes_redirects_total";
const std::string kGuardConfirmed = R"(folio_db_guarded_reads_total{result="confirmed"})";
const std::string kGuardRejected = R"(folio_db_guarded_reads_total{result="rejected"})";

std::string pnl_target(std::int64_t org) {
  return "/v1/orgs/" + std::to_string(org) + "/reports/pnl?from=" + utc_day(-90) +
         "&to=" + utc_day() + "&granularity=month";
}

// Reads of organizations that never write in the test (2..9): stale-ok, so replica reads.
Load::Request reader(const std::vector<std::string>& tokens) {
  return [tokens](HttpClient& http, int client, int i, std::string& why) {
    const std::int64_t org = 2 + (client + i) % 8;
    const std::string target = i % 2 == 0 ? pnl_target(org)
                                          : "/v1/orgs/" + std::to_string(org) +
                                                "/revenues?from=" + utc_day(-90) +
                                                "&to=" + utc_day() + "&limit=50";
    const auto res = http.request("GET", target, tokens[org]);
    if (res.status == 200) return true;
    why = target + " -> " + std::to_string(res.status) + " " + res.body;
    return false;
  };
}

std::vector<std::string> org_tokens(InfraStack& stack) {
  std::vector<std::string> tokens(10);
  for (std::int64_t org = 1; org < 10; ++org) tokens[org] = stack.token(org);
  return tokens;
}

void run_sql(const std::string& dsn, const std::string& sql) {
  run_async([&](boost::asio::io_context& io) -> boost::asio::awaitable<void> {
    auto c = co_await db::Connection::connect(io.get_executor(), dsn, std::chrono::seconds(5));
    co_await c->execute(sql);
  });
}

TEST(Replicas, ZeroReplicasReadFromThePrimary) {
  InfraStack stack;
  const auto token = stack.token(1);
  auto server = stack.start(stack.options(false, false));
  HttpClient http(server->host(), server->port());
  const auto created = http.request("POST", "/v1/orgs/1/revenues", token, revenue_today(777));
  ASSERT_EQ(created.status, 201) << created.body;
  const auto id = created.json().at("id").as_int64();
  const auto got = http.request("GET", "/v1/orgs/1/revenues/" + std::to_string(id), token);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.json().at("amount_cents").as_int64(), 777);
  EXPECT_EQ(http.request("GET", pnl_target(1), token).status, 200);

  EXPECT_EQ(scrape(*server, "folio_replicas_configured"), 0.0);
  EXPECT_EQ(scrape(*server, kInRotation), 0.0);
  EXPECT_GE(scrape(*server, kPrimaryReads), 2.0);
  EXPECT_EQ(scrape(*server, kReplicaReads), 0.0);
  const auto log = server->log();
  std::size_t said = 0;
  for (auto at = log.find("no replicas configured"); at != std::string::npos;
       at = log.find("no replicas configured", at + 1)) {
    ++said;
  }
  EXPECT_EQ(said, 1u) << log;
  EXPECT_EQ(server->stop(), 0);
}

TEST(Replicas, StoppedReplicaLeavesRotationWithoutFailedRequests) {
  InfraStack stack;
  const auto tokens = org_tokens(stack);
  auto options = stack.options(true, false);
  // Only the stop may take the replica out: on a busy machine replay can fall behind the
  // default lag limits, so they are out of reach.
  options.args = {"--statement-timeout-ms",  "2000",         "--replica-max-lag-ms", "600000",
                  "--replica-max-lag-bytes", "1099511627776"};
  auto server = stack.start(options);
  ASSERT_TRUE(until_in_rotation(*server, 1, 10s));

  // Each phase lasts until the load has shown what it is there for (polled, not slept on).
  Load load(*server, 8, reader(tokens));
  EXPECT_TRUE(until([&] { return scrape(*server, kReplicaReads) > 0; }, 30s))
      << "reads should go to the replica while it is healthy";

  stack.stack().component("stop-replica");
  const auto out = until_in_rotation(*server, 0, 10s);
  ASSERT_TRUE(out.has_value()) << "the stopped replica never left rotation";
  EXPECT_LE(out->count(), 3000) << "out of rotation after " << out->count() << " ms";
  // Reads keep going, now on the primary: 50 more requests, none failing (checked below).
  const int requests_out = load.requests();
  const double primary_reads_out = scrape(*server, kPrimaryReads);
  EXPECT_TRUE(until([&] { return load.requests() >= requests_out + 50; }, 60s))
      << "reads stalled while the replica was down";
  EXPECT_GT(scrape(*server, kPrimaryReads) + scrape(*server, kFallbackReads), primary_reads_out);

  stack.stack().component("start-replica");
  const auto back = until_in_rotation(*server, 1, 30s);
  ASSERT_TRUE(back.has_value()) << "the restarted replica never came back";
  const double replica_reads_back = scrape(*server, kReplicaReads);
  EXPECT_TRUE(until([&] { return scrape(*server, kReplicaReads) > replica_reads_back; }, 30s))
      << "no reads after its return";

  load.stop();
  EXPECT_EQ(load.failures(), 0) << load.first_failure();
  EXPECT_EQ(server->stop(), 0);
}

// Creates a revenue of org 1 and reads it back by id and through the day's balance; any
// answer that misses the write is a stale read. Returns the number of stale reads.
int write_then_read(HttpClient& http, const std::string& token, int cycles,
                    std::int64_t& expected_revenue) {
  int stale = 0;
  const std::string balances = "/v1/orgs/1/balances?from=" + utc_day() + "&to=" + utc_day();
  for (int i = 0; i < cycles; ++i) {
    const std::int64_t amount = 100 + i % 7;
    const auto created = http.request("POST", "/v1/orgs/1/revenues", token, revenue_today(amount));
    if (created.status != 201) throw std::runtime_error("create: " + created.body);
    expected_revenue += amount;
    const auto id = created.json().at("id").as_int64();
    const auto got = http.request("GET", "/v1/orgs/1/revenues/" + std::to_string(id), token);
    if (got.status != 200) ++stale;
    const auto days = http.request("GET", balances, token);
    if (days.status != 200) throw std::runtime_error("balances: " + days.body);
    const auto doc = days.json();
    const auto& items = doc.at("items").as_array();
    if (items.size() != 1 || items[0].at("revenue_cents").as_int64() != expected_revenue) {
      ++stale;
    }
  }
  return stale;
}

TEST(Replicas, ReadYourWritesWithAHealthyAndAPausedReplica) {
  InfraStack stack;
  const auto tokens = org_tokens(stack);
  auto options = stack.options(true, false);
  options.args = {"--replica-max-lag-ms", "1000"};
  auto server = stack.start(options);
  ASSERT_TRUE(until_in_rotation(*server, 1, 10s));
  HttpClient http(server->host(), server->port());
  const auto before =
      http.request("GET", "/v1/orgs/1/balances?from=" + utc_day() + "&to=" + utc_day(), tokens[1]);
  ASSERT_EQ(before.status, 200);
  const auto before_doc = before.json();
  const auto& rows = before_doc.at("items").as_array();
  std::int64_t expected = rows.empty() ? 0 : rows[0].at("revenue_cents").as_int64();

  // Other organizations read meanwhile, from the replica while it is in rotation.
  Load others(*server, 2, reader(tokens));
  EXPECT_EQ(write_then_read(http, tokens[1], 500, expected), 0) << "stale reads, healthy replica";
  const double redirects_healthy = scrape(*server, "folio_db_read_your_writes_redirects_total");
  // Org 1 reads right after its writes: each such read was either confirmed on the replica by
  // its own guard or kept on the primary.
  EXPECT_GT(redirects_healthy + scrape(*server, kGuardConfirmed), 0.0);
  EXPECT_GT(scrape(*server, kReplicaReads), 0.0);

  run_sql(stack.value("REPLICA_HEALTH_URLS"), "SELECT pg_wal_replay_pause()");
  const auto paused_at = std::chrono::steady_clock::now();
  // Writes and reads go on while the paused replica is still in rotation, until it has left
  // it (over the 1 s lag limit at a check, a second apart: about 3 s after the pause); then
  // 100 more cycles. None may read stale. Its leaving is timed from the pause and checked
  // after every cycle, so the time measured is the health loop's, give or take one cycle.
  int stale_paused = 0;
  std::optional<std::chrono::milliseconds> left_after;
  while (!left_after && std::chrono::steady_clock::now() - paused_at < 60s) {
    stale_paused += write_then_read(http, tokens[1], 1, expected);
    if (scrape(*server, kInRotation) == 0.0) {
      left_after = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - paused_at);
    }
  }
  ASSERT_TRUE(left_after.has_value()) << "the lagging replica never left rotation";
  EXPECT_LT(left_after->count(), 15000)
      << "out of rotation " << left_after->count() << " ms after replay paused (lag limit 1 s)";
  stale_paused += write_then_read(http, tokens[1], 100, expected);
  EXPECT_EQ(stale_paused, 0) << "stale reads, paused replica";
  EXPECT_GT(scrape(*server, "folio_db_read_your_writes_redirects_total"), redirects_healthy);

  run_sql(stack.value("REPLICA_HEALTH_URLS"), "SELECT pg_wal_replay_resume()");
  EXPECT_TRUE(until_in_rotation(*server, 1, 20s))
      << "the replica did not return after replay resumed";
  others.stop();
  EXPECT_EQ(others.failures(), 0) << others.first_failure();
  EXPECT_EQ(scrape(*server, kFallbackReads), 0.0);
  EXPECT_EQ(server->stop(), 0);
}

// Two instances: org 1 writes through one and reads through the other, which has no local
// record of the write and must learn its position from Redis. The replica's replay is paused,
// so a read it served would miss the write, and the lag limits are out of reach, so the
// replica stays in rotation throughout however long the 300 cycles take.
TEST(Replicas, ReadYourWritesAcrossInstancesThroughRedis) {
  InfraStack stack;
  const auto tokens = org_tokens(stack);
  auto options = stack.options(true, true);
  options.args = {"--replica-max-lag-ms", "600000", "--replica-max-lag-bytes", "1099511627776"};
  auto writer = stack.start(options);
  auto reader_server = stack.start(options);
  for (auto* server : {writer.get(), reader_server.get()}) {
    ASSERT_TRUE(until_in_rotation(*server, 1, 10s));
  }
  HttpClient to_writer(writer->host(), writer->port());
  HttpClient to_reader(reader_server->host(), reader_server->port());
  run_sql(stack.value("REPLICA_HEALTH_URLS"), "SELECT pg_wal_replay_pause()");
  int stale = 0;
  for (int i = 0; i < 300; ++i) {
    const auto created =
        to_writer.request("POST", "/v1/orgs/1/revenues", tokens[1], revenue_today(5));
    ASSERT_EQ(created.status, 201) << created.body;
    const auto id = std::to_string(created.json().at("id").as_int64());
    if (to_reader.request("GET", "/v1/orgs/1/revenues/" + id, tokens[1]).status != 200) ++stale;
  }
  EXPECT_EQ(stale, 0);
  // The replica stayed in rotation and served others meanwhile: only org 1 was redirected.
  EXPECT_EQ(scrape(*reader_server, kInRotation), 1.0);
  EXPECT_GE(scrape(*reader_server, "folio_db_read_your_writes_redirects_total"), 300.0);
  HttpClient other(reader_server->host(), reader_server->port());
  const double replica_reads = scrape(*reader_server, kReplicaReads);
  EXPECT_EQ(other.request("GET", pnl_target(2), tokens[2]).status, 200);
  EXPECT_EQ(scrape(*reader_server, kReplicaReads), replica_reads + 1);
  run_sql(stack.value("REPLICA_HEALTH_URLS"), "SELECT pg_wal_replay_resume()");
  EXPECT_EQ(writer->stop(), 0);
  EXPECT_EQ(reader_server->stop(), 0);
}

// A blocking libpq connection for the test's own look at the servers from a client thread.
class Sql {
 public:
  explicit Sql(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      const std::string error = PQerrorMessage(conn_);
      PQfinish(conn_);
      throw std::runtime_error("cannot connect: " + error);
    }
  }
  ~Sql() { PQfinish(conn_); }
  Sql(const Sql&) = delete;
  Sql& operator=(const Sql&) = delete;

  // The first value of the first row of `sql`.
  std::string value(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
    const std::string out = ok ? PQgetvalue(r, 0, 0) : PQresultErrorMessage(r);
    PQclear(r);
    if (!ok) throw std::runtime_error(sql + ": " + out);
    return out;
  }

 private:
  PGconn* conn_;
};

// Makes "the replica has caught up" certain rather than likely: returns once the replica has
// replayed everything the primary had written when called (so also every write whose
// response came before the call).
void wait_replayed(Sql& primary, Sql& replica) {
  const std::string lsn = primary.value("SELECT pg_current_wal_lsn()::text");
  const std::string caught_up = "SELECT pg_last_wal_replay_lsn() >= '" + lsn + "'::pg_lsn";
  for (int i = 0; replica.value(caught_up) != "t"; ++i) {
    if (i == 60000) throw std::runtime_error("the replica never replayed " + lsn);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Where the server's repository reads went, from its /metrics.
struct ReadCounts {
  double replica = 0, primary = 0, fallback = 0, redirects = 0, confirmed = 0, rejected = 0;

  static ReadCounts of(const ServerProcess& server) {
    return {scrape(server, kReplicaReads),   scrape(server, kPrimaryReads),
            scrape(server, kFallbackReads),  scrape(server, kRedirects),
            scrape(server, kGuardConfirmed), scrape(server, kGuardRejected)};
  }
  ReadCounts since(const ReadCounts& b) const {
    return {replica - b.replica,     primary - b.primary,     fallback - b.fallback,
            redirects - b.redirects, confirmed - b.confirmed, rejected - b.rejected};
  }
  double replica_share() const {
    const double all = replica + primary + fallback;
    return all > 0 ? replica / all : 0.0;
  }
};

std::ostream& operator<<(std::ostream& out, const ReadCounts& c) {
  return out << "replica " << c.replica << ", primary " << c.primary << ", primary-fallback "
             << c.fallback << ", redirects " << c.redirects << ", guarded confirmed " << c.confirmed
             << ", guarded rejected " << c.rejected << " (replica share " << c.replica_share() * 100
             << " %)";
}

// Organizations that read what they have just written: each client owns one organization and
// runs cycles of one write (a revenue of today) and three reads that must all see it (the
// revenue by id, the day's balance and the day's P&L), so 25 % of the requests are writes and
// every read carries a write position the router's health checks have not seen yet.
class OwnWritesLoad {
 public:
  struct Totals {
    int cycles = 0;
    int reads = 0;
    int stale = 0;
    std::string first_stale;
  };

  OwnWritesLoad(InfraStack& stack, const ServerProcess& server, std::vector<std::int64_t> orgs)
      : stack_(stack), server_(server), orgs_(std::move(orgs)) {
    for (const auto org : orgs_) tokens_.push_back(stack.token(org));
  }

  // Reads each organization's revenue of today (call once the replica has caught up with the
  // seed, or from a quiet stack): what the load's checks start from.
  void start_from_current() {
    HttpClient http(server_.host(), server_.port());
    expected_.clear();
    for (std::size_t c = 0; c < orgs_.size(); ++c) {
      const auto res = http.request("GET", balances_today(orgs_[c]), tokens_[c]);
      if (res.status != 200) throw std::runtime_error("balances: " + res.body);
      const auto doc = res.json();
      const auto& items = doc.at("items").as_array();
      expected_.push_back(items.empty() ? 0 : items[0].at("revenue_cents").as_int64());
    }
  }

  // `cycles` cycles per organization, one client thread each. With `wait_for_replica`, each
  // cycle waits after its write until the replica has replayed it, before reading.
  Totals run(int cycles, bool wait_for_replica) {
    std::vector<Totals> per_client(orgs_.size());
    std::vector<std::string> errors(orgs_.size());
    std::vector<std::thread> threads;
    for (std::size_t c = 0; c < orgs_.size(); ++c) {
      threads.emplace_back([&, c] {
        try {
          client(c, cycles, wait_for_replica, per_client[c]);
        } catch (const std::exception& e) {
          errors[c] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    Totals all;
    for (std::size_t c = 0; c < orgs_.size(); ++c) {
      if (!errors[c].empty()) throw std::runtime_error("client failed: " + errors[c]);
      all.cycles += per_client[c].cycles;
      all.reads += per_client[c].reads;
      all.stale += per_client[c].stale;
      if (all.first_stale.empty()) all.first_stale = per_client[c].first_stale;
    }
    return all;
  }

 private:
  static std::string balances_today(std::int64_t org) {
    return "/v1/orgs/" + std::to_string(org) + "/balances?from=" + utc_day() + "&to=" + utc_day();
  }

  void client(std::size_t c, int cycles, bool wait_for_replica, Totals& totals) {
    const std::int64_t org = orgs_[c];
    const std::string& token = tokens_[c];
    const std::string base = "/v1/orgs/" + std::to_string(org);
    const std::string pnl =
        base + "/reports/pnl?from=" + utc_day() + "&to=" + utc_day() + "&granularity=day";
    HttpClient http(server_.host(), server_.port(), std::chrono::seconds(60));
    std::optional<Sql> primary, replica;
    if (wait_for_replica) {
      primary.emplace(stack_.value("DATABASE_DIRECT_URL"));
      replica.emplace(stack_.value("REPLICA_DIRECT_URLS"));
    }
    auto stale = [&totals](const std::string& what) {
      if (totals.stale++ == 0) totals.first_stale = what;
    };
    for (int i = 0; i < cycles; ++i) {
      const std::int64_t amount = 100 + (i % 7);
      const auto created = http.request("POST", base + "/revenues", token, revenue_today(amount));
      if (created.status != 201) throw std::runtime_error("create: " + created.body);
      expected_[c] += amount;
      const std::string id = std::to_string(created.json().at("id").as_int64());
      if (wait_for_replica) wait_replayed(*primary, *replica);

      const auto got = http.request("GET", base + "/revenues/" + id, token);
      if (got.status != 200 || got.json().at("amount_cents").as_int64() != amount) {
        stale("revenue " + id + " -> " + std::to_string(got.status) + " " + got.body);
      }
      for (const std::string& target : {balances_today(org), pnl}) {
        const auto res = http.request("GET", target, token);
        if (res.status != 200) throw std::runtime_error(target + ": " + res.body);
        const auto doc = res.json();
        const auto& items = doc.at("items").as_array();
        if (items.size() != 1 || items[0].at("revenue_cents").as_int64() != expected_[c]) {
          stale(target + " -> " + res.body + ", expected revenue_cents " +
                std::to_string(expected_[c]));
        }
      }
      totals.reads += 3;
      ++totals.cycles;
    }
  }

  InfraStack& stack_;
  const ServerProcess& server_;
  std::vector<std::int64_t> orgs_;
  std::vector<std::string> tokens_;
  std::vector<std::int64_t> expected_;  // per client: the organization's revenue of today
};

// The replica serves the reads that follow their organization's own writes as soon as it has
// replayed them, without waiting for the next health check to learn so: each such read runs
// a guard on the replica in its own transaction. Staleness is forced, not hoped for: in the
// first phase every read waits until the replica has replayed the write (so at least 80 % of
// the reads must be served by the replica: without the guard nearly none are, the health
// checks' view of the replica being up to a second old), in the last phase replay is paused
// (so none may be, and every read must still see its write). The lag limits are out of reach,
// so the paused replica stays in rotation and only the guard keeps reads off it.
TEST(Replicas, ReadsAfterOwnWritesUseTheCaughtUpReplicaWithoutStaleReads) {
  InfraStack stack;
  auto options = stack.options(true, false);
  options.args = {"--replica-max-lag-ms", "600000", "--replica-max-lag-bytes", "1099511627776"};
  auto server = stack.start(options);
  ASSERT_TRUE(until_in_rotation(*server, 1, 10s));
  {
    Sql primary(stack.value("DATABASE_DIRECT_URL"));
    Sql replica(stack.value("REPLICA_DIRECT_URLS"));
    wait_replayed(primary, replica);  // the seed, so the starting balances read anywhere agree
  }
  OwnWritesLoad load(stack, *server, {11, 12, 13, 14});
  load.start_from_current();

  // 1. The replica has replayed every write before its reads: they belong on the replica.
  const ReadCounts before_caught_up = ReadCounts::of(*server);
  const auto caught_up = load.run(60, /*wait_for_replica=*/true);
  const ReadCounts on_caught_up = ReadCounts::of(*server).since(before_caught_up);
  std::cout << "caught-up replica: " << caught_up.cycles << " writes, " << caught_up.reads
            << " reads, " << caught_up.stale << " stale; " << on_caught_up << "\n";
  EXPECT_EQ(caught_up.stale, 0) << caught_up.first_stale;
  EXPECT_GE(on_caught_up.replica_share(), 0.8) << on_caught_up;
  EXPECT_GE(on_caught_up.replica + on_caught_up.primary + on_caught_up.fallback,
            static_cast<double>(caught_up.reads));
  EXPECT_EQ(on_caught_up.fallback, 0.0);

  // 2. The same load without waiting: however fast the replica replays, no read is stale.
  // (The share is reported, not judged: it depends on how fast the replica replays here.)
  const ReadCounts before_natural = ReadCounts::of(*server);
  const auto natural = load.run(40, /*wait_for_replica=*/false);
  const ReadCounts on_natural = ReadCounts::of(*server).since(before_natural);
  std::cout << "replica replaying on its own: " << natural.cycles << " writes, " << natural.reads
            << " reads, " << natural.stale << " stale; " << on_natural << "\n";
  EXPECT_EQ(natural.stale, 0) << natural.first_stale;

  // 3. Replay paused: every write now lies past the replica's position, so every read must
  // come from the primary, fresh, although the replica stays in rotation.
  Sql replica(stack.value("REPLICA_DIRECT_URLS"));
  replica.value("SELECT pg_wal_replay_pause()");
  for (int i = 0; replica.value("SELECT pg_get_wal_replay_pause_state()") != "paused"; ++i) {
    ASSERT_LT(i, 30000) << "replay did not pause";
    std::this_thread::sleep_for(1ms);
  }
  const ReadCounts before_paused = ReadCounts::of(*server);
  const auto paused = load.run(25, /*wait_for_replica=*/false);
  const ReadCounts on_paused = ReadCounts::of(*server).since(before_paused);
  std::cout << "paused replica: " << paused.cycles << " writes, " << paused.reads << " reads, "
            << paused.stale << " stale; " << on_paused << "\n";
  EXPECT_EQ(paused.stale, 0) << paused.first_stale;
  EXPECT_EQ(on_paused.replica, 0.0) << on_paused;
  EXPECT_GE(on_paused.primary, static_cast<double>(paused.reads)) << on_paused;
  EXPECT_GE(on_paused.redirects, static_cast<double>(paused.reads)) << on_paused;
  EXPECT_EQ(on_paused.fallback, 0.0);
  EXPECT_EQ(scrape(*server, kInRotation), 1.0);
  replica.value("SELECT pg_wal_replay_resume()");
  EXPECT_EQ(server->stop(), 0);
}

}  // namespace
}  // namespace folio::test
