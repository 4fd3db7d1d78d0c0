// Replica selection without a database: the policies, WAL positions, REPLICA_URLS parsing,
// the rotation rules of the ReplicaManager, which replicas a read may use, and the verdict of
// a replica read's guard.
#include "folio/db/selection_policy.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "../../src/db/detail/replica_choice.hpp"
#include "../../src/db/detail/replica_rotation.hpp"
#include "folio/db/lsn.hpp"
#include "folio/db/read_guard.hpp"
#include "folio/db/replica_manager.hpp"

namespace folio::db {
namespace {

using std::chrono::microseconds;

std::vector<ReplicaCandidate> candidates(std::initializer_list<long> rtts_us) {
  std::vector<ReplicaCandidate> out;
  std::size_t index = 10;  // .index differs from the position on purpose
  for (const long rtt : rtts_us) out.push_back({index++, microseconds(rtt)});
  return out;
}

// How often each position was picked in `picks` calls.
std::map<std::size_t, int> tally(SelectionPolicy& policy, const std::vector<ReplicaCandidate>& c,
                                 int picks) {
  std::map<std::size_t, int> counts;
  for (int i = 0; i < picks; ++i) {
    const std::size_t pos = policy.pick(c);
    EXPECT_LT(pos, c.size());
    ++counts[pos];
  }
  return counts;
}

TEST(RoundRobin, CyclesEvenlyOverTheCandidates) {
  auto policy = make_round_robin_policy();
  EXPECT_EQ(policy->name(), "round-robin");
  const auto c = candidates({500, 100, 900});
  std::vector<std::size_t> first;
  first.reserve(6);
  for (int i = 0; i < 6; ++i) first.push_back(policy->pick(c));
  EXPECT_EQ(first, (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(tally(*policy, c, 300), (std::map<std::size_t, int>{{0, 100}, {1, 100}, {2, 100}}));
}

TEST(RoundRobin, StaysEvenWhenTheCandidateListChanges) {
  auto policy = make_round_robin_policy();
  const auto three = candidates({1, 1, 1});
  const auto two = candidates({1, 1});
  const auto one = candidates({1});
  EXPECT_EQ(tally(*policy, three, 30), (std::map<std::size_t, int>{{0, 10}, {1, 10}, {2, 10}}));
  EXPECT_EQ(tally(*policy, two, 20), (std::map<std::size_t, int>{{0, 10}, {1, 10}}));
  EXPECT_EQ(tally(*policy, one, 5), (std::map<std::size_t, int>{{0, 5}}));
  EXPECT_EQ(tally(*policy, three, 30), (std::map<std::size_t, int>{{0, 10}, {1, 10}, {2, 10}}));
}

TEST(LowestRtt, PicksTheFastest) {
  auto policy = make_lowest_rtt_policy();
  EXPECT_EQ(policy->name(), "lowest-rtt");
  EXPECT_EQ(tally(*policy, candidates({5000, 1000, 3000}), 50),
            (std::map<std::size_t, int>{{1, 50}}));
  EXPECT_EQ(tally(*policy, candidates({700}), 5), (std::map<std::size_t, int>{{0, 5}}));
}

TEST(LowestRtt, SharesAmongCandidatesWithinTheTolerance) {
  auto policy = make_lowest_rtt_policy(0.2);
  // 1000us fastest: up to 1200us counts as equal; 1300 and 5000 do not.
  EXPECT_EQ(tally(*policy, candidates({5000, 1000, 1200, 1300}), 100),
            (std::map<std::size_t, int>{{1, 50}, {2, 50}}));
  // At least 100us absolute: 100 and 190 are equal although 190 is 90% slower.
  EXPECT_EQ(tally(*policy, candidates({190, 100, 201}), 40),
            (std::map<std::size_t, int>{{0, 20}, {1, 20}}));
  // A zero tolerance keeps the 100us floor; a huge one makes everything equal (and does not
  // overflow).
  auto strict = make_lowest_rtt_policy(0.0);
  EXPECT_EQ(tally(*strict, candidates({10000, 10050, 10200}), 20),
            (std::map<std::size_t, int>{{0, 10}, {1, 10}}));
  auto loose = make_lowest_rtt_policy(1e300);
  EXPECT_EQ(tally(*loose, candidates({1000, 100000000}), 20),
            (std::map<std::size_t, int>{{0, 10}, {1, 10}}));
}

// Picks from many threads at once: every pick lands on a valid position and the shared
// counter hands out each turn exactly once, so the totals are exact.
void expect_exact_concurrent_totals(SelectionPolicy& policy, const std::vector<ReplicaCandidate>& c,
                                    const std::vector<int>& expected_per_position) {
  constexpr int kThreads = 8;
  constexpr int kPicksPerThread = 10000;
  std::vector<std::atomic<int>> counts(c.size());
  std::atomic<int> out_of_range{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPicksPerThread; ++i) {
        const std::size_t pos = policy.pick(c);
        if (pos >= c.size()) {
          ++out_of_range;
        } else {
          ++counts[pos];
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(out_of_range.load(), 0);
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(counts[i].load(), expected_per_position[i]) << "position " << i;
  }
}

TEST(SelectionPolicies, ConcurrentPicksGiveExactTotals) {
  auto round_robin = make_round_robin_policy();
  expect_exact_concurrent_totals(*round_robin, candidates({1, 2, 3, 4}),
                                 {20000, 20000, 20000, 20000});
  auto lowest = make_lowest_rtt_policy();
  expect_exact_concurrent_totals(*lowest, candidates({2000, 1000, 1100, 1000}),
                                 {0, 80000 / 3 + 1, 80000 / 3 + 1, 80000 / 3});
}

TEST(SelectionPolicies, MadeByName) {
  EXPECT_EQ(make_selection_policy("round-robin")->name(), "round-robin");
  EXPECT_EQ(make_selection_policy("lowest-rtt")->name(), "lowest-rtt");
  for (const char* bad : {"", "random", "Round-Robin", "lowest_rtt"}) {
    try {
      make_selection_policy(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("\"round-robin\""), std::string::npos) << message;
      EXPECT_NE(message.find("\"lowest-rtt\""), std::string::npos) << message;
    }
  }
}

TEST(Lsn, ParsesAndFormatsLikePostgres) {
  EXPECT_EQ(parse_lsn("16/B374D848"), std::optional<Lsn>(0x16B374D848ull));
  EXPECT_EQ(parse_lsn("16/b374d848"), std::optional<Lsn>(0x16B374D848ull));
  EXPECT_EQ(parse_lsn("0/0"), std::optional<Lsn>(0));
  EXPECT_EQ(parse_lsn("0/1"), std::optional<Lsn>(1));
  EXPECT_EQ(parse_lsn("1/0"), std::optional<Lsn>(1ull << 32));
  EXPECT_EQ(parse_lsn("FFFFFFFF/FFFFFFFF"), std::optional<Lsn>(~0ull));
  EXPECT_EQ(parse_lsn("00000001/0000000A"), std::optional<Lsn>((1ull << 32) | 10));
  EXPECT_EQ(format_lsn(0x16B374D848ull), "16/B374D848");
  EXPECT_EQ(format_lsn(0), "0/0");
  EXPECT_EQ(format_lsn(~0ull), "FFFFFFFF/FFFFFFFF");
  EXPECT_EQ(format_lsn((1ull << 32) | 10), "1/A");
  for (const Lsn v : {0ull, 1ull, 0xABCDEFull, 0x100000000ull, 0x7FFFFFFF80000000ull, ~0ull}) {
    EXPECT_EQ(parse_lsn(format_lsn(v)), std::optional<Lsn>(v)) << v;
  }
  // Numeric order, not text order: "9/0" < "10/0".
  EXPECT_LT(*parse_lsn("9/FFFFFFFF"), *parse_lsn("A/0"));
}

TEST(Lsn, RejectsMalformedText) {
  for (const char* bad : {"", "/", "16/", "/1", "16B374D848", "1/2/3", "G/1", "1/G", "123456789/0",
                          "0/123456789", " 1/2", "1/2 ", "-1/2", "+1/2", "0x1/2", "1 /2"}) {
    EXPECT_EQ(parse_lsn(bad), std::nullopt) << "'" << bad << "'";
  }
}

TEST(ReplicaUrls, EmptyOrBlankMeansNoReplicas) {
  EXPECT_TRUE(parse_replica_urls("").empty());
  EXPECT_TRUE(parse_replica_urls("  \t ").empty());
  EXPECT_TRUE(parse_replica_urls("", " ").empty());
}

TEST(ReplicaUrls, NamesComeFromTheUrlWithoutThePassword) {
  const auto r = parse_replica_urls(
      "  postgresql://folio:s3cret@10.0.0.7:6432/folio_replica ,"
      "host=db-r2 port=5433 dbname=reads user=folio password=s3cret  ");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].name, "10.0.0.7:6432/folio_replica");
  EXPECT_EQ(r[0].dsn, "postgresql://folio:s3cret@10.0.0.7:6432/folio_replica");
  EXPECT_EQ(r[0].health_dsn, "");
  EXPECT_EQ(r[1].name, "db-r2:5433/reads");
  EXPECT_EQ(r[1].dsn, "host=db-r2 port=5433 dbname=reads user=folio password=s3cret");
  // Defaults: port 5432, database = user.
  const auto d = parse_replica_urls("postgresql://app@replica.internal");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].name, "replica.internal:5432/app");
}

TEST(ReplicaUrls, HealthUrlsPairUpAndDuplicatesAreNumbered) {
  const auto r = parse_replica_urls(
      "postgresql://u:pw@bouncer:6432/folio_replica, postgresql://u:pw@bouncer:6432/folio_replica,"
      "postgresql://u:pw@bouncer:6432/folio_replica",
      "postgresql://u:pw@r1:5432/folio,postgresql://u:pw@r2:5432/folio,"
      "postgresql://u:pw@r3:5432/folio");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].name, "bouncer:6432/folio_replica");
  EXPECT_EQ(r[1].name, "bouncer:6432/folio_replica#2");
  EXPECT_EQ(r[2].name, "bouncer:6432/folio_replica#3");
  EXPECT_EQ(r[1].health_dsn, "postgresql://u:pw@r2:5432/folio");
}

void expect_rejected(std::string_view urls, std::string_view health, std::string_view mentions) {
  try {
    parse_replica_urls(urls, health);
    ADD_FAILURE() << "accepted " << urls << " / " << health;
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
    EXPECT_NE(message.find(mentions), std::string::npos) << message;
  }
}

TEST(ReplicaUrls, RejectsBadListsWithoutShowingPasswords) {
  expect_rejected("postgresql://u:s3cret@a/db,postgresql://u:s3cret@b/db",
                  "postgresql://u:s3cret@ra/db", "REPLICA_HEALTH_URLS lists 1");
  expect_rejected("postgresql://u:s3cret@a/db,,postgresql://u:s3cret@b/db", "", "item 2 is empty");
  expect_rejected("postgresql://u:s3cret@a/db,", "", "item 2 is empty");
  expect_rejected("postgresql://u:s3cret@a/db, not a dsn s3cret", "", "item 2 is neither");
  expect_rejected("postgresql://u:s3cret%zz@a/db", "", "item 1 is neither");
  expect_rejected("postgresql://u:s3cret@a/db", "host=x password=s3cret nonsense", "item 1");
}

// The rotation rules, one check at a time.
class Rotation : public ::testing::Test {
 protected:
  detail::Transition check(bool reachable, bool in_recovery, std::uint64_t lag_bytes,
                           double lag_seconds, bool first_round = false,
                           bool lag_bytes_known = true) {
    status.reachable = reachable;
    status.in_recovery = in_recovery;
    status.lag_bytes = lag_bytes;
    status.lag_seconds = lag_seconds;
    const auto verdict = detail::judge(status, "connection refused", lag_bytes_known, options);
    return detail::apply_verdict(state, status, verdict, first_round, options);
  }

  ReplicaHealthOptions options = [] {
    ReplicaHealthOptions o;
    o.max_lag_bytes = 1000;
    o.max_lag = std::chrono::milliseconds(2000);
    o.rejoin_after = 3;
    o.rejoin_lag_fraction = 0.5;
    return o;
  }();
  detail::RotationState state;
  ReplicaStatus status;
};

using detail::Transition;

TEST_F(Rotation, HealthyInTheFirstRoundJoinsAtOnce) {
  EXPECT_EQ(check(true, true, 900, 1.5, /*first_round=*/true), Transition::kJoined);
  EXPECT_TRUE(status.in_rotation);
  EXPECT_EQ(status.last_error, "");
}

TEST_F(Rotation, LeavesAtTheFirstUnhealthyCheckAndRejoinsAfterEnoughGoodOnes) {
  check(true, true, 0, 0, true);
  EXPECT_EQ(check(true, true, 1001, 0), Transition::kLeft);
  EXPECT_FALSE(status.in_rotation);
  EXPECT_NE(status.last_error.find("1001 bytes"), std::string::npos) << status.last_error;
  EXPECT_EQ(check(true, true, 100, 0), Transition::kNone);
  EXPECT_EQ(check(true, true, 100, 0), Transition::kNone);
  EXPECT_NE(status.last_error.find("2 of 3"), std::string::npos) << status.last_error;
  // Healthy but above half the limit: the streak starts over.
  EXPECT_EQ(check(true, true, 600, 0), Transition::kNone);
  EXPECT_FALSE(status.in_rotation);
  EXPECT_EQ(check(true, true, 100, 0.9), Transition::kNone);
  EXPECT_EQ(check(true, true, 100, 0.9), Transition::kNone);
  EXPECT_EQ(check(true, true, 100, 0.9), Transition::kJoined);
  EXPECT_TRUE(status.in_rotation);
  EXPECT_EQ(status.last_error, "");
  EXPECT_EQ(check(true, true, 0, 2.5), Transition::kLeft);
  EXPECT_NE(status.last_error.find("2.500 s"), std::string::npos) << status.last_error;
  EXPECT_EQ(check(false, true, 0, 0), Transition::kNone);
  EXPECT_NE(status.last_error.find("connection refused"), std::string::npos);
}

TEST_F(Rotation, APromotedServerNeverJoins) {
  EXPECT_EQ(check(true, false, 0, 0, true), Transition::kStayedOut);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(check(true, false, 0, 0), Transition::kNone);
  EXPECT_FALSE(status.in_rotation);
  EXPECT_NE(status.last_error.find("not in recovery"), std::string::npos) << status.last_error;
}

TEST_F(Rotation, UnknownByteLagIsNotJudged) {
  check(true, true, 0, 0, true);
  EXPECT_EQ(check(true, true, 5000, 0, false, /*lag_bytes_known=*/false), Transition::kNone);
  EXPECT_TRUE(status.in_rotation);
}

TEST_F(Rotation, AReportedFailureTakesItOutAndCountsAsUnhealthy) {
  check(true, true, 0, 0, true);
  EXPECT_EQ(detail::apply_failure(state, status, "read failed: EOF"), Transition::kLeft);
  EXPECT_FALSE(status.in_rotation);
  EXPECT_EQ(status.last_error, "read failed: EOF");
  EXPECT_EQ(check(true, true, 0, 0), Transition::kNone);
  EXPECT_EQ(check(true, true, 0, 0), Transition::kNone);
  EXPECT_EQ(check(true, true, 0, 0), Transition::kJoined);
}

TEST(ReplayLag, IsZeroWhenCaughtUpElseTheCommitAgeElseTheObservedStall) {
  detail::StallClock stall;
  const auto t0 = detail::StallClock::Clock::now();
  EXPECT_EQ(detail::replay_lag_seconds(stall, false, 120.0, 100, t0), 0.0);
  EXPECT_EQ(detail::replay_lag_seconds(stall, true, 7.5, 100, t0), 7.5);
  // No replayed commit to date the position: measure how long it stands still.
  EXPECT_EQ(detail::replay_lag_seconds(stall, true, std::nullopt, 100, t0), 0.0);
  EXPECT_DOUBLE_EQ(
      detail::replay_lag_seconds(stall, true, std::nullopt, 100, t0 + std::chrono::seconds(3)),
      3.0);
  // Replay moved: the stall starts over.
  EXPECT_EQ(
      detail::replay_lag_seconds(stall, true, std::nullopt, 200, t0 + std::chrono::seconds(4)),
      0.0);
  EXPECT_DOUBLE_EQ(
      detail::replay_lag_seconds(stall, true, std::nullopt, 200, t0 + std::chrono::seconds(6)),
      2.0);
  // Caught up in between: also over.
  EXPECT_EQ(
      detail::replay_lag_seconds(stall, false, std::nullopt, 200, t0 + std::chrono::seconds(7)),
      0.0);
  EXPECT_EQ(
      detail::replay_lag_seconds(stall, true, std::nullopt, 200, t0 + std::chrono::seconds(8)),
      0.0);
}

TEST(ReplayLag, FromPrimarySamplesIsTheAgeOfTheOldestPositionNotYetReplayed) {
  using std::chrono::seconds;
  detail::PrimarySamples samples(std::chrono::milliseconds(20000));
  const auto t0 = detail::PrimarySamples::Clock::now();
  // An idle primary: the position does not move, the replica has it all.
  samples.add(t0, 1000);
  samples.add(t0 + seconds(1), 1000);
  EXPECT_EQ(samples.lag_seconds(1000, t0 + seconds(2)), 0.0);
  // A write after a quiet hour: the replica briefly behind is a few ms behind, not an hour.
  samples.add(t0 + seconds(2), 1500);
  EXPECT_DOUBLE_EQ(samples.lag_seconds(1000, t0 + seconds(2)), 0.0);
  // Replay stopped at 1000 while the primary moved on: the lag grows from the first sample
  // past it.
  samples.add(t0 + seconds(3), 1800);
  EXPECT_DOUBLE_EQ(samples.lag_seconds(1000, t0 + seconds(5)), 3.0);
  EXPECT_DOUBLE_EQ(samples.lag_seconds(1500, t0 + seconds(5)), 2.0);
  EXPECT_EQ(samples.lag_seconds(1800, t0 + seconds(5)), 0.0);
  // Samples older than `keep` are dropped but the newest of them: a replica stuck for long
  // still reads as far behind.
  samples.add(t0 + seconds(40), 1800);
  EXPECT_DOUBLE_EQ(samples.lag_seconds(1000, t0 + seconds(41)), 38.0);
  EXPECT_EQ(samples.lag_seconds(1800, t0 + seconds(41)), 0.0);
}

// The positions (in the candidate list) eligible_replicas() wrote, and whether confirmed.
std::pair<std::vector<std::size_t>, bool> eligible(const std::vector<detail::ReplayView>& views,
                                                   std::optional<Lsn> min_lsn,
                                                   Unconfirmed unconfirmed) {
  std::vector<ReplicaCandidate> c;
  for (std::size_t i = 0; i < views.size(); ++i) c.push_back({10 + i, microseconds(100)});
  std::vector<ReplicaCandidate> out(c.size());
  const auto e = detail::eligible_replicas(c, views, min_lsn, unconfirmed, out.data());
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < e.count; ++i) positions.push_back(out[i].index - 10);
  return {positions, e.confirmed};
}

using Positions = std::vector<std::size_t>;

TEST(EligibleReplicas, WithoutAPositionEveryCandidateIsConfirmed) {
  const std::vector<detail::ReplayView> views{{100, false}, {0, true}};
  for (const auto mode : {Unconfirmed::exclude, Unconfirmed::allow}) {
    EXPECT_EQ(eligible(views, std::nullopt, mode), std::make_pair(Positions{0, 1}, true));
  }
  EXPECT_EQ(eligible({}, std::nullopt, Unconfirmed::allow), std::make_pair(Positions{}, true));
}

TEST(EligibleReplicas, ThoseKnownCaughtUpComeFirstPausedOrNot) {
  const std::vector<detail::ReplayView> views{{500, false}, {900, true}, {1000, false}};
  for (const auto mode : {Unconfirmed::exclude, Unconfirmed::allow}) {
    EXPECT_EQ(eligible(views, 900, mode), std::make_pair(Positions{1, 2}, true));
    EXPECT_EQ(eligible(views, 1000, mode), std::make_pair(Positions{2}, true));
    EXPECT_EQ(eligible(views, 0, mode), std::make_pair(Positions{0, 1, 2}, true));
  }
}

TEST(EligibleReplicas, NoneCaughtUpUnconfirmedOnlyWhenAllowedAndNotPaused) {
  const std::vector<detail::ReplayView> views{{500, false}, {900, true}, {800, false}};
  EXPECT_EQ(eligible(views, 1000, Unconfirmed::exclude), std::make_pair(Positions{}, false));
  EXPECT_EQ(eligible(views, 1000, Unconfirmed::allow), std::make_pair(Positions{0, 2}, false));
  const std::vector<detail::ReplayView> all_paused{{500, true}, {900, true}};
  EXPECT_EQ(eligible(all_paused, 1000, Unconfirmed::allow), std::make_pair(Positions{}, false));
}

TEST(EligibleReplicas, TheLargestPositionMeansUnknownAndIsNeverTried) {
  const Lsn unknown = std::numeric_limits<Lsn>::max();
  const std::vector<detail::ReplayView> views{{500, false}, {900, false}};
  EXPECT_EQ(eligible(views, unknown, Unconfirmed::allow), std::make_pair(Positions{}, false));
  EXPECT_EQ(eligible(views, unknown - 1, Unconfirmed::allow),
            std::make_pair(Positions{0, 1}, false));
}

GuardAnswer standby(std::optional<Lsn> replay, bool paused = false, bool read_committed = true) {
  return GuardAnswer{.in_recovery = true,
                     .replay_lsn = replay,
                     .replay_paused = paused,
                     .read_committed = read_committed};
}

TEST(ReadGuard, ConfirmsAStandbyUnderReadCommittedThatReplayedThePosition) {
  EXPECT_TRUE(confirms(standby(1000), 1000));
  EXPECT_TRUE(confirms(standby(1001), 1000));
  EXPECT_TRUE(confirms(standby(1001, /*paused=*/true), 1000));  // paused past it: still fine
  EXPECT_FALSE(confirms(standby(999), 1000));
  EXPECT_FALSE(confirms(standby(std::nullopt), 0));
  // Under REPEATABLE READ the reads' snapshot may predate the guard.
  EXPECT_FALSE(confirms(standby(5000, false, /*read_committed=*/false), 1000));
  // A promoted server (its replay position stands still) or a primary.
  GuardAnswer primary = standby(5000);
  primary.in_recovery = false;
  EXPECT_FALSE(confirms(primary, 1000));
}

TEST(ReadGuard, PassesWhenNotRequiredElseOnlyOnceConfirmed) {
  ReadGuard none;
  EXPECT_FALSE(none.required());
  EXPECT_TRUE(none.passed());
  EXPECT_EQ(none.answer(), std::nullopt);

  ReadGuard guard(Lsn{0x1'0000'0000});
  EXPECT_TRUE(guard.required());
  EXPECT_FALSE(guard.passed());  // never confirmed: the read must not be served
  guard.confirm(standby(0xFFFF'FFFF));
  EXPECT_FALSE(guard.passed());
  ASSERT_TRUE(guard.answer().has_value());
  EXPECT_EQ(guard.answer()->replay_lsn, std::optional<Lsn>(0xFFFF'FFFF));
  guard.confirm(standby(0x1'0000'0000));
  EXPECT_TRUE(guard.passed());
  guard.confirm(Result{});  // not the guard's result (no rows): not confirmed, nothing learned
  EXPECT_FALSE(guard.passed());
  EXPECT_EQ(guard.answer(), std::nullopt);

  const Statement statement = ReadGuard::statement();
  EXPECT_EQ(statement.params.size(), 0u);
  EXPECT_NE(statement.sql.find("pg_last_wal_replay_lsn()"), std::string::npos);
}

}  // namespace
}  // namespace folio::db
