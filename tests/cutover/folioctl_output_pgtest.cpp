// folioctl's output for people and for programs, on a small seeded database: `switchover
// backfill` and `switchover verify` run under a pseudo-terminal (util-linux `script`), with
// stdout to a pipe, and with --json.
//   terminal: readable summaries and logs, a progress bar; no JSON object on any line and no
//             number with an exponent anywhere.
//   pipe, --json: stdout is one JSON document per result whose numbers are JSON numbers;
//             every stderr line is a JSON object.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/cutover_database.hpp"

namespace folio::cutover {
namespace {

namespace json = boost::json;

const std::regex kExponent("[0-9]E[+-]?[0-9]");

struct Output {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `command` through /bin/sh with stdin from /dev/null and stdout, stderr captured apart.
Output run_shell(const std::string& command) {
  const std::string base = ::testing::TempDir() + "folioctl_output_" + std::to_string(::getpid());
  const std::string out_path = base + ".out";
  const std::string err_path = base + ".err";
  const int status = std::system((command + " </dev/null >" + out_path + " 2>" + err_path).c_str());
  Output r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  return r;
}

std::string folioctl(const std::string& args) { return std::string(FOLIOCTL_PATH) + " " + args; }

// folioctl on a pseudo-terminal: its stdout and stderr both reach `out`, as a person sees them.
Output on_terminal(const std::string& args) {
  return run_shell("script -qec '" + folioctl(args) + "' /dev/null");
}

Output piped(const std::string& args) { return run_shell(folioctl(args)); }

// Lines as a terminal shows them: split at newlines and carriage returns (each redraw of the
// progress bar), escape sequences removed.
std::vector<std::string> screen_lines(const std::string& text) {
  static const std::regex escape("\x1b\\[[0-9;?]*[A-Za-z]");
  std::vector<std::string> lines;
  std::string line;
  for (const char c : std::regex_replace(text, escape, "")) {
    if (c == '\n' || c == '\r') {
      if (!line.empty()) lines.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

std::vector<std::string> text_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

bool parses_as_object(const std::string& line) {
  boost::system::error_code ec;
  const auto v = json::parse(line, ec);
  return !ec && v.is_object();
}

void expect_human(const Output& r, const std::string& what) {
  const std::string all = r.out + r.err;
  EXPECT_FALSE(std::regex_search(all, kExponent)) << what << ":\n" << all;
  for (const auto& line : screen_lines(all)) {
    EXPECT_FALSE(parses_as_object(line)) << what << ": a JSON line for a person: " << line;
  }
}

// The one JSON document of a run's stdout, and every stderr line a JSON log line.
json::object expect_machine(const Output& r, const std::string& what) {
  EXPECT_FALSE(std::regex_search(r.out + r.err, kExponent)) << what << ":\n" << r.out << r.err;
  for (const auto& line : text_lines(r.err)) {
    EXPECT_TRUE(parses_as_object(line)) << what << ": stderr line is not JSON: " << line;
    if (!parses_as_object(line)) continue;
    const auto log = json::parse(line).as_object();
    EXPECT_TRUE(log.contains("level") && log.contains("msg") && log.contains("ts")) << line;
  }
  const auto docs = text_lines(r.out);
  [&] { ASSERT_EQ(docs.size(), 1u) << what << ":\n" << r.out; }();
  if (docs.size() != 1) return {};
  boost::system::error_code ec;
  auto doc = json::parse(docs[0], ec);
  [&] { ASSERT_FALSE(ec) << what << ": " << docs[0]; }();
  if (ec || !doc.is_object()) return {};
  return doc.as_object();
}

void expect_number(const json::object& o, std::string_view key, const std::string& what) {
  const auto* v = o.if_contains(key);
  ASSERT_NE(v, nullptr) << what << ": no " << key;
  EXPECT_TRUE(v->is_number()) << what << ": " << key << " is " << json::serialize(*v);
}

void expect_phase_numbers(const json::object& doc, const std::string& phase,
                          const std::string& what) {
  EXPECT_EQ(doc.at("phase").as_string(), phase) << what;
  EXPECT_TRUE(doc.at("audit_id").is_int64()) << what;
  expect_number(doc, "seconds", what);
  const auto& details = doc.at("details").as_object();
  expect_number(details, "seconds", what + " details");
  expect_number(details, "rows_per_s", what + " details");
  for (const auto& side : doc.at("after").as_array()) {
    expect_number(side.as_object(), "rows", what + " after");
  }
}

TEST(FolioctlOutput, ReadableOnATerminalJsonForPrograms) {
  test::CutoverDatabase db("folioctl_output", 60, 20, 6);
  const std::string url = " --database-url '" + db.dsn() + "'";
  for (const char* step : {"prepare", "sync-on"}) {
    const auto r = piped(std::string("switchover ") + step + url);
    ASSERT_EQ(r.exit_code, 0) << step << ":\n" << r.out << r.err;
  }

  // The backfill that copies, as an operator watches it.
  const auto backfill = on_terminal("switchover backfill --batch-size 200" + url);
  ASSERT_EQ(backfill.exit_code, 0) << backfill.out << backfill.err;
  expect_human(backfill, "backfill on a terminal");
  EXPECT_NE(backfill.out.find("backfill: ok in "), std::string::npos) << backfill.out;
  EXPECT_NE(backfill.out.find(" rows/s"), std::string::npos) << backfill.out;
  EXPECT_NE(backfill.out.find("\r["), std::string::npos) << "no progress bar:\n" << backfill.out;
  EXPECT_NE(backfill.out.find("100.0%"), std::string::npos) << backfill.out;
  EXPECT_NE(backfill.out.find(" INFO  cutover."), std::string::npos) << "no human log line";

  const auto verify = on_terminal("switchover verify" + url);
  ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  expect_human(verify, "verify on a terminal");
  EXPECT_NE(verify.out.find("verify: ok in "), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("CLEAN"), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("\r["), std::string::npos) << "no progress bar:\n" << verify.out;
  // The result once: the summary table, not a dump of the details beside it.
  EXPECT_EQ(verify.out.find("buckets checked"), std::string::npos) << verify.out;

  // stdout to a pipe: JSON without asking; no bar.
  for (const std::string command : {"backfill", "verify"}) {
    const auto r = piped("switchover " + command + url);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
    const auto doc = expect_machine(r, command + " piped");
    if (doc.empty()) continue;
    expect_phase_numbers(doc, command, command + " piped");
    EXPECT_EQ(doc.at("status").as_string(), command == "backfill" ? "noop" : "ok");
  }

  // --json on a terminal: JSON all the same, on both streams (which the terminal merges).
  const auto json_verify = on_terminal("switchover verify --json --audit-stats full" + url);
  ASSERT_EQ(json_verify.exit_code, 0) << json_verify.out;
  std::vector<json::object> docs;
  for (const auto& line : text_lines(json_verify.out)) {
    std::string clean = line;
    if (!clean.empty() && clean.back() == '\r') clean.pop_back();
    ASSERT_TRUE(parses_as_object(clean)) << "not JSON under --json: " << clean;
    auto o = json::parse(clean).as_object();
    if (o.contains("phase") && !o.contains("msg")) docs.push_back(std::move(o));
  }
  EXPECT_FALSE(std::regex_search(json_verify.out, kExponent)) << json_verify.out;
  ASSERT_EQ(docs.size(), 1u) << json_verify.out;
  expect_phase_numbers(docs[0], "verify", "verify --json");
  const auto& report = docs[0].at("report").as_object();
  EXPECT_TRUE(report.at("clean").as_bool());
  expect_number(report, "seconds", "report");
  expect_number(report, "rows_per_s", "report");
  for (const auto& t : report.at("tables").as_array()) {
    expect_number(t.as_object(), "rows_legacy", "report table");
  }
  for (const auto& side : docs[0].at("after").as_array()) {
    EXPECT_TRUE(side.as_object().at("checksum").is_string());  // may exceed 64 bits
  }

  // A failure in JSON mode is a JSON log line too; on a terminal, one plain line.
  const auto refused =
      piped("switchover verify --json --database-url 'postgresql:///nothing?host=/nonexistent'");
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_TRUE(refused.out.empty()) << refused.out;
  for (const auto& line : text_lines(refused.err)) EXPECT_TRUE(parses_as_object(line)) << line;
  const auto usage = on_terminal("switchover verify --since yesterday" + url);
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.out.find("folioctl: --since must look like YYYY-MM-DD"), std::string::npos)
      << usage.out;
}

}  // namespace
}  // namespace folio::cutover
