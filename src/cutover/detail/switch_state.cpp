#include "switch_state.hpp"

#include <fmt/format.h>

#include <map>

#include "folio/cutover/backfill.hpp"
#include "folio/cutover/sync.hpp"

namespace folio::cutover::detail {

namespace asio = boost::asio;

namespace {

std::string table_names_array() {
  std::string out = "{";
  for (const auto& spec : all_tables()) {
    out += (out.size() > 1 ? "," : "") + std::string(spec.name);
  }
  return out + "}";
}

std::vector<std::string> split_commas(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

asio::awaitable<SchemaState> schema_state(db::Pool& pool) {
  auto r = co_await pool.query(
      "SELECT t.name,"
      "       to_regclass(quote_ident(t.name)) IS NOT NULL,"
      "       to_regclass(quote_ident(t.name || '_partitioned')) IS NOT NULL,"
      "       coalesce((SELECT string_agg(c.relname::text, ',' ORDER BY c.relname)"
      "                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
      "                  WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
      "                    AND c.relname LIKE t.name || '\\_archived\\_%'), '')"
      "  FROM unnest($1::text[]) WITH ORDINALITY AS t(name, ord) ORDER BY t.ord",
      table_names_array());
  SchemaState out;
  for (const auto& row : r) {
    TableState state;
    state.spec = find_table(row.get<std::string_view>(0));
    state.legacy = row.get<bool>(1);
    state.partitioned = row.get<bool>(2);
    state.archived = split_commas(row.get<std::string_view>(3));
    out.tables.push_back(std::move(state));
  }
  out.finalize_recorded =
      (co_await pool.query("SELECT EXISTS (SELECT 1 FROM cutover_audit WHERE phase = 'finalize' "
                           "AND status = 'ok')"))
          .scalar<bool>();
  co_return out;
}

bool finalized(const SchemaState& state) {
  if (state.tables.empty()) return false;
  bool archived = true;
  for (const auto& t : state.tables) {
    if (t.legacy) return false;
    archived = archived && !t.archived.empty();
  }
  return archived || state.finalize_recorded;
}

std::string archive_names(const SchemaState& state) {
  std::string out;
  for (const auto& t : state.tables) {
    for (const auto& a : t.archived) out += (out.empty() ? "" : ", ") + a;
  }
  return out;
}

std::string finalized_text(const SchemaState& state) {
  const auto names = archive_names(state);
  return names.empty() ? "the legacy tables were archived (and the archives dropped since)"
                       : "the legacy tables were archived as " + names;
}

asio::awaitable<std::optional<std::string>> sync_problem(db::Pool& pool) {
  const auto state = co_await schema_state(pool);
  std::string missing;
  for (const auto& t : state.tables) {
    if (!t.partitioned) missing += (missing.empty() ? "" : ", ") + std::string(t.spec->partitioned);
  }
  if (!missing.empty()) {
    co_return fmt::format(
        "{} do not exist: run `folioctl switchover prepare`, then `sync-on`, `backfill` and "
        "`verify` first",
        missing);
  }
  std::string off;
  for (const auto& s : co_await sync_state(pool)) {
    if (s.on()) continue;
    off += fmt::format("{}{} (legacy triggers {}/3, partitioned {}/3)", off.empty() ? "" : ", ",
                       s.table, s.legacy_triggers, s.partitioned_triggers);
  }
  if (off.empty()) co_return std::nullopt;
  co_return fmt::format("the sync is not on for {}: run `folioctl switchover sync-on` first", off);
}

asio::awaitable<std::optional<std::string>> readiness_problem(db::Pool& pool) {
  if (auto problem = co_await sync_problem(pool)) co_return problem;
  struct Count {
    int ranges = 0;
    int pending = 0;
  };
  std::map<std::string, Count, std::less<>> counts;
  for (const auto& range : co_await backfill_state(pool)) {
    auto& c = counts[range.table];
    ++c.ranges;
    if (!range.finished()) ++c.pending;
  }
  std::string unfinished;
  for (const auto& spec : all_tables()) {
    const auto it = counts.find(spec.name);
    std::string why;
    if (it == counts.end()) {
      why = "not started";
    } else if (it->second.pending > 0) {
      why = fmt::format("{} of {} ranges pending", it->second.pending, it->second.ranges);
    } else {
      continue;
    }
    unfinished += fmt::format("{}{} ({})", unfinished.empty() ? "" : ", ", spec.name, why);
  }
  if (unfinished.empty()) co_return std::nullopt;
  co_return fmt::format(
      "the backfill has not finished for {}: run `folioctl switchover backfill` (it resumes "
      "where it stopped), then `verify`",
      unfinished);
}

}  // namespace folio::cutover::detail
