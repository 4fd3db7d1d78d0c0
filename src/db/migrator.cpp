#include "folio/db/migrator.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "folio/db/errors.hpp"

namespace folio::db {

namespace {

// Transaction-scoped: released by COMMIT or ROLLBACK on whatever server connection ran it,
// so no unlock can be lost (not even through a PgBouncer that reassigns connections).
constexpr std::string_view kLockSql =
    "SELECT pg_advisory_xact_lock(hashtextextended('folio:schema_migrations', 0))";
constexpr std::string_view kCreateTableSql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now(),"
    " execution_ms bigint NOT NULL)";

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

void check_checksums(const std::vector<AppliedMigration>& applied,
                     std::span<const Migration> known) {
  for (const auto& a : applied) {
    const auto it = std::find_if(known.begin(), known.end(),
                                 [&](const Migration& m) { return m.version == a.version; });
    if (it != known.end() && it->checksum != a.checksum) {
      throw MigrationError("migration " + it->name + " was changed after it was applied (file " +
                           it->checksum.substr(0, 12) + "…, applied " + a.checksum.substr(0, 12) +
                           "…): applied migrations are immutable; revert the edit and add a "
                           "new migration instead");
    }
  }
}

asio::awaitable<std::vector<AppliedMigration>> read_applied(Connection& conn) {
  std::vector<AppliedMigration> applied;
  const Result exists = co_await conn.query("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists.scalar<bool>()) co_return applied;
  const Result rows =
      co_await conn.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version");
  for (const Row row : rows) {
    applied.push_back({row.get<std::int32_t>(0), row.get<std::string>(1), row.get<std::string>(2)});
  }
  co_return applied;
}

MigrationStatus compute_status(std::vector<AppliedMigration> applied,
                               std::span<const Migration> known) {
  check_checksums(applied, known);
  MigrationStatus status;
  std::set<int> done;
  for (const auto& a : applied) done.insert(a.version);
  for (const auto& m : known) {
    if (!done.contains(m.version)) status.pending.push_back(m.version);
  }
  std::sort(status.pending.begin(), status.pending.end());
  status.applied = std::move(applied);
  return status;
}

}  // namespace

Migration make_migration(std::string name, std::string sql) {
  int version = 0;
  const auto underscore = name.find('_');
  const auto res =
      std::from_chars(name.data(), name.data() + std::min(underscore, name.size()), version);
  if (underscore == std::string::npos || underscore == 0 || res.ptr != name.data() + underscore ||
      version <= 0 || !name.ends_with(".sql")) {
    throw MigrationError("migration file name '" + name +
                         "' must look like NNNN_description.sql with NNNN > 0");
  }
  Migration m;
  m.version = version;
  m.checksum = sha256_hex(sql);
  m.name = std::move(name);
  m.sql = std::move(sql);
  return m;
}

std::vector<Migration> load_migrations(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec)
    throw MigrationError("cannot read migrations directory " + dir.string() + ": " + ec.message());
  std::vector<Migration> out;
  for (const auto& entry : it) {
    if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    out.push_back(make_migration(entry.path().filename().string(), text.str()));
  }
  std::sort(out.begin(), out.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i].version == out[i - 1].version) {
      throw MigrationError("two migrations share version " + std::to_string(out[i].version) + ": " +
                           out[i - 1].name + " and " + out[i].name);
    }
  }
  return out;
}

asio::awaitable<MigrationStatus> migration_status(Connection& conn,
                                                  std::span<const Migration> known) {
  co_return compute_status(co_await read_applied(conn), known);
}

asio::awaitable<std::vector<int>> migrate(Connection& conn, std::span<const Migration> known) {
  std::vector<int> applied_now;
  std::exception_ptr failure;
  try {
    co_await conn.execute_script("BEGIN");
    co_await conn.execute(kLockSql);
    co_await conn.execute(kCreateTableSql);
    co_await conn.execute_script("COMMIT");
    const MigrationStatus status = compute_status(co_await read_applied(conn), known);
    for (const int version : status.pending) {
      const auto& m = *std::find_if(known.begin(), known.end(),
                                    [&](const Migration& k) { return k.version == version; });
      const auto started = std::chrono::steady_clock::now();
      co_await conn.execute_script("BEGIN");
      co_await conn.execute(kLockSql);
      // Another migrator may have applied it while this one waited for the lock.
      const Result done = co_await conn.query(
          "SELECT checksum FROM schema_migrations WHERE version = $1", m.version);
      if (!done.empty()) {
        co_await conn.execute_script("COMMIT");
        check_checksums({{m.version, m.name, done.scalar<std::string>()}}, known);
        continue;
      }
      try {
        co_await conn.execute_script(m.sql);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
        co_await conn.query(
            "INSERT INTO schema_migrations (version, name, checksum, execution_ms) "
            "VALUES ($1, $2, $3, $4)",
            m.version, m.name, m.checksum, static_cast<std::int64_t>(ms));
      } catch (const ConnectionError&) {
        throw;  // outcome unknown: report the connection failure as it is
      } catch (const Error& e) {
        throw MigrationError("migration " + m.name + " failed and was rolled back: " + e.what() +
                             (e.sqlstate().empty() ? "" : " [" + e.sqlstate() + "]"));
      }
      co_await conn.execute_script("COMMIT");
      applied_now.push_back(version);
    }
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    // Leave the connection reusable: end the failed transaction (which drops the lock too).
    if (!conn.broken() && conn.tx_status() != TxStatus::kIdle) {
      try {
        co_await conn.execute_script("ROLLBACK");
      } catch (const std::exception&) {
        // Closing the connection ends the transaction anyway.
      }
    }
    std::rethrow_exception(failure);
  }
  co_return applied_now;
}

}  // namespace folio::db
