// The pure parts of PartitioningManager: the decision rule, physical table names and the
// USE_PARTITIONED_TABLES parser.
#include "folio/partitioning/partitioning_manager.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace folio::partitioning {
namespace {

TEST(Decide, PilotBeatsFleetBeatsDefault) {
  RoutingSnapshot s;
  auto d = decide(s, Table::revenues, 1, Target::partitioned);
  EXPECT_EQ(d.target, Target::partitioned);
  EXPECT_EQ(d.reason, Reason::default_);
  EXPECT_EQ(d.table_name, "revenues_partitioned");

  s.fleet = Target::legacy;
  d = decide(s, Table::expenses, 1, Target::partitioned);
  EXPECT_EQ(d.target, Target::legacy);
  EXPECT_EQ(d.reason, Reason::fleet);
  EXPECT_EQ(d.table_name, "expenses");

  s.pilots[1] = Target::partitioned;
  d = decide(s, Table::balances, 1, Target::legacy);
  EXPECT_EQ(d.target, Target::partitioned);
  EXPECT_EQ(d.reason, Reason::pilot);
  EXPECT_EQ(d.table_name, "balances_partitioned");
  EXPECT_EQ(decide(s, Table::balances, 2, Target::legacy).table_name, "balances");
}

TEST(EnvDefault, ParsesBooleansStrictly) {
  EXPECT_EQ(env_default_from(nullptr), Target::legacy);
  EXPECT_EQ(env_default_from(""), Target::legacy);
  for (const char* yes : {"true", "TRUE", "1", "yes", "on"}) {
    EXPECT_EQ(env_default_from(yes), Target::partitioned) << yes;
  }
  for (const char* no : {"false", "False", "0", "no", "off"}) {
    EXPECT_EQ(env_default_from(no), Target::legacy) << no;
  }
  EXPECT_THROW(env_default_from("partitioned"), std::invalid_argument);
  EXPECT_THROW(env_default_from("2"), std::invalid_argument);
}

TEST(PhysicalName, EveryTableAndTarget) {
  EXPECT_EQ(physical_name(Table::revenues, Target::legacy), "revenues");
  EXPECT_EQ(physical_name(Table::expenses, Target::partitioned), "expenses_partitioned");
  EXPECT_EQ(to_string(Table::balances), "balances");
  EXPECT_EQ(to_string(Reason::default_), "default");
}

}  // namespace
}  // namespace folio::partitioning
