// Versioned schema migrations: files `NNNN_name.sql` under sql/migrations/, applied in
// version order, each in its own transaction, recorded with a SHA-256 checksum in
// `schema_migrations`. A file changed after it was applied is refused (MigrationError), since
// the databases that ran the old text would silently differ from new installs.
//
// Each migration's transaction takes a transaction-scoped advisory lock and re-checks
// schema_migrations, so concurrent migrators (several instances starting at once) apply each
// version exactly once, and no lock outlives its transaction. Use a direct connection to
// the primary: migrations run DDL, which folio keeps off PgBouncer.
//
// Thread-safety: free functions; the Connection rules apply.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "folio/db/connection.hpp"

namespace folio::db {

struct Migration {
  int version = 0;
  std::string name;  // file name, e.g. "0001_legacy_schema.sql"
  std::string sql;
  std::string checksum;  // hex SHA-256 of sql
};

struct AppliedMigration {
  int version = 0;
  std::string name;
  std::string checksum;
};

struct MigrationStatus {
  std::vector<AppliedMigration> applied;
  std::vector<int> pending;  // known versions not applied yet, ascending
  bool current() const noexcept { return pending.empty(); }
};

class MigrationError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads NNNN_name.sql files from `dir`. Throws MigrationError on a malformed name, a duplicate
// version or an unreadable directory.
std::vector<Migration> load_migrations(const std::filesystem::path& dir);

// The migrations compiled into this binary from sql/migrations/ at build time.
const std::vector<Migration>& embedded_migrations();

// Builds a Migration from its file name and text (computes version and checksum).
Migration make_migration(std::string name, std::string sql);

// Compares the database with `known`. Throws MigrationError when an applied version's
// checksum differs from the file's. A missing schema_migrations table means nothing applied.
asio::awaitable<MigrationStatus> migration_status(Connection& conn,
                                                  std::span<const Migration> known);

// Applies the pending migrations; returns the versions applied now (empty when current).
// Throws MigrationError naming the file when one fails (its transaction is rolled back) or a
// checksum differs.
asio::awaitable<std::vector<int>> migrate(Connection& conn, std::span<const Migration> known);

}  // namespace folio::db
