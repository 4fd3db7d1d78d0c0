#include "folio/db/transaction.hpp"

#include <string>

#include "folio/db/errors.hpp"

namespace folio::db {

namespace {

std::string begin_script(const TransactionOptions& o) {
  std::string sql = "BEGIN ISOLATION LEVEL ";
  switch (o.isolation) {
    case Isolation::kReadCommitted:
      sql += "READ COMMITTED";
      break;
    case Isolation::kRepeatableRead:
      sql += "REPEATABLE READ";
      break;
    case Isolation::kSerializable:
      sql += "SERIALIZABLE";
      break;
  }
  sql += o.read_only ? " READ ONLY" : " READ WRITE";
  if (o.statement_timeout.count() > 0) {
    sql += "; SET LOCAL statement_timeout = " + std::to_string(o.statement_timeout.count());
  }
  if (o.lock_timeout.count() > 0) {
    sql += "; SET LOCAL lock_timeout = " + std::to_string(o.lock_timeout.count());
  }
  return sql;
}

}  // namespace

asio::awaitable<Transaction> Transaction::begin(PooledConnection conn, TransactionOptions options) {
  co_await conn->execute_script(begin_script(options));
  co_return Transaction(std::move(conn), options);
}

void Transaction::rethrow_classified(std::exception_ptr error) const {
  try {
    std::rethrow_exception(error);
  } catch (const StatementTimeout&) {
    throw;
  } catch (const QueryCanceled& e) {
    // folio never cancels statements itself, so under a statement_timeout a 57014 is that
    // timeout firing.
    if (options_.statement_timeout.count() > 0) {
      throw StatementTimeout(e.sqlstate(),
                             std::string(e.what()) + " (statement_timeout " +
                                 std::to_string(options_.statement_timeout.count()) + " ms)",
                             e.detail());
    }
    throw;
  }
}

asio::awaitable<Result> Transaction::execute(std::string_view sql, const Params& params) {
  std::exception_ptr error;
  try {
    co_return co_await conn_->execute(sql, params);
  } catch (const QueryCanceled&) {
    error = std::current_exception();
  }
  rethrow_classified(error);
}

asio::awaitable<std::vector<Result>> Transaction::pipeline(std::span<const Statement> statements) {
  std::exception_ptr error;
  try {
    co_return co_await conn_->pipeline(statements);
  } catch (const QueryCanceled&) {
    error = std::current_exception();
  }
  rethrow_classified(error);
}

asio::awaitable<CopyIn> Transaction::copy_in(std::string_view copy_sql) {
  co_return co_await conn_->copy_in(copy_sql);
}

asio::awaitable<void> Transaction::commit() {
  open_ = false;
  const Result r = co_await conn_->execute_script("COMMIT");
  // COMMIT of a failed transaction "succeeds" with the tag ROLLBACK.
  if (r.command_tag() != "COMMIT") {
    throw TransactionRollback("", "the transaction was rolled back instead of committed");
  }
}

asio::awaitable<void> Transaction::rollback() {
  open_ = false;
  co_await conn_->execute_script("ROLLBACK");
}

}  // namespace folio::db
