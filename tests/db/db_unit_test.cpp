// Unit tests of folio::db pieces that need no server: DSN redaction, parameter encoding,
// SQLSTATE mapping, retry backoff.
#include <gtest/gtest.h>

#include "folio/db/connection.hpp"
#include "folio/db/errors.hpp"
#include "folio/db/migrator.hpp"
#include "folio/db/params.hpp"
#include "folio/db/retry.hpp"

namespace folio::db {
namespace {

TEST(RedactDsn, HidesPasswordsInEveryForm) {
  EXPECT_EQ(redact_dsn("postgresql://folio:s3cret@127.0.0.1:5432/folio"),
            "postgresql://folio:***@127.0.0.1:5432/folio");
  EXPECT_EQ(redact_dsn("host=h port=1 user=u password=s3cret dbname=d"),
            "host=h port=1 user=u password=*** dbname=d");
  EXPECT_EQ(redact_dsn("host=h password = 'se cr\\'et' dbname=d"),
            "host=h password = *** dbname=d");
  EXPECT_EQ(redact_dsn("postgres://u@h/d?sslmode=disable&password=s3cret"),
            "postgres://u@h/d?sslmode=disable&password=***");
  EXPECT_EQ(redact_dsn("postgresql://u@h/d"), "postgresql://u@h/d");
  EXPECT_EQ(redact_dsn("postgresql://h/d"), "postgresql://h/d");
}

// Values end where libpq ends them (found by fuzz/url_fuzz): any whitespace around '=' and
// after an unquoted value, a backslash escape in it, '&' only in a URI, a pair right after a
// quoted value.
TEST(RedactDsn, EndsValuesWhereLibpqEndsThem) {
  EXPECT_EQ(redact_dsn("host=h password\t=\ts3cret dbname=d"), "host=h password\t=\t*** dbname=d");
  EXPECT_EQ(redact_dsn("password=s3cret\nhost=h"), "password=***\nhost=h");
  EXPECT_EQ(redact_dsn("host=h password=s3&cret"), "host=h password=***");
  EXPECT_EQ(redact_dsn("host=h password=s3\\ cret dbname=d"), "host=h password=*** dbname=d");
  EXPECT_EQ(redact_dsn("password='s3cret'dbname=d"), "password=*** dbname=d");
  EXPECT_EQ(redact_dsn("postgresql://h/d?password=s3 cret&sslmode=disable"),
            "postgresql://h/d?password=***&sslmode=disable");
}

TEST(Params, EncodesValuesAsPostgresText) {
  using namespace std::chrono;
  const auto p = Params::of(
      std::int64_t{-42}, true, std::string("x"), std::nullopt, std::optional<int>{},
      std::optional<int>{7}, 1.5, sys_days{year{2026} / 3 / 14},
      sys_days{year{2026} / 3 / 14} + hours{9} + minutes{21} + seconds{7} + microseconds{123});
  const auto& v = p.values();
  ASSERT_EQ(v.size(), 9u);
  EXPECT_EQ(*v[0], "-42");
  EXPECT_EQ(*v[1], "t");
  EXPECT_EQ(*v[2], "x");
  EXPECT_FALSE(v[3].has_value());
  EXPECT_FALSE(v[4].has_value());
  EXPECT_EQ(*v[5], "7");
  EXPECT_EQ(*v[6], "1.5");
  EXPECT_EQ(*v[7], "2026-03-14");
  EXPECT_EQ(*v[8], "2026-03-14 09:21:07.000123+00");
}

TEST(Errors, SqlstateMapsToTheMostSpecificClass) {
  auto kind = [](std::string_view state) -> std::string {
    try {
      throw_error(state, "m");
    } catch (const SerializationFailure&) {
      return "serialization";
    } catch (const DeadlockDetected&) {
      return "deadlock";
    } catch (const UniqueViolation&) {
      return "unique";
    } catch (const IntegrityViolation&) {
      return "integrity";
    } catch (const ConnectionError&) {
      return "connection";
    } catch (const LockNotAvailable&) {
      return "lock";
    } catch (const QueryCanceled&) {
      return "canceled";
    } catch (const DataException&) {
      return "data";
    } catch (const UndefinedTable&) {
      return "undefined_table";
    } catch (const SyntaxOrAccessError&) {
      return "syntax";
    } catch (const Error& e) {
      return "error:" + e.sqlstate();
    }
    return "none";
  };
  EXPECT_EQ(kind("40001"), "serialization");
  EXPECT_EQ(kind("40P01"), "deadlock");
  EXPECT_EQ(kind("23505"), "unique");
  EXPECT_EQ(kind("23514"), "integrity");  // CheckViolation is an IntegrityViolation
  EXPECT_EQ(kind("08006"), "connection");
  EXPECT_EQ(kind("57P01"), "connection");  // admin shutdown: pg_terminate_backend
  EXPECT_EQ(kind("55P03"), "lock");
  EXPECT_EQ(kind("57014"), "canceled");
  EXPECT_EQ(kind("22012"), "data");
  EXPECT_EQ(kind("42P01"), "undefined_table");
  EXPECT_EQ(kind("42601"), "syntax");
  EXPECT_EQ(kind("P0001"), "error:P0001");
}

TEST(Errors, OnlySerializationAndDeadlockAreRetryable) {
  EXPECT_TRUE(is_retryable(SerializationFailure("40001", "m")));
  EXPECT_TRUE(is_retryable(DeadlockDetected("40P01", "m")));
  EXPECT_FALSE(is_retryable(TransactionRollback("40002", "m")));
  EXPECT_FALSE(is_retryable(UniqueViolation("23505", "m")));
}

TEST(Retry, BackoffIsBoundedByPolicy) {
  RetryPolicy p;
  p.initial_backoff = std::chrono::milliseconds(10);
  p.max_backoff = std::chrono::milliseconds(40);
  for (int attempt = 1; attempt < 40; ++attempt) {
    const auto d = detail::retry_backoff(p, attempt);
    EXPECT_GE(d.count(), 0);
    EXPECT_LE(d.count(), 40);
  }
}

TEST(Migrations, FileNamesAreValidated) {
  EXPECT_EQ(make_migration("0007_add_x.sql", "select 1").version, 7);
  EXPECT_THROW(make_migration("add_x.sql", ""), MigrationError);
  EXPECT_THROW(make_migration("0000_zero.sql", ""), MigrationError);
  EXPECT_THROW(make_migration("0003_x.txt", ""), MigrationError);
  EXPECT_NE(make_migration("0001_a.sql", "a").checksum, make_migration("0001_a.sql", "b").checksum);
}

TEST(Migrations, EmbeddedMatchTheSourceTree) {
  const auto dir = std::string(FOLIO_SOURCE_DIR) + "/sql/migrations";
  const auto on_disk = load_migrations(dir);
  const auto& embedded = embedded_migrations();
  ASSERT_EQ(on_disk.size(), embedded.size());
  ASSERT_FALSE(embedded.empty());
  for (std::size_t i = 0; i < embedded.size(); ++i) {
    EXPECT_EQ(embedded[i].name, on_disk[i].name);
    EXPECT_EQ(embedded[i].checksum, on_disk[i].checksum);
  }
}

}  // namespace
}  // namespace folio::db
