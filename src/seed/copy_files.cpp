#include "folio/seed/copy_files.hpp"

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <system_error>

namespace folio::seed {
namespace {

constexpr std::size_t kFlushBytes = std::size_t{4} << 20;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// One output file; every failure becomes a filesystem_error naming the file.
class OutputFile {
 public:
  explicit OutputFile(std::filesystem::path path) : path_(std::move(path)) {
    file_.reset(std::fopen(path_.c_str(), "wb"));
    if (!file_) fail("cannot create");
  }

  // Writes and empties `buffer`.
  void write(std::string& buffer) {
    if (!buffer.empty() &&
        std::fwrite(buffer.data(), 1, buffer.size(), file_.get()) != buffer.size()) {
      fail("cannot write");
    }
    buffer.clear();
  }

  void close() {
    std::FILE* f = file_.release();
    if (std::fclose(f) != 0) fail("cannot close");
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    const int error = errno != 0 ? errno : EIO;
    throw std::filesystem::filesystem_error(std::string("seed: ") + what, path_,
                                            std::error_code(error, std::generic_category()));
  }

  std::filesystem::path path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
};

}  // namespace

RowCounts write_copy_text_files(const SeedOptions& options, const std::filesystem::path& dir) {
  const Generator generator(options);
  std::filesystem::create_directories(dir);
  OutputFile organizations(dir / kOrganizationsFile);
  OutputFile revenues(dir / kRevenuesFile);
  OutputFile expenses(dir / kExpensesFile);
  OutputFile balances(dir / kBalancesFile);

  TableBuffers buffers;
  RowCounts total;
  auto flush = [&] {
    organizations.write(buffers.organizations);
    revenues.write(buffers.revenues);
    expenses.write(buffers.expenses);
    balances.write(buffers.balances);
    total += buffers.rows;
    buffers.rows = RowCounts{};
  };
  for (std::int64_t k = 0; k < options.orgs; ++k) {
    generator.append_org(k, buffers);
    if (buffers.bytes() >= kFlushBytes) flush();
  }
  flush();
  organizations.close();
  revenues.close();
  expenses.close();
  balances.close();
  return total;
}

}  // namespace folio::seed
