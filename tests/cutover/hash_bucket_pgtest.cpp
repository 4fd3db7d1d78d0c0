// hash_bucket_sql must name the hash partition PostgreSQL itself puts a row in: verification
// compares a legacy row's bucket with its partitioned copy's leaf. Checked against real leaves
// for many org ids (negative, zero, the extremes, random ones), for the prepared modulus 16
// and for moduli that are not powers of two, where 2^64 mod m != 0 and the wrap-around branch
// of the computation matters.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "folio/cutover/schema.hpp"
#include "folio/cutover/tables.hpp"
#include "support/cutover_database.hpp"

namespace folio::cutover {
namespace {

namespace asio = boost::asio;

std::vector<std::int64_t> org_ids() {
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  std::vector<std::int64_t> ids = {0,
                                   1,
                                   -1,
                                   2,
                                   -2,
                                   3,
                                   7,
                                   16,
                                   42,
                                   1000,
                                   1000000,
                                   -1000000,
                                   kMin,
                                   kMin + 1,
                                   kMax,
                                   kMax - 1,
                                   1LL << 32,
                                   -(1LL << 32),
                                   1LL << 62,
                                   -(1LL << 62),
                                   123456789012345LL,
                                   -98765432109876LL};
  std::mt19937_64 random(20261021);
  for (int i = 0; i < 400; ++i) ids.push_back(static_cast<std::int64_t>(random()));
  for (std::int64_t i = 1; i <= 200; ++i) ids.push_back(i);  // the dense ids a seed produces
  return ids;
}

std::string array_literal(const std::vector<std::int64_t>& ids) {
  return fmt::format("{{{}}}", fmt::join(ids, ","));
}

// The remainder at the end of a leaf name: ..._h07 -> 7, hb7_3 -> 3.
int remainder_of(const std::string& leaf, char separator) {
  return std::stoi(leaf.substr(leaf.rfind(separator) + 1));
}

struct Landing {
  std::int64_t org;
  int leaf_remainder;
  int computed;
};

// Inserts one row per org id through `insert_sql` ($1: the ids as bigint[]; returns org_id,
// leaf name, computed bucket) and reads where each landed.
std::vector<Landing> land(const std::string& dsn, const std::string& setup,
                          const std::string& insert_sql, char separator) {
  return test::run_async([&](asio::io_context& io) -> asio::awaitable<std::vector<Landing>> {
    auto c = co_await db::Connection::connect(io.get_executor(), dsn, std::chrono::seconds(5));
    if (!setup.empty()) co_await c->execute_script(setup);
    std::vector<Landing> out;
    for (const auto& row : co_await c->query(insert_sql, array_literal(org_ids()))) {
      out.push_back({row.get<std::int64_t>(0), remainder_of(row.get<std::string>(1), separator),
                     static_cast<int>(row.get<std::int64_t>(2))});
    }
    co_return out;
  });
}

class HashBucketTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new test::CutoverDatabase("hash_bucket");
    test::run_async([](asio::io_context& io) -> asio::awaitable<void> {
      db::Pool pool(io.get_executor(), {.dsn = db_->dsn(), .max_size = 2});
      PrepareOptions options;
      options.hash_modulus = 16;
      co_await prepare(pool, options);
      EXPECT_EQ(co_await partitioned_modulus(pool), 16);
    });
  }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
  }
  static test::CutoverDatabase* db_;
};
test::CutoverDatabase* HashBucketTest::db_ = nullptr;

TEST_F(HashBucketTest, MatchesTheLeafOfThePreparedTables) {
  // Rows of this month land in a leaf named revenues_partitioned_yYYYYmMM_hRR.
  const auto landed =
      land(db_->dsn(), "",
           fmt::format("INSERT INTO revenues_partitioned (id, org_id, category, amount_cents, "
                       "currency, occurred_at) SELECT g.i, g.org, 'room', 1, 'EUR', now() "
                       "FROM unnest($1::bigint[]) WITH ORDINALITY g(org, i) "
                       "RETURNING org_id, tableoid::regclass::text, {}",
                       hash_bucket_sql("org_id", 16)),
           'h');
  ASSERT_EQ(landed.size(), org_ids().size());
  std::set<int> leaves;
  for (const auto& l : landed) {
    EXPECT_EQ(l.computed, l.leaf_remainder) << "org_id " << l.org;
    leaves.insert(l.leaf_remainder);
  }
  EXPECT_EQ(leaves.size(), 16u);  // every leaf was hit
}

TEST_F(HashBucketTest, MatchesLeavesOfOtherModuli) {
  for (const int modulus : {7, 10, 3, 64, 1}) {
    const std::string table = fmt::format("hb{}", modulus);
    std::string setup =
        fmt::format("CREATE TABLE {0} (org_id bigint NOT NULL) PARTITION BY HASH (org_id);", table);
    for (int r = 0; r < modulus; ++r) {
      setup += fmt::format(
          "CREATE TABLE {0}_{1} PARTITION OF {0} FOR VALUES WITH (MODULUS {2}, REMAINDER {1});",
          table, r, modulus);
    }
    const auto landed = land(db_->dsn(), setup,
                             fmt::format("INSERT INTO {} (org_id) SELECT unnest($1::bigint[]) "
                                         "RETURNING org_id, tableoid::regclass::text, {}",
                                         table, hash_bucket_sql("org_id", modulus)),
                             '_');
    ASSERT_EQ(landed.size(), org_ids().size()) << modulus;
    std::set<int> leaves;
    for (const auto& l : landed) {
      EXPECT_EQ(l.computed, l.leaf_remainder) << "modulus " << modulus << " org_id " << l.org;
      leaves.insert(l.leaf_remainder);
    }
    EXPECT_EQ(static_cast<int>(leaves.size()), modulus);
  }
}

TEST_F(HashBucketTest, AgreesWithSatisfiesHashPartitionAndCoversTheWrapAround) {
  // satisfies_hash_partition applies the parent's hash function with any modulus, so a month
  // table of the prepared schema (HASH (org_id), modulus 16) checks modulus 7 as well.
  const std::string check = fmt::format(
      "SELECT count(*) FILTER (WHERE NOT satisfies_hash_partition(p.oid, 7, ({0})::int, o)), "
      "count(*) FILTER (WHERE satisfies_hash_partition(p.oid, 7, (({0}) + 1)::int % 7, o)), "
      "count(*), "
      // hashint8extended(org, seed) + combine constant overflows 2^63 for these: the branch
      // that adds 2^64 mod m.
      "count(*) FILTER (WHERE hashint8extended(o, 8816678312871386365) < -5305509591434766563) "
      "FROM unnest($1::bigint[]) o, (SELECT c.oid FROM pg_inherits i JOIN pg_class c ON "
      "c.oid = i.inhrelid WHERE i.inhparent = 'revenues_partitioned'::regclass AND c.relname "
      "<> 'revenues_partitioned_default' LIMIT 1) p",
      hash_bucket_sql("o", 7));
  test::run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    auto c =
        co_await db::Connection::connect(io.get_executor(), db_->dsn(), std::chrono::seconds(5));
    const auto r = co_await c->query(check, array_literal(org_ids()));
    EXPECT_EQ(r.front().get<std::int64_t>(0), 0) << "orgs whose computed bucket is refused";
    EXPECT_EQ(r.front().get<std::int64_t>(1), 0) << "orgs also accepted by another remainder";
    EXPECT_EQ(r.front().get<std::int64_t>(2), static_cast<std::int64_t>(org_ids().size()));
    EXPECT_GT(r.front().get<std::int64_t>(3), 50) << "the wrap-around branch must be exercised";
  });
}

}  // namespace
}  // namespace folio::cutover
