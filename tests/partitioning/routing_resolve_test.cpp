// RoutingStore's pure parts: resolve (pilot > fleet > environment), target names, JSON.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "folio/partitioning/routing_store.hpp"

namespace folio::partitioning {
namespace {

TEST(RoutingResolve, EnvironmentDefaultWithoutRows) {
  const RoutingSnapshot empty;
  EXPECT_EQ(resolve(empty, 7, Target::legacy), Target::legacy);
  EXPECT_EQ(resolve(empty, 7, Target::partitioned), Target::partitioned);
}

TEST(RoutingResolve, FleetOverridesEnvironment) {
  RoutingSnapshot s;
  s.fleet = Target::partitioned;
  EXPECT_EQ(resolve(s, 7, Target::legacy), Target::partitioned);
  s.fleet = Target::legacy;
  EXPECT_EQ(resolve(s, 7, Target::partitioned), Target::legacy);
}

TEST(RoutingResolve, PilotOverridesFleetForItsOrganizationOnly) {
  RoutingSnapshot s;
  s.fleet = Target::legacy;
  s.pilots = {{7, Target::partitioned}, {8, Target::legacy}};
  EXPECT_EQ(resolve(s, 7, Target::legacy), Target::partitioned);
  EXPECT_EQ(resolve(s, 8, Target::partitioned), Target::legacy);
  EXPECT_EQ(resolve(s, 9, Target::partitioned), Target::legacy);  // the fleet row
  s.fleet.reset();
  EXPECT_EQ(resolve(s, 9, Target::partitioned), Target::partitioned);  // the environment
  EXPECT_EQ(resolve(s, 8, Target::partitioned), Target::legacy);
}

TEST(RoutingTarget, ParsesOnlyExactNames) {
  EXPECT_EQ(parse_target("legacy"), Target::legacy);
  EXPECT_EQ(parse_target("partitioned"), Target::partitioned);
  EXPECT_EQ(parse_target("Partitioned"), std::nullopt);
  EXPECT_EQ(parse_target(""), std::nullopt);
  EXPECT_EQ(to_string(Target::legacy), "legacy");
  EXPECT_EQ(to_string(Target::partitioned), "partitioned");
  EXPECT_EQ(kRoutingChannel, "folio_partition_routing");
}

TEST(RoutingSnapshotEquality, ComparesRowsNotVersion) {
  RoutingSnapshot a;
  a.fleet = Target::partitioned;
  a.pilots = {{1, Target::partitioned}};
  a.version = 3;
  RoutingSnapshot b = a;
  b.version = 9;
  EXPECT_EQ(a, b);
  b.pilots[2] = Target::legacy;
  EXPECT_FALSE(a == b);
}

TEST(RoutingJson, SummarisesSnapshotAndChanges) {
  RoutingSnapshot s;
  s.fleet = Target::partitioned;
  s.version = 5;
  for (std::int64_t org = 1; org <= 25; ++org) {
    s.pilots[org] = org <= 3 ? Target::legacy : Target::partitioned;
  }
  const auto j = to_json(s);
  EXPECT_EQ(j.at("fleet").as_string(), "partitioned");
  EXPECT_EQ(j.at("pilots").as_int64(), 25);
  EXPECT_EQ(j.at("pilots_legacy").as_int64(), 3);
  EXPECT_EQ(j.at("pilots_partitioned").as_int64(), 22);
  EXPECT_EQ(j.at("pilot_orgs").as_array().size(), 20u);
  EXPECT_EQ(j.at("version").as_int64(), 5);
  EXPECT_TRUE(to_json(RoutingSnapshot{}).at("fleet").is_null());

  const std::vector<RoutingChange> changes = {{"fleet", 0, std::nullopt, Target::partitioned},
                                              {"pilot", 4, Target::partitioned, std::nullopt}};
  EXPECT_EQ(boost::json::serialize(to_json(changes)),
            R"([{"scope":"fleet","org_id":0,"before":null,"after":"partitioned"},)"
            R"({"scope":"pilot","org_id":4,"before":"partitioned","after":null}])");
  EXPECT_EQ(to_json(changes, 1).size(), 1u);
}

}  // namespace
}  // namespace folio::partitioning
