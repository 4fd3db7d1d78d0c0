// The Grafana dashboard (deploy/grafana/folio-dashboard.json) is loadable and consistent:
// fixed uid, a Prometheus data source variable that every panel uses, a description, a unit
// and queries on every panel, unique ids, panels that do not overlap, the expected rows, no
// organization label, and every query valid PromQL as Prometheus itself parses it
// (`promtool check rules`). Also the query reading of queries.hpp that the metric
// contract test relies on.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "queries.hpp"

namespace folio::test::monitoring {
namespace {

namespace json = boost::json;

const std::vector<std::string> kRows = {"API",      "Cutover", "Partitions",
                                        "Replicas", "Pools",   "Cache"};

std::string text_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool is_row(const json::object& panel) { return text_of(panel, "type") == "row"; }

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

class Dashboard : public ::testing::Test {
 protected:
  void SetUp() override {
    json::error_code ec;
    const auto text = read_text(dashboard_path());
    auto value = json::parse(text, ec);
    ASSERT_FALSE(ec) << dashboard_path() << " is not valid JSON: " << ec.message();
    ASSERT_TRUE(value.is_object());
    dashboard_ = value.as_object();
  }
  json::object dashboard_;
};

TEST_F(Dashboard, HasTheFixedUidTitleAndSchema) {
  EXPECT_EQ(text_of(dashboard_, "uid"), "folio-overview");
  EXPECT_EQ(text_of(dashboard_, "title"), "folio");
  const auto* schema = dashboard_.if_contains("schemaVersion");
  ASSERT_NE(schema, nullptr);
  ASSERT_TRUE(schema->is_int64());
  EXPECT_GE(schema->as_int64(), 36);
  EXPECT_LE(schema->as_int64(), 39);
}

TEST_F(Dashboard, HasAPrometheusDatasourceVariable) {
  const auto* list = dashboard_.if_contains("templating");
  ASSERT_NE(list, nullptr);
  bool found = false;
  for (const auto& v : list->at("list").as_array()) {
    const auto& var = v.as_object();
    if (text_of(var, "name") != "datasource") continue;
    found = true;
    EXPECT_EQ(text_of(var, "type"), "datasource");
    EXPECT_EQ(text_of(var, "query"), "prometheus");
  }
  EXPECT_TRUE(found) << "no templating variable named datasource";
}

TEST_F(Dashboard, EveryPanelHasADescriptionUnitDatasourceAndQueries) {
  const json::value datasource = {{"type", "prometheus"}, {"uid", "${datasource}"}};
  std::vector<std::string> problems;
  std::size_t checked = 0;
  for (const auto* panel : dashboard_panels(dashboard_)) {
    if (is_row(*panel)) continue;
    ++checked;
    const auto name = panel_name(*panel);
    if (text_of(*panel, "description").empty()) problems.push_back(name + ": no description");
    const auto* defaults =
        panel->if_contains("fieldConfig") != nullptr && panel->at("fieldConfig").is_object()
            ? panel->at("fieldConfig").as_object().if_contains("defaults")
            : nullptr;
    if (defaults == nullptr || !defaults->is_object() ||
        text_of(defaults->as_object(), "unit").empty()) {
      problems.push_back(name + ": no fieldConfig.defaults.unit");
    }
    const auto* ds = panel->if_contains("datasource");
    if (ds == nullptr || *ds != datasource) {
      problems.push_back(name + ": datasource is " + (ds ? json::serialize(*ds) : "missing") +
                         ", not " + json::serialize(datasource));
    }
    const auto* targets = panel->if_contains("targets");
    if (targets == nullptr || !targets->is_array() || targets->as_array().empty()) {
      problems.push_back(name + ": no targets");
      continue;
    }
    for (const auto& t : targets->as_array()) {
      const auto& target = t.as_object();
      const auto where = name + " target " + text_of(target, "refId");
      if (text_of(target, "expr").empty()) problems.push_back(where + ": empty expr");
      if (text_of(target, "legendFormat").empty()) problems.push_back(where + ": no legendFormat");
      if (const auto* tds = target.if_contains("datasource"); tds != nullptr && *tds != datasource)
        problems.push_back(where + ": datasource is " + json::serialize(*tds));
    }
  }
  EXPECT_GT(checked, 20u) << "the dashboard has almost no panels";
  EXPECT_TRUE(problems.empty()) << join(problems);
}

TEST_F(Dashboard, PanelIdsAreUniqueAndPanelsDoNotOverlap) {
  std::map<std::int64_t, std::string> ids;
  std::vector<std::string> problems;
  struct Box {
    std::string name;
    std::int64_t x, y, w, h;
  };
  std::vector<Box> boxes;
  for (const auto* panel : dashboard_panels(dashboard_)) {
    const auto name = panel_name(*panel);
    const auto* id = panel->if_contains("id");
    if (id == nullptr || !id->is_int64()) {
      problems.push_back(name + ": no integer id");
    } else if (const auto [it, added] = ids.emplace(id->as_int64(), name); !added) {
      problems.push_back(name + ": id already used by " + it->second);
    }
    const auto* pos = panel->if_contains("gridPos");
    if (pos == nullptr || !pos->is_object()) {
      problems.push_back(name + ": no gridPos");
      continue;
    }
    const auto& p = pos->as_object();
    Box b{name, p.at("x").to_number<std::int64_t>(), p.at("y").to_number<std::int64_t>(),
          p.at("w").to_number<std::int64_t>(), p.at("h").to_number<std::int64_t>()};
    if (b.w <= 0 || b.h <= 0 || b.x < 0 || b.y < 0 || b.x + b.w > 24)
      problems.push_back(name + ": gridPos outside the 24-column grid");
    boxes.push_back(b);
  }
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    for (std::size_t j = i + 1; j < boxes.size(); ++j) {
      const auto& a = boxes[i];
      const auto& b = boxes[j];
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h)
        problems.push_back(a.name + " overlaps " + b.name);
    }
  }
  EXPECT_TRUE(problems.empty()) << join(problems);
}

TEST_F(Dashboard, HasEveryRowEachWithPanels) {
  const auto& panels = dashboard_.at("panels").as_array();
  std::map<std::string, std::size_t> row_panels;
  std::string current;
  for (const auto& p : panels) {
    const auto& panel = p.as_object();
    if (is_row(panel)) {
      current = text_of(panel, "title");
      EXPECT_FALSE(row_panels.contains(current)) << "two rows titled " << current;
      row_panels[current] = panel.contains("panels") ? panel.at("panels").as_array().size() : 0;
    } else if (!current.empty()) {
      ++row_panels[current];
    }
  }
  for (const auto& title : kRows) {
    ASSERT_TRUE(row_panels.contains(title)) << "no row titled \"" << title << "\"";
    EXPECT_GT(row_panels[title], 0u) << "row \"" << title << "\" has no panels";
  }
}

TEST_F(Dashboard, NoQueryUsesAnOrganizationLabel) {
  std::vector<std::string> problems;
  for (const auto& q : dashboard_queries(dashboard_)) {
    if (uses_org_label(q.expr)) problems.push_back(q.where + ": " + q.expr);
  }
  for (const auto* panel : dashboard_panels(dashboard_)) {
    const auto* targets = panel->if_contains("targets");
    if (targets == nullptr || !targets->is_array()) continue;
    for (const auto& t : targets->as_array()) {
      const auto legend = text_of(t.as_object(), "legendFormat");
      if (legend.find("{{org}}") != std::string::npos ||
          legend.find("{{org_id}}") != std::string::npos ||
          legend.find("{{ org") != std::string::npos) {
        problems.push_back(panel_name(*panel) + " legend: " + legend);
      }
    }
  }
  EXPECT_TRUE(problems.empty()) << "queries by organization (metrics have no org label):\n"
                                << join(problems);
}

TEST_F(Dashboard, EveryQueryIsValidPromQL) {
  ASSERT_FALSE(find_promtool().empty()) << "promtool not found (apt-get install prometheus)";
  std::vector<Query> queries;
  for (const auto& q : dashboard_queries(dashboard_)) {
    queries.push_back({q.where, grafana_to_promql(q.expr)});
  }
  ASSERT_GT(queries.size(), 20u);
  const auto r = check_rules(queries);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(std::to_string(queries.size()) + " rules found"), std::string::npos)
      << r.output;
}

// The check above can fail: promtool refuses a query Prometheus could not parse.
TEST(DashboardQueryCheck, RejectsAnInvalidQuery) {
  ASSERT_FALSE(find_promtool().empty());
  const auto good = check_rules({{"good", "sum by (route) (rate(folio_x_total[1m]))"}});
  EXPECT_EQ(good.exit_code, 0) << good.output;
  const auto bad = check_rules({{"good", "sum by (route) (rate(folio_x_total[1m]))"},
                                {"unbalanced", "sum by (route) (rate(folio_x_total[1m])"}});
  EXPECT_NE(bad.exit_code, 0) << bad.output;
  EXPECT_NE(bad.output.find("query_1"), std::string::npos) << bad.output;
}

TEST(DashboardQueryCheck, GrafanaVariablesBecomePlainPromQL) {
  EXPECT_EQ(grafana_to_promql(R"(rate(x{instance=~"$instance"}[$__rate_interval]))"),
            R"(rate(x{instance=~"x"}[1m]))");
  EXPECT_EQ(grafana_to_promql(R"(increase(x{a="${a:regex}",b="[[b]]"}[${__range}]) / $__range_s)"),
            R"(increase(x{a="x",b="x"}[1m]) / 60)");
  EXPECT_EQ(grafana_to_promql(R"q(label_replace(x, "d", "$1", "s", "(.*)"))q"),
            R"q(label_replace(x, "d", "$1", "s", "(.*)"))q");
}

TEST(QueryNames, OnlyMetricNamesOutsideMatchersAndStrings) {
  const auto names = metric_names(
      "sum by (route, folio_label) (rate(folio_http_requests_total{route=~\"folio_not_a_name\", "
      "x=\"}\"}[5m])) / on (le) folio_http_request_duration_seconds_bucket "
      "+ folio:pilot_regression + folio_x:rate5m + Folio_upper + up + ALERTS # folio_comment\n"
      "- histogram_quantile(0.99, folio_y_bucket) * 1e3 + folio_z_total offset 5m");
  EXPECT_EQ(names, (std::set<std::string>{"folio_http_request_duration_seconds_bucket",
                                          "folio_http_requests_total", "folio_y_bucket",
                                          "folio_z_total"}));
  EXPECT_EQ(metric_names("sum without (folio_a) (folio_b) * ON(folio_c) GROUP_LEFT (folio_d) "
                         "folio_e"),
            (std::set<std::string>{"folio_b", "folio_e"}));
  EXPECT_TRUE(uses_org_label(R"(sum by (org_id) (x))"));
  EXPECT_TRUE(uses_org_label(R"(x{org="1"})"));
  EXPECT_FALSE(uses_org_label(R"(x{route="/v1/orgs/{org}/revenues"})"));
}

TEST(QueryNames, RuleFileReaderReadsEveryScalarStyle) {
  TempDir dir;
  const auto file = dir.path() / "r.yml";
  std::ofstream(file) << R"yaml(groups:
  - name: a   # a comment
    rules:
      - record: folio:plain:rate1m
        expr: sum(rate(folio_plain_total[1m]))
      - record: folio_recorded
        expr: "sum(folio_quoted{a=\"b\"})"
      - alert: FolioBlock
        expr: |
          folio_block_one
            > on () group_left
          folio_block_two
        for: 1m
        labels:
          severity: warning
        annotations:
          summary: "x"
          runbook_url: https://example.com/runbook.md#folioblock
  - name: b
    rules:
      - alert: FolioFolded
        expr: >-
          folio_folded
          > 0
        annotations:
          runbook_url: 'https://example.com/runbook.md#foliofolded'
      - alert: FolioMultiLinePlain
        expr: folio_plain_one
          + folio_plain_two
      - record: folio:single
        expr: 'folio_single{a=''b''}'
)yaml";
  const auto rules = read_rule_file(file);
  ASSERT_EQ(rules.queries.size(), 6u);
  EXPECT_EQ(rules.queries[0].expr, "sum(rate(folio_plain_total[1m]))");
  EXPECT_EQ(rules.queries[1].expr, R"(sum(folio_quoted{a="b"}))");
  EXPECT_EQ(rules.queries[2].expr, "folio_block_one\n  > on () group_left\nfolio_block_two");
  EXPECT_EQ(rules.queries[2].where, "r.yml: alert FolioBlock");
  EXPECT_EQ(rules.queries[3].expr, "folio_folded > 0");
  EXPECT_EQ(rules.queries[4].expr, "folio_plain_one + folio_plain_two");
  EXPECT_EQ(rules.queries[5].expr, "folio_single{a='b'}");
  EXPECT_EQ(rules.records,
            (std::set<std::string>{"folio:plain:rate1m", "folio_recorded", "folio:single"}));
  EXPECT_EQ(rules.alerts,
            (std::vector<std::string>{"FolioBlock", "FolioFolded", "FolioMultiLinePlain"}));
  EXPECT_EQ(rules.runbook_urls,
            (std::vector<std::pair<std::string, std::string>>{
                {"FolioBlock", "https://example.com/runbook.md#folioblock"},
                {"FolioFolded", "https://example.com/runbook.md#foliofolded"}}));
  const auto [count, output] = promtool_rule_count(file);
  ASSERT_TRUE(count.has_value()) << output;
  EXPECT_EQ(*count, rules.rules());
  const auto r = check_rules(rules.queries);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(github_anchor("FolioReplicaOutOfRotation"), "folioreplicaoutofrotation");
  EXPECT_EQ(github_anchor("Pool saturated (primary)"), "pool-saturated-primary");
}

// The reader sees every rule of the repository's rule files, and the queries it extracts
// are the ones Prometheus parses.
TEST(QueryNames, RuleFileReaderAgreesWithPromtoolOnTheRepositoryRules) {
  const auto files = rule_file_paths();
  if (files.empty()) GTEST_SKIP() << "no rule files in " << rules_dir();
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    const auto rules = read_rule_file(path);
    const auto [count, output] = promtool_rule_count(path);
    ASSERT_TRUE(count.has_value()) << output;
    EXPECT_EQ(*count, rules.rules());
    EXPECT_EQ(rules.queries.size(), rules.rules());
    const auto r = check_rules(rules.queries);
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
}

}  // namespace
}  // namespace folio::test::monitoring
