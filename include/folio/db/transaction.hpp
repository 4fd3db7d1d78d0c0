// A database transaction on a pooled connection: move-only, rolled back unless committed.
//
//   auto tx = co_await Transaction::begin(co_await pool.acquire(),
//                                         {.statement_timeout = std::chrono::seconds(2)});
//   co_await tx.query("UPDATE ... WHERE id = $1", id);
//   co_await tx.commit();
//
// BEGIN, the isolation level and the `SET LOCAL` timeouts go out in one round trip. Timeouts
// are transaction-local, so nothing leaks into the session (PgBouncer transaction mode safe).
// If a Transaction is destroyed without commit() or rollback() (say an exception unwound
// it), its connection goes back to the pool, which rolls it back before reusing it.
//
// Thread-safety: as Connection: one executor, one coroutine at a time.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>

#include "folio/db/connection.hpp"
#include "folio/db/pool.hpp"

namespace folio::db {

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

struct TransactionOptions {
  Isolation isolation = Isolation::kReadCommitted;
  bool read_only = false;
  // 0 keeps the server's setting. A statement running longer fails with StatementTimeout.
  std::chrono::milliseconds statement_timeout{0};
  // 0 keeps the server's setting. Waiting longer for a lock fails with LockNotAvailable.
  std::chrono::milliseconds lock_timeout{0};
};

class Transaction {
 public:
  // Takes over `conn` and sends BEGIN. Throws what the server or connection throws.
  static asio::awaitable<Transaction> begin(PooledConnection conn, TransactionOptions options = {});

  Transaction(Transaction&&) noexcept = default;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() = default;

  asio::awaitable<Result> execute(std::string_view sql, const Params& params = {});
  template <typename... Args>
  asio::awaitable<Result> query(std::string_view sql, const Args&... args) {
    co_return co_await execute(sql, Params::of(args...));
  }
  asio::awaitable<std::vector<Result>> pipeline(std::span<const Statement> statements);
  asio::awaitable<CopyIn> copy_in(std::string_view copy_sql);

  // Throws TransactionRollback if the server rolled back instead (an earlier statement failed,
  // or a SERIALIZABLE conflict surfaced at commit).
  asio::awaitable<void> commit();
  asio::awaitable<void> rollback();

  bool open() const noexcept { return open_; }
  Connection& connection() const noexcept { return *conn_; }

 private:
  Transaction(PooledConnection conn, TransactionOptions options)
      : conn_(std::move(conn)), options_(options) {}
  // Reports 57014 under a statement_timeout as StatementTimeout.
  [[noreturn]] void rethrow_classified(std::exception_ptr error) const;

  PooledConnection conn_;
  TransactionOptions options_;
  bool open_ = true;
};

}  // namespace folio::db
