// TokenCache on a hand-driven clock: how long each answer lives (a revoked token, a token
// created after it was looked up), which answer wins when lookups finish out of order, and
// that neither kind of entry outgrows its bound.
#include "folio/auth/token_cache.hpp"

#include <gtest/gtest.h>

#include <string>

namespace folio::auth {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Answer = std::optional<std::optional<Principal>>;

constexpr milliseconds kTtl = seconds(10);
constexpr Principal kOrgToken{Scope::org, 7, 1};
constexpr Principal kAdminToken{Scope::admin, std::nullopt, 2};

// A cached principal.
Answer known(const Principal& p) { return Answer(p); }
// A cached "no such token".
Answer unknown() { return Answer(std::in_place); }
// Not cached: the caller asks the database.
Answer miss() { return std::nullopt; }

TokenHash hash_of(int i) { return hash_token("token " + std::to_string(i)); }

class TokenCacheTest : public ::testing::Test {
 protected:
  TokenCache::Clock::time_point t0 = TokenCache::Clock::now();
};

TEST_F(TokenCacheTest, ARevokedTokenIsAcceptedUntilTheTtlAndRefusedFromThen) {
  TokenCache cache(kTtl);
  const auto token = hash_of(1);
  cache.put(token, kOrgToken, t0);
  // Revoked right after: the cached answer still stands for the rest of the TTL.
  EXPECT_EQ(cache.get(token, t0 + milliseconds(1)), known(kOrgToken));
  EXPECT_EQ(cache.get(token, t0 + kTtl - milliseconds(1)), known(kOrgToken));
  // One TTL after the database was asked, the cache no longer answers...
  EXPECT_EQ(cache.get(token, t0 + kTtl), miss());
  // ...so the caller asks again, and the refusal is what is cached now.
  cache.put(token, std::nullopt, t0 + kTtl);
  EXPECT_EQ(cache.get(token, t0 + kTtl + milliseconds(1)), unknown());
  EXPECT_EQ(cache.get(token, t0 + 2 * kTtl - milliseconds(1)), unknown());
}

TEST_F(TokenCacheTest, AnUnknownTokenThatIsCreatedIsAcceptedAfterTheTtl) {
  TokenCache cache(kTtl);
  const auto token = hash_of(1);
  cache.put(token, std::nullopt, t0);
  EXPECT_EQ(cache.get(token, t0), unknown());
  // Created now: refused for the rest of the TTL, as --token-cache-ttl-ms says.
  EXPECT_EQ(cache.get(token, t0 + kTtl - milliseconds(1)), unknown());
  EXPECT_EQ(cache.get(token, t0 + kTtl), miss());
  cache.put(token, kOrgToken, t0 + kTtl);
  EXPECT_EQ(cache.get(token, t0 + kTtl), known(kOrgToken));
  EXPECT_EQ(cache.unknown_size(), 0u);
  EXPECT_EQ(cache.known_size(), 1u);
}

TEST_F(TokenCacheTest, AnAnswerLivesOneTtlFromWhenTheDatabaseWasAsked) {
  TokenCache cache(kTtl);
  const auto token = hash_of(1);
  // Asked at t0, answered (and put) 3 s later: the answer is as old as the question.
  cache.put(token, kOrgToken, t0);
  EXPECT_EQ(cache.get(token, t0 + kTtl - milliseconds(1)), known(kOrgToken));
  EXPECT_EQ(cache.get(token, t0 + kTtl), miss());  // not t0 + 3 s + TTL
  // A query slower than the TTL leaves nothing usable behind.
  cache.put(token, kOrgToken, t0);
  EXPECT_EQ(cache.get(token, t0 + kTtl + seconds(1)), miss());
}

TEST_F(TokenCacheTest, AnOlderAnswerNeverReplacesAFresherOne) {
  TokenCache cache(kTtl);
  const auto token = hash_of(1);
  // Asked at t0 + 1 s (revoked by then); the lookup asked at t0 finishes last.
  cache.put(token, std::nullopt, t0 + seconds(1));
  cache.put(token, kOrgToken, t0);
  EXPECT_EQ(cache.get(token, t0 + seconds(2)), unknown());
  // The other way round, too.
  const auto other = hash_of(2);
  cache.put(other, kAdminToken, t0 + seconds(1));
  cache.put(other, std::nullopt, t0);
  EXPECT_EQ(cache.get(other, t0 + seconds(2)), known(kAdminToken));
  // A fresher answer replaces an older one of either kind.
  cache.put(token, kOrgToken, t0 + seconds(2));
  cache.put(other, std::nullopt, t0 + seconds(2));
  EXPECT_EQ(cache.get(token, t0 + seconds(2)), known(kOrgToken));
  EXPECT_EQ(cache.get(other, t0 + seconds(2)), unknown());
  EXPECT_EQ(cache.known_size(), 1u);
  EXPECT_EQ(cache.unknown_size(), 1u);
}

TEST_F(TokenCacheTest, RandomTokensStayWithinTheUnknownBoundAndLeaveKnownTokensAlone) {
  constexpr std::size_t kMaxUnknown = 8;
  TokenCache cache(kTtl, 100, kMaxUnknown);
  for (int i = 0; i < 3; ++i) cache.put(hash_of(i), kOrgToken, t0);
  for (int i = 1000; i < 3000; ++i) {
    cache.put(hash_of(i), std::nullopt, t0 + milliseconds(i));
    ASSERT_LE(cache.unknown_size(), kMaxUnknown) << "after " << i - 999 << " random tokens";
  }
  EXPECT_EQ(cache.unknown_size(), kMaxUnknown);
  EXPECT_EQ(cache.size(), 3u + kMaxUnknown);
  const auto now = t0 + milliseconds(3000);
  // The oldest refusals made room for the newest; the real tokens were never touched.
  EXPECT_EQ(cache.get(hash_of(1000), now), miss());
  EXPECT_EQ(cache.get(hash_of(2991), now), miss());
  for (int i = 2992; i < 3000; ++i) EXPECT_EQ(cache.get(hash_of(i), now), unknown()) << i;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(cache.get(hash_of(i), now), known(kOrgToken)) << i;
}

TEST_F(TokenCacheTest, KnownTokensStayWithinTheirBoundDroppingExpiredOnesFirst) {
  TokenCache cache(kTtl, 2, 2);
  cache.put(hash_of(1), kOrgToken, t0);
  cache.put(hash_of(2), kAdminToken, t0 + seconds(5));
  // Full; the first has expired by the time the third is asked about: it makes the room.
  cache.put(hash_of(3), kOrgToken, t0 + seconds(11));
  EXPECT_EQ(cache.known_size(), 2u);
  EXPECT_EQ(cache.get(hash_of(2), t0 + seconds(11)), known(kAdminToken));
  EXPECT_EQ(cache.get(hash_of(3), t0 + seconds(11)), known(kOrgToken));
  // Full of live entries: they all go (a bound that small is a configuration mistake).
  cache.put(hash_of(4), kOrgToken, t0 + seconds(12));
  EXPECT_LE(cache.known_size(), 2u);
  EXPECT_EQ(cache.get(hash_of(4), t0 + seconds(12)), known(kOrgToken));
}

TEST_F(TokenCacheTest, ExpiredEntriesLeaveOnTheirNextLookup) {
  TokenCache cache(kTtl);
  cache.put(hash_of(1), kOrgToken, t0);
  cache.put(hash_of(2), std::nullopt, t0);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.get(hash_of(1), t0 + kTtl), miss());
  EXPECT_EQ(cache.get(hash_of(2), t0 + kTtl), miss());
  EXPECT_EQ(cache.size(), 0u);
  cache.put(hash_of(3), std::nullopt, t0);
  cache.clear();
  EXPECT_EQ(cache.get(hash_of(3), t0), miss());
}

TEST_F(TokenCacheTest, ZeroTtlCachesNothing) {
  TokenCache off(milliseconds(0));
  off.put(hash_of(1), kOrgToken, t0);
  off.put(hash_of(2), std::nullopt, t0);
  EXPECT_EQ(off.get(hash_of(1), t0), miss());
  EXPECT_EQ(off.get(hash_of(2), t0), miss());
  EXPECT_EQ(off.size(), 0u);
}

}  // namespace
}  // namespace folio::auth
