// The PromQL of folio's monitoring files, for the tests that check them: the queries of the
// Grafana dashboard (deploy/grafana/folio-dashboard.json) and of the Prometheus rule files
// (deploy/prometheus/rules/*.yml), the folio metric names a query reads, and
// `promtool check rules` over a set of queries.
//
// The rule files are read with a small reader for the YAML that rule files use (block
// mappings and lists; plain, quoted and block scalars): no YAML library is linked. Its
// results are cross-checked against promtool's own count of rules (rule_file_summary).
//
// Thread-safety: plain functions on values; promtool runs as a child process per call.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace folio::test::monitoring {

namespace fs = std::filesystem;

// The source root: $FOLIO_SOURCE_DIR, else the one this test was built from.
inline fs::path source_dir() {
  const char* env = std::getenv("FOLIO_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? fs::path(env) : fs::path(FOLIO_SOURCE_DIR);
}

inline fs::path dashboard_path() { return source_dir() / "deploy/grafana/folio-dashboard.json"; }
inline fs::path rules_dir() { return source_dir() / "deploy/prometheus/rules"; }
inline fs::path runbook_path() { return source_dir() / "docs/runbook.md"; }

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// One query and where it came from, e.g. "panel 12 \"5xx ratio by route\" target A".
struct Query {
  std::string where;
  std::string expr;
};

// ------------------------------------------------------------------------------ dashboard

// Every panel of the dashboard, rows included, also those nested in a collapsed row.
inline std::vector<const boost::json::object*> dashboard_panels(const boost::json::object& d) {
  std::vector<const boost::json::object*> out;
  const auto walk = [&out](const boost::json::value* panels, const auto& self) -> void {
    if (panels == nullptr || !panels->is_array()) return;
    for (const auto& p : panels->as_array()) {
      if (!p.is_object()) continue;
      out.push_back(&p.as_object());
      self(p.as_object().if_contains("panels"), self);
    }
  };
  walk(d.if_contains("panels"), walk);
  return out;
}

inline std::string panel_name(const boost::json::object& panel) {
  std::string name = "panel";
  if (const auto* id = panel.if_contains("id"); id != nullptr && id->is_number())
    name += " " + boost::json::serialize(*id);
  if (const auto* title = panel.if_contains("title"); title != nullptr && title->is_string())
    name += " \"" + std::string(title->as_string()) + "\"";
  return name;
}

// The `expr` of every target of every panel.
inline std::vector<Query> dashboard_queries(const boost::json::object& dashboard) {
  std::vector<Query> out;
  for (const auto* panel : dashboard_panels(dashboard)) {
    const auto* targets = panel->if_contains("targets");
    if (targets == nullptr || !targets->is_array()) continue;
    for (const auto& t : targets->as_array()) {
      if (!t.is_object()) continue;
      const auto* expr = t.as_object().if_contains("expr");
      if (expr == nullptr || !expr->is_string()) continue;
      std::string where = panel_name(*panel) + " target";
      if (const auto* ref = t.as_object().if_contains("refId"); ref != nullptr && ref->is_string())
        where += " " + std::string(ref->as_string());
      out.push_back({where, std::string(expr->as_string())});
    }
  }
  return out;
}

inline boost::json::object load_dashboard() {
  return boost::json::parse(read_text(dashboard_path())).as_object();
}

// A Grafana query as plain PromQL: the interval variables as 1m, every other variable
// ($name, ${name}, ${name:format}, [[name]]) as "x", which is valid wherever a template
// variable may stand in a query (a label value or regular expression).
inline std::string grafana_to_promql(std::string_view expr) {
  static const std::vector<std::pair<std::string, std::string>> kBuiltIns = {
      {"__rate_interval_ms", "60000"},
      {"__interval_ms", "60000"},
      {"__range_ms", "60000"},
      {"__range_s", "60"},
      {"__rate_interval", "1m"},
      {"__interval", "1m"},
      {"__range", "1m"}};
  const auto value_of = [](std::string_view name) -> std::string {
    for (const auto& [builtin, value] : kBuiltIns) {
      if (name == builtin) return value;
    }
    return "x";
  };
  const auto is_name = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  };
  std::string out;
  for (std::size_t i = 0; i < expr.size();) {
    if (expr[i] == '$' && i + 1 < expr.size() && expr[i + 1] == '{') {
      const auto end = expr.find('}', i);
      if (end == std::string_view::npos) break;
      auto name = expr.substr(i + 2, end - i - 2);
      name = name.substr(0, name.find(':'));
      out += value_of(name);
      i = end + 1;
    } else if (expr[i] == '$' && i + 1 < expr.size() &&
               (std::isalpha(static_cast<unsigned char>(expr[i + 1])) || expr[i + 1] == '_')) {
      std::size_t end = i + 1;
      while (end < expr.size() && is_name(expr[end])) ++end;
      out += value_of(expr.substr(i + 1, end - i - 1));
      i = end;
    } else if (expr.substr(i, 2) == "[[") {
      const auto end = expr.find("]]", i);
      if (end == std::string_view::npos) break;
      out += value_of(expr.substr(i + 2, end - i - 2));
      i = end + 2;
    } else {
      out += expr[i++];
    }
  }
  return out;
}

// ------------------------------------------------------------------------------ PromQL tokens

// An identifier of a PromQL expression (metric, function, keyword or label name), and
// whether it stands inside a {...} label matcher or a by/without/on/ignoring/group_left/
// group_right label list. Strings, numbers, durations and # comments are skipped.
struct Token {
  std::string text;
  bool in_matcher = false;
  bool in_label_list = false;
};

inline std::vector<Token> promql_identifiers(std::string_view expr) {
  std::vector<Token> out;
  int depth = 0;
  bool label_list_next = false;  // the last identifier opens a label list if '(' follows
  bool in_label_list = false;
  const auto ident_start = [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
  };
  const auto ident_char = [&](char c) {
    return ident_start(c) || std::isdigit(static_cast<unsigned char>(c));
  };
  for (std::size_t i = 0; i < expr.size();) {
    const char c = expr[i];
    if (c == '#') {
      while (i < expr.size() && expr[i] != '\n') ++i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    const bool opens_label_list = label_list_next;
    label_list_next = false;
    if (c == '"' || c == '\'' || c == '`') {
      ++i;
      while (i < expr.size() && expr[i] != c) i += (c != '`' && expr[i] == '\\') ? 2 : 1;
      ++i;
    } else if (c == '{') {
      ++depth;
      ++i;
    } else if (c == '}') {
      depth = std::max(0, depth - 1);
      ++i;
    } else if (c == '(' && opens_label_list) {
      in_label_list = true;
      ++i;
    } else if (c == ')' && in_label_list) {
      in_label_list = false;
      ++i;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      // Numbers and durations (5m, 1e3, 0x1f, 1h30m): never identifiers.
      while (i < expr.size() && (ident_char(expr[i]) || expr[i] == '.')) ++i;
    } else if (ident_start(c)) {
      std::size_t end = i;
      while (end < expr.size() && ident_char(expr[end])) ++end;
      std::string text(expr.substr(i, end - i));
      std::string lower = text;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      label_list_next = depth == 0 && !in_label_list &&
                        (lower == "by" || lower == "without" || lower == "on" ||
                         lower == "ignoring" || lower == "group_left" || lower == "group_right");
      out.push_back({std::move(text), depth > 0, in_label_list});
      i = end;
    } else {
      ++i;
    }
  }
  return out;
}

// The folio metric names a query reads: tokens matching ^folio_[a-z0-9_]+$ outside label
// matchers, label lists and strings (recording-rule names have a colon and never match).
inline std::set<std::string> metric_names(std::string_view expr) {
  std::set<std::string> out;
  for (const auto& t : promql_identifiers(expr)) {
    if (t.in_matcher || t.in_label_list || t.text.rfind("folio_", 0) != 0 || t.text.size() == 6)
      continue;
    if (std::all_of(t.text.begin(), t.text.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        })) {
      out.insert(t.text);
    }
  }
  return out;
}

// The label names `org` or `org_id` anywhere in a query (matchers, by/without/on lists).
inline bool uses_org_label(std::string_view expr) {
  for (const auto& t : promql_identifiers(expr)) {
    if (t.text == "org" || t.text == "org_id") return true;
  }
  return false;
}

// ------------------------------------------------------------------------------ rule files

struct RuleFile {
  fs::path path;
  std::vector<Query> queries;       // every `expr`, where = "<file>: alert X" / "record X"
  std::set<std::string> records;    // names defined by `record:`
  std::vector<std::string> alerts;  // names defined by `alert:`
  std::vector<std::pair<std::string, std::string>> runbook_urls;  // (alert, url)
  std::size_t records_seen = 0;  // `record:` entries, duplicates included
  std::size_t rules() const { return records_seen + alerts.size(); }
};

namespace yaml {

inline std::size_t indent_of(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

inline std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

inline bool blank_or_comment(std::string_view line) {
  const auto t = trim(line);
  return t.empty() || t[0] == '#';
}

// The scalar value of a `key: ...` entry whose key starts at column `key_col` of
// lines[at], with `rest` the text after the colon; `at` moves to the last line it used.
inline std::string scalar(const std::vector<std::string>& lines, std::size_t& at,
                          std::size_t key_col, std::string rest) {
  rest = trim(rest);
  const auto more_indented = [&](std::size_t i) {
    return i < lines.size() && (trim(lines[i]).empty() || indent_of(lines[i]) > key_col);
  };
  if (!rest.empty() && (rest[0] == '|' || rest[0] == '>')) {
    const bool literal = rest[0] == '|';
    std::vector<std::string> body;
    std::size_t content_indent = std::string::npos;
    while (more_indented(at + 1)) {
      const auto& line = lines[++at];
      if (trim(line).empty()) {
        body.emplace_back();
        continue;
      }
      if (content_indent == std::string::npos) content_indent = indent_of(line);
      body.push_back(line.substr(std::min(content_indent, indent_of(line))));
    }
    while (!body.empty() && body.back().empty()) body.pop_back();
    std::string out;
    for (std::size_t i = 0; i < body.size(); ++i)
      out += (i ? (literal ? "\n" : " ") : "") + body[i];
    return out;
  }
  if (!rest.empty() && (rest[0] == '"' || rest[0] == '\'')) {
    const char quote = rest[0];
    std::string text = rest.substr(1);
    std::string out;
    for (;;) {
      for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quote == '\'' && c == '\'') {
          if (i + 1 < text.size() && text[i + 1] == '\'') {
            out += '\'';
            ++i;
            continue;
          }
          return out;
        }
        if (quote == '"' && c == '"') return out;
        if (quote == '"' && c == '\\' && i + 1 < text.size()) {
          const char e = text[++i];
          out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
          continue;
        }
        out += c;
      }
      if (at + 1 >= lines.size()) throw std::runtime_error("unterminated quoted scalar");
      out += ' ';  // a line break inside a quoted scalar folds to a space
      text = trim(lines[++at]);
    }
  }
  // A plain scalar: this line (without a trailing comment) and more-indented continuations.
  const auto strip_comment = [](std::string s) {
    if (s.rfind("#", 0) == 0) return std::string();
    if (const auto hash = s.find(" #"); hash != std::string::npos) s.resize(hash);
    return trim(s);
  };
  std::string out = strip_comment(rest);
  while (at + 1 < lines.size() && !trim(lines[at + 1]).empty() &&
         indent_of(lines[at + 1]) > key_col && !blank_or_comment(lines[at + 1])) {
    const auto part = strip_comment(lines[++at]);
    out += out.empty() ? part : " " + part;
  }
  return out;
}

}  // namespace yaml

// Reads the `record`, `alert`, `expr` and `runbook_url` entries of a Prometheus rule file.
inline RuleFile read_rule_file(const fs::path& path) {
  RuleFile file;
  file.path = path;
  std::vector<std::string> lines;
  {
    std::istringstream in(read_text(path));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(line);
    }
  }
  std::string rule = "?";
  for (std::size_t at = 0; at < lines.size(); ++at) {
    const std::string& line = lines[at];
    std::size_t col = yaml::indent_of(line);
    while (col != std::string::npos && line.compare(col, 2, "- ") == 0)
      col = line.find_first_not_of(' ', col + 2);
    if (col == std::string::npos || line[col] == '#') continue;
    const auto colon = line.find(':', col);
    if (colon == std::string::npos || (colon + 1 < line.size() && line[colon + 1] != ' ')) continue;
    const std::string key = line.substr(col, colon - col);
    if (key != "record" && key != "alert" && key != "expr" && key != "runbook_url") continue;
    const std::string value = yaml::scalar(lines, at, col, line.substr(colon + 1));
    const std::string name = path.filename().string();
    if (key == "record") {
      file.records.insert(value);
      ++file.records_seen;
      rule = "record " + value;
    } else if (key == "alert") {
      file.alerts.push_back(value);
      rule = "alert " + value;
    } else if (key == "expr") {
      file.queries.push_back({name + ": " + rule, value});
    } else {
      file.runbook_urls.emplace_back(rule.substr(rule.find(' ') + 1), value);
    }
  }
  return file;
}

inline std::vector<fs::path> rule_file_paths() {
  std::vector<fs::path> out;
  if (!fs::is_directory(rules_dir())) return out;
  for (const auto& entry : fs::directory_iterator(rules_dir())) {
    const auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yml" || ext == ".yaml")) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ------------------------------------------------------------------------------ promtool

// promtool from $PATH, else /usr/bin/promtool; empty when neither exists.
inline std::string find_promtool() {
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      if (dir.empty()) continue;
      const fs::path candidate = fs::path(dir) / "promtool";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return ::access("/usr/bin/promtool", X_OK) == 0 ? "/usr/bin/promtool" : "";
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  char buffer[4096];
  while (const auto n = std::fread(buffer, 1, sizeof buffer, pipe)) r.output.append(buffer, n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A temporary directory removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "folio-monitoring-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The record name `check_rules` gives the i-th query.
inline std::string check_rule_name(std::size_t i) { return "query_" + std::to_string(i); }

// `promtool check rules` on a rule file with each query as a recording rule (named
// check_rule_name(i)); the output ends with the list of the queries by rule name.
inline CommandResult check_rules(const std::vector<Query>& queries) {
  const std::string promtool = find_promtool();
  if (promtool.empty()) return {-1, "promtool not found in PATH nor at /usr/bin/promtool"};
  TempDir dir;
  const fs::path file = dir.path() / "queries.rules.yml";
  std::string index;
  {
    std::ofstream out(file);
    out << "groups:\n  - name: queries\n    rules:\n";
    for (std::size_t i = 0; i < queries.size(); ++i) {
      out << "      - record: " << check_rule_name(i) << "\n        expr: |-\n";
      std::istringstream lines(queries[i].expr);
      for (std::string line; std::getline(lines, line);) out << "          " << line << "\n";
      index += "  " + check_rule_name(i) + " = " + queries[i].where + ": " + queries[i].expr + "\n";
    }
  }
  auto r = run_command("'" + promtool + "' check rules '" + file.string() + "'");
  r.output = "promtool check rules:\n" + r.output + "queries:\n" + index;
  return r;
}

// promtool's count of the rules of one rule file ("SUCCESS: N rules found"), nullopt (with
// the output) when it fails.
inline std::pair<std::optional<std::size_t>, std::string> promtool_rule_count(
    const fs::path& file) {
  const std::string promtool = find_promtool();
  if (promtool.empty()) return {std::nullopt, "promtool not found"};
  const auto r = run_command("'" + promtool + "' check rules '" + file.string() + "'");
  const auto at = r.output.find(" rules found");
  if (r.exit_code != 0 || at == std::string::npos) return {std::nullopt, r.output};
  auto start = r.output.rfind(' ', at - 1);
  return {std::stoul(r.output.substr(start + 1, at - start - 1)), r.output};
}

// ------------------------------------------------------------------------------ runbook

// GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as '-'.
inline std::string github_anchor(std::string_view heading) {
  std::string out;
  for (const char c : heading) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_') {
      out += static_cast<char>(std::tolower(u));
    } else if (c == ' ') {
      out += '-';
    }
  }
  return out;
}

}  // namespace folio::test::monitoring
