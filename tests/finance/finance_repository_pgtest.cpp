// FinanceRepository against PostgreSQL in every routing mode: round trips of revenues and
// expenses, the balances row of each touched day equal to the sums of that day's entries
// (recomputed in SQL) after creates, updates that move entries across days and months, and
// deletes; both sides identical while the sync is on; the input errors it names.
#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

#include "finance_fixture.hpp"
#include "folio/db/errors.hpp"

namespace folio::finance::test {
namespace {

using namespace std::chrono;
using std::nullopt;
constexpr std::int64_t kOrg = 9000001;

class FinanceRepositoryTest : public ::testing::TestWithParam<Mode> {};

// The field of the InvalidValue `fn` throws, or "" when it throws none.
template <typename Fn>
asio::awaitable<std::string> invalid_field(Fn fn) {
  std::string field;
  try {
    co_await fn();
  } catch (const InvalidValue& e) {
    field = e.field();
  }
  co_return field;
}

TEST_P(FinanceRepositoryTest, RoundTripsKeepTheBalancesOfEveryTouchedDay) {
  FinanceDatabase db("fin_repo", GetParam());
  db.add_org(kOrg, "EUR");
  const auto day = 2026y / September / 10;
  const auto other_month = 2026y / October / 3;
  const sys_days d1(day);
  const sys_days d2(other_month);
  const std::string suffix = GetParam().target == Target::partitioned ? "_partitioned" : "";
  using Balances = std::vector<BalanceDay>;

  run(db, [&](Services& s) -> asio::awaitable<void> {
    auto& repo = s.repo;
    const Entry r = co_await repo.create(kOrg, EntryKind::revenue,
                                         new_entry("room", 12000, at(day, 10), "night"));
    EXPECT_GT(r.id, 0);
    EXPECT_EQ(r.org_id, kOrg);
    EXPECT_EQ(r.kind, EntryKind::revenue);
    EXPECT_EQ(r.category, "room");
    EXPECT_EQ(r.amount_cents, 12000);
    EXPECT_EQ(r.currency, "EUR");
    EXPECT_EQ(r.occurred_at, at(day, 10));
    EXPECT_EQ(r.description, "night");
    EXPECT_EQ(r.vendor, nullopt);
    EXPECT_EQ(r.created_at, r.updated_at);
    // The last microsecond of the UTC day still belongs to it.
    const Entry r2 =
        co_await repo.create(kOrg, EntryKind::revenue,
                             new_entry("spa", 3000, at(day, 23, 59, 59) + microseconds(999999),
                                       nullopt, nullopt, "EUR"));
    const Entry x = co_await repo.create(kOrg, EntryKind::expense,
                                         new_entry("supplies", 2500, at(day, 0), nullopt, "Acme"));
    EXPECT_EQ(x.vendor, "Acme");
    EXPECT_EQ(x.kind, EntryKind::expense);

    EXPECT_EQ(co_await repo.get(kOrg, EntryKind::revenue, r.id), r);
    EXPECT_EQ(co_await repo.get(kOrg, EntryKind::expense, x.id), x);
    EXPECT_EQ(co_await repo.get(kOrg, EntryKind::expense, r.id), nullopt);
    const EntryPage page = co_await repo.list(kOrg, EntryKind::revenue, d1, d1, 10, nullopt);
    const std::vector<Entry> both = {r, r2};
    EXPECT_EQ(page.items, both);
    EXPECT_EQ(page.next, nullopt);
    const Balances after_create = {{d1, 15000, 2500, 12500}};
    EXPECT_EQ(co_await repo.balances(kOrg, d1, d1), after_create);
    EXPECT_EQ(db.balance_mismatches(kOrg, suffix), 0);

    // Move the room revenue to another day and month, with a new amount.
    const auto moved =
        co_await repo.update(kOrg, EntryKind::revenue, r.id, move_patch(20000, at(other_month, 8)));
    EXPECT_TRUE(moved.has_value());
    if (!moved) co_return;
    EXPECT_EQ(moved->amount_cents, 20000);
    EXPECT_EQ(moved->occurred_at, at(other_month, 8));
    EXPECT_EQ(moved->category, "room");
    EXPECT_EQ(moved->description, "night");
    EXPECT_EQ(moved->created_at, r.created_at);
    EXPECT_GE(moved->updated_at, r.updated_at);
    EXPECT_EQ(co_await repo.get(kOrg, EntryKind::revenue, r.id), moved);
    const Balances after_move = {{d1, 3000, 2500, 500}, {d2, 20000, 0, 20000}};
    EXPECT_EQ(co_await repo.balances(kOrg, d1, d2), after_move);
    EXPECT_EQ(db.balance_mismatches(kOrg, suffix), 0);

    // Clear a description, change a category; an empty patch changes nothing.
    EntryPatch recategorize;
    recategorize.category = "events";
    recategorize.description = std::optional<std::string>();
    const auto r2b = co_await repo.update(kOrg, EntryKind::revenue, r2.id, recategorize);
    EXPECT_TRUE(r2b && r2b->category == "events" && !r2b->description && r2b->amount_cents == 3000);
    EXPECT_EQ(co_await repo.update(kOrg, EntryKind::revenue, r2.id, EntryPatch()), r2b);

    // Within the same day, with a new amount and no vendor.
    EntryPatch same_day = move_patch(100, at(day, 12));
    same_day.vendor = std::optional<std::string>();
    const auto xb = co_await repo.update(kOrg, EntryKind::expense, x.id, same_day);
    EXPECT_TRUE(xb && xb->amount_cents == 100 && !xb->vendor && xb->occurred_at == at(day, 12));
    const Balances after_same_day = {{d1, 3000, 100, 2900}};
    EXPECT_EQ(co_await repo.balances(kOrg, d1, d1), after_same_day);

    // And back to the first month.
    const auto back =
        co_await repo.update(kOrg, EntryKind::revenue, r.id, move_patch(nullopt, at(day, 1)));
    EXPECT_TRUE(back && back->occurred_at == at(day, 1) && back->amount_cents == 20000);
    EXPECT_EQ(db.balance_mismatches(kOrg, suffix), 0);

    EXPECT_TRUE(co_await repo.remove(kOrg, EntryKind::revenue, r2.id));
    EXPECT_FALSE(co_await repo.remove(kOrg, EntryKind::revenue, r2.id));
    EXPECT_EQ(co_await repo.get(kOrg, EntryKind::revenue, r2.id), nullopt);
    EXPECT_TRUE(co_await repo.remove(kOrg, EntryKind::expense, x.id));
    // Emptied days keep a row of zeros.
    const Balances after_delete = {{d1, 20000, 0, 20000}, {d2, 0, 0, 0}};
    EXPECT_EQ(co_await repo.balances(kOrg, d1, d2), after_delete);
  });
  EXPECT_EQ(db.balance_mismatches(kOrg, suffix), 0);
  EXPECT_EQ(db.side_differences(), 0);
  if (GetParam().synced) {
    EXPECT_EQ(db.balance_mismatches(kOrg, "_partitioned"), 0);
  }
  // Which physical tables the writes reached.
  const auto count = [&](const std::string& table) {
    return db.scalar("SELECT count(*) FROM " + table + " WHERE org_id = " + std::to_string(kOrg));
  };
  EXPECT_EQ(count(physical(GetParam(), "revenues")), 1);
  EXPECT_EQ(count(physical(GetParam(), "balances")), 2);
  if (GetParam() == kPartitionedOnly) {
    EXPECT_EQ(count("revenues") + count("balances"), 0);
  }
  if (GetParam().synced) {
    EXPECT_EQ(count("revenues_partitioned") + count("revenues"), 2);
  }
}

TEST_P(FinanceRepositoryTest, NamesTheFieldOfBadInput) {
  FinanceDatabase db("fin_errors", GetParam());
  db.add_org(kOrg, "EUR");
  const auto day = 2026y / September / 10;
  run(db, [&](Services& s) -> asio::awaitable<void> {
    auto& repo = s.repo;
    const NewEntry good = new_entry("room", 100, at(day, 9));
    const auto create = [&](EntryKind kind, NewEntry e) {
      return [&repo, kind, e]() { return repo.create(kOrg, kind, e); };
    };
    bool not_found = false;
    try {
      co_await repo.create(kOrg + 1, EntryKind::revenue, good);
    } catch (const OrgNotFound&) {
      not_found = true;
    }
    EXPECT_TRUE(not_found);
    NewEntry e = good;
    e.currency = "USD";
    EXPECT_EQ(co_await invalid_field(create(EntryKind::revenue, e)), "currency");
    e.currency = "eur";
    EXPECT_EQ(co_await invalid_field(create(EntryKind::revenue, e)), "currency");
    e = good;
    e.category = "bar";
    EXPECT_EQ(co_await invalid_field(create(EntryKind::revenue, e)), "category");
    EXPECT_EQ(co_await invalid_field(create(EntryKind::expense, good)), "category");
    e = good;
    e.amount_cents = -1;
    EXPECT_EQ(co_await invalid_field(create(EntryKind::revenue, e)), "amount_cents");
    e = good;
    e.vendor = "Acme";
    EXPECT_EQ(co_await invalid_field(create(EntryKind::revenue, e)), "vendor");
    e = good;
    e.description = std::string("a\0b", 3);
    EXPECT_EQ(co_await invalid_field(create(EntryKind::revenue, e)), "description");
    e.description = "\xC3\x28";
    EXPECT_EQ(co_await invalid_field(create(EntryKind::revenue, e)), "description");

    const Entry r = co_await repo.create(kOrg, EntryKind::revenue, good);
    EntryPatch usd;
    usd.currency = "USD";
    EXPECT_EQ(
        co_await invalid_field([&] { return repo.update(kOrg, EntryKind::revenue, r.id, usd); }),
        "currency");
    EXPECT_EQ(co_await repo.get(kOrg, EntryKind::revenue, r.id), r);
    EXPECT_EQ(
        co_await repo.update(kOrg, EntryKind::revenue, r.id + 1000000, move_patch(1, nullopt)),
        nullopt);
    EXPECT_FALSE(co_await repo.remove(kOrg, EntryKind::revenue, r.id + 1000000));
    const auto list = [&](std::size_t limit, sys_days from, sys_days to) {
      return [&repo, limit, from, to] {
        return repo.list(kOrg, EntryKind::revenue, from, to, limit, nullopt);
      };
    };
    EXPECT_EQ(co_await invalid_field(list(0, sys_days(day), sys_days(day))), "limit");
    EXPECT_EQ(co_await invalid_field(list(kMaxPageSize + 1, sys_days(day), sys_days(day))),
              "limit");
    EXPECT_EQ(co_await invalid_field(list(10, sys_days(day) + days(1), sys_days(day))), "to");

    // A month the partitioned tables do not cover is accepted on every path, as legacy
    // accepts it (the row waits in the DEFAULT partition for maintenance), and read back.
    for (const auto month : {1970y / January, 2031y / March, 9999y / December}) {
      e = good;
      e.occurred_at = at(month / 1, 12);
      const Entry far = co_await repo.create(kOrg, EntryKind::revenue, e);
      EXPECT_EQ(co_await repo.get(kOrg, EntryKind::revenue, far.id), far);
      const auto page = co_await repo.list(kOrg, EntryKind::revenue, sys_days(month / 1),
                                           sys_days(month / std::chrono::last), 10, nullopt);
      EXPECT_EQ(page.items, std::vector<Entry>{far});
    }
  });
  EXPECT_EQ(db.scalar("SELECT count(*) FROM sync_failures"), 0);
  EXPECT_EQ(db.balance_mismatches(kOrg), 0);
  EXPECT_EQ(db.side_differences(), 0);
}

TEST_P(FinanceRepositoryTest, KeysetPagesWalkTheRangeOnceInOrder) {
  FinanceDatabase db("fin_pages", GetParam());
  db.add_org(kOrg, "EUR");
  std::vector<Entry> expected;
  run(db, [&](Services& s) -> asio::awaitable<void> {
    // Two entries per (day, hour): ties on occurred_at, ids not in time order.
    for (int i = 0; i < 30; ++i) {
      const auto day = 2026y / September / (1 + i % 5);
      expected.push_back(
          co_await s.repo.create(kOrg, EntryKind::revenue, new_entry("room", i, at(day, i / 10))));
    }
    // Just outside [Sep 1, Sep 5].
    const Timestamp before = at(2026y / August / 31, 23, 59, 59) + microseconds(999999);
    co_await s.repo.create(kOrg, EntryKind::revenue, new_entry("room", 1, before));
    co_await s.repo.create(kOrg, EntryKind::revenue,
                           new_entry("room", 1, at(2026y / September / 6, 0)));
    std::sort(expected.begin(), expected.end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.occurred_at, a.id) < std::tie(b.occurred_at, b.id);
    });
    const std::vector<std::size_t> sizes = {1, 4, 7, 29, 30, 31};
    for (const std::size_t size : sizes) {
      std::vector<Entry> seen;
      std::optional<std::string> token;
      int pages = 0;
      do {
        std::optional<Cursor> after;
        if (token) after = decode_cursor(*token);
        EXPECT_EQ(after.has_value(), token.has_value());
        const EntryPage page =
            co_await s.repo.list(kOrg, EntryKind::revenue, sys_days(2026y / September / 1),
                                 sys_days(2026y / September / 5), size, after);
        EXPECT_LE(page.items.size(), size);
        seen.insert(seen.end(), page.items.begin(), page.items.end());
        token.reset();
        if (page.next) token = encode_cursor(*page.next);
        ++pages;
      } while (token && pages < 100);
      EXPECT_EQ(seen, expected) << "page size " << size;
      EXPECT_EQ(pages, static_cast<int>((expected.size() + size - 1) / size)) << size;
    }
  });
  EXPECT_EQ(expected.size(), 30u);
  EXPECT_EQ(db.side_differences(), 0);
}

// Metrics are registered once: after the first unit of each operation, writes and reads of
// any number look no series up in the registry (each lookup takes its mutex).
TEST_P(FinanceRepositoryTest, UnitsAfterTheFirstTakeNoRegistryLock) {
  FinanceDatabase db("fin_lookups", GetParam());
  db.add_org(kOrg, "EUR");
  const auto day = 2026y / September / 10;
  const sys_days d(day);
  auto& registry = obs::Registry::global();
  run(db, [&](Services& s) -> asio::awaitable<void> {
    const auto round = [&](int i) -> asio::awaitable<void> {
      const Entry e =
          co_await s.repo.create(kOrg, EntryKind::revenue, new_entry("room", 100 + i, at(day, 10)));
      EXPECT_TRUE((co_await s.repo.get(kOrg, EntryKind::revenue, e.id)).has_value());
      EXPECT_FALSE(
          (co_await s.repo.list(kOrg, EntryKind::revenue, d, d, 5, nullopt)).items.empty());
      EXPECT_FALSE((co_await s.repo.balances(kOrg, d, d)).empty());
    };
    co_await round(0);
    const auto before = registry.lookups();
    for (int i = 1; i <= 20; ++i) co_await round(i);
    EXPECT_EQ(registry.lookups(), before);
  });
}

INSTANTIATE_TEST_SUITE_P(Modes, FinanceRepositoryTest,
                         ::testing::Values(kLegacy, kLegacySynced, kPartitionedSynced,
                                           kPartitionedOnly),
                         mode_name);

}  // namespace
}  // namespace folio::finance::test
