// Writes a generated data set to four files in PostgreSQL COPY *text* format — the baseline
// input of the bulk-load benchmark (`psql \copy revenues (<kRevenueColumns>) FROM
// 'revenues.tsv'`, text format is psql's default) and a way to inspect seed data.
//
// Files, in `dir`: organizations.tsv, revenues.tsv, expenses.tsv, balances.tsv; one COPY
// text line per row, columns as in kOrganizationColumns, kRevenueColumns, kExpenseColumns,
// kBalanceColumns (the .tsv files are COPY text, not CSV: `\N` is NULL and backslashes,
// tabs and newlines inside values are escaped). Existing files are replaced.
//
// Thread-safety: a plain function; concurrent calls must use different directories.
#pragma once

#include <filesystem>
#include <string_view>

#include "folio/seed/generator.hpp"

namespace folio::seed {

inline constexpr std::string_view kOrganizationsFile = "organizations.tsv";
inline constexpr std::string_view kRevenuesFile = "revenues.tsv";
inline constexpr std::string_view kExpensesFile = "expenses.tsv";
inline constexpr std::string_view kBalancesFile = "balances.tsv";

// Generates the whole data set of `options` into `dir` (created if missing), streaming in
// chunks so memory stays flat. Returns the number of lines written per table.
// Throws std::invalid_argument for invalid options (see validate()) and
// std::filesystem::filesystem_error when a directory or file cannot be created or written.
RowCounts write_copy_text_files(const SeedOptions& options, const std::filesystem::path& dir);

}  // namespace folio::seed
