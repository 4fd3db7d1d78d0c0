// A throwaway database on the local stack's primary, for tests that need a schema of their
// own: created empty by the constructor, dropped (WITH FORCE) by the destructor.
//
// Thread-safety: construct and destroy on one thread; the DSN is a plain value.
#pragma once

#include <chrono>
#include <random>
#include <string>

#include "folio/db/connection.hpp"
#include "support/async.hpp"
#include "support/stack_env.hpp"

namespace folio::test {

// Runs a parameterless script on a new direct connection to `dsn`.
inline void run_script(const std::string& dsn, const std::string& sql) {
  run_async([&](boost::asio::io_context& io) -> boost::asio::awaitable<void> {
    auto c = co_await db::Connection::connect(io.get_executor(), dsn, std::chrono::seconds(5));
    co_await c->execute_script(sql);
  });
}

class ScratchDatabase {
 public:
  explicit ScratchDatabase(const std::string& prefix)
      : name_(prefix + "_" + std::to_string(std::random_device{}())),
        admin_dsn_(stack_value("DATABASE_DIRECT_URL")) {
    run_script(admin_dsn_, "CREATE DATABASE " + name_);
    dsn_ = admin_dsn_.substr(0, admin_dsn_.rfind('/') + 1) + name_;
  }
  ~ScratchDatabase() {
    run_script(admin_dsn_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  // Direct URL of the scratch database (PgBouncer only routes the stack's "folio" database).
  const std::string& dsn() const { return dsn_; }

 private:
  std::string name_;
  std::string admin_dsn_;
  std::string dsn_;
};

}  // namespace folio::test
