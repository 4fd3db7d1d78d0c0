#include "folio/seed/loader.hpp"

#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <stdexcept>
#include <tuple>
#include <type_traits>

#include "folio/db/connection.hpp"

namespace folio::seed {

namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using db::Connection;

constexpr auto kConnectTimeout = std::chrono::seconds(10);

// Runs an operation to completion and hands back its failure instead of throwing it. Joined
// with `&&`, a throwing operation would cancel its siblings, and Asio would then report the
// cancellations beside the real error with no way to tell which came first.
template <typename T>
asio::awaitable<std::exception_ptr> captured(asio::awaitable<T> op, T* out = nullptr) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(op);
    } else {
      *out = co_await std::move(op);
    }
  } catch (...) {
    co_return std::current_exception();
  }
  co_return nullptr;
}

template <typename Tuple>
void rethrow_any(const Tuple& errors) {
  std::apply(
      [](const auto&... e) {
        for (const std::exception_ptr& p : {e...}) {
          if (p) std::rethrow_exception(p);
        }
      },
      errors);
}

std::string copy_sql(std::string_view table, std::string_view columns) {
  return "COPY " + std::string(table) + " (" + std::string(columns) + ") FROM STDIN";
}

}  // namespace

asio::awaitable<LoadReport> load(asio::any_io_executor executor, SeedOptions options,
                                 LoadOptions load_options) {
  if (const auto problem = validate(options)) throw std::invalid_argument(*problem);
  const auto started = std::chrono::steady_clock::now();

  auto control = co_await Connection::connect(executor, load_options.dsn, kConnectTimeout);
  options.first_org_id =
      (co_await control->query("SELECT coalesce(max(id), 0) + 1 FROM organizations"))
          .scalar<std::int64_t>();
  // Reserve one contiguous id block for every generated revenue and expense. (A concurrent
  // nextval between the two calls could land inside the block: seed before writers start.)
  const std::int64_t block = options.orgs * options.rows_per_org;
  options.first_row_id =
      (co_await control->query(
           "SELECT setval('folio_id_seq', nextval('folio_id_seq') + $1::bigint - 1, "
           "true) - $1::bigint + 1",
           std::max<std::int64_t>(block, 1)))
          .scalar<std::int64_t>();
  const Generator generator(options);

  // One connection and one COPY per table, all inside transactions committed together.
  std::array<std::unique_ptr<Connection>, 4> conns;
  for (auto& c : conns) {
    c = co_await Connection::connect(executor, load_options.dsn, kConnectTimeout);
    co_await c->execute_script("BEGIN");
  }
  auto orgs_copy = co_await conns[0]->copy_in(copy_sql("organizations", kOrganizationColumns));
  auto revenues_copy = co_await conns[1]->copy_in(copy_sql("revenues", kRevenueColumns));
  auto expenses_copy = co_await conns[2]->copy_in(copy_sql("expenses", kExpenseColumns));
  auto balances_copy = co_await conns[3]->copy_in(copy_sql("balances", kBalanceColumns));

  TableBuffers buffers;
  LoadProgress progress;
  progress.orgs_total = options.orgs;
  const std::int64_t chunk = std::max<std::int64_t>(1, load_options.chunk_orgs);
  for (std::int64_t begin = 0; begin < options.orgs; begin += chunk) {
    const std::int64_t end = std::min(options.orgs, begin + chunk);
    buffers.clear();
    generator.append_orgs(begin, end, buffers);
    rethrow_any(co_await (captured(orgs_copy.write(buffers.organizations)) &&
                          captured(revenues_copy.write(buffers.revenues)) &&
                          captured(expenses_copy.write(buffers.expenses)) &&
                          captured(balances_copy.write(buffers.balances))));
    progress.orgs_done = end;
    progress.rows += buffers.rows;
    progress.elapsed = std::chrono::steady_clock::now() - started;
    if (load_options.on_progress) load_options.on_progress(progress);
  }

  LoadReport report;
  rethrow_any(co_await (captured(orgs_copy.finish(), &report.rows.organizations) &&
                        captured(revenues_copy.finish(), &report.rows.revenues) &&
                        captured(expenses_copy.finish(), &report.rows.expenses) &&
                        captured(balances_copy.finish(), &report.rows.balances)));
  for (auto& c : conns) co_await c->execute_script("COMMIT");
  // Fresh statistics, so the first queries on the new data get sensible plans.
  co_await control->execute_script("ANALYZE organizations, revenues, expenses, balances");

  report.first_org_id = options.first_org_id;
  report.last_org_id = options.first_org_id + options.orgs - 1;
  report.first_row_id = options.first_row_id;
  report.last_row_id = generator.end_row_id() - 1;
  report.elapsed = std::chrono::steady_clock::now() - started;
  co_return report;
}

}  // namespace folio::seed
