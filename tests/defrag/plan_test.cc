// defrag planning: order, rule decisions, health verdicts, compaction target.
#include "defrag/plan.h"

#include <gtest/gtest.h>

namespace etcdd::defrag {
namespace {

MemberState Member(const std::string& ep, uint64_t id, uint64_t leader, int64_t size = 100,
                   int64_t in_use = 100) {
  MemberState m;
  m.endpoint = ep;
  m.member_id = id;
  m.leader_id = leader;
  m.db_size = size;
  m.db_size_in_use = in_use;
  return m;
}

std::vector<std::string> Endpoints(const std::vector<PlanEntry>& plan) {
  std::vector<std::string> eps;
  for (const auto& e : plan) eps.push_back(e.member.endpoint);
  return eps;
}

TEST(MakePlan, FollowersInGivenOrderThenTheLeader) {
  auto plan = MakePlan({Member("a", 1, 2), Member("b", 2, 2), Member("c", 3, 2)}, nullptr, 1000);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Endpoints(*plan), (std::vector<std::string>{"a", "c", "b"}));
  EXPECT_TRUE(plan->back().member.is_leader());
  for (const auto& e : *plan) {
    EXPECT_TRUE(e.defrag);
    EXPECT_EQ(e.reason, "no rule");
  }
}

TEST(MakePlan, AMemberListedTwiceIsVisitedOnce) {
  auto plan = MakePlan({Member("a1", 1, 1), Member("b", 2, 1), Member("a2", 1, 1)}, nullptr, 1);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Endpoints(*plan), (std::vector<std::string>{"b", "a1"}));
}

TEST(MakePlan, TheRuleDecidesEachMember) {
  auto rule = Rule::Parse(Rule::MinFreeRatioExpression(0.5));
  ASSERT_TRUE(rule.ok());
  auto plan =
      MakePlan({Member("a", 1, 3, 100, 40), Member("b", 2, 3, 100, 90), Member("c", 3, 3, 100, 10)},
               &*rule, 1000);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->size(), 3u);
  EXPECT_TRUE((*plan)[0].defrag);
  EXPECT_EQ((*plan)[0].reason, "rule holds");
  EXPECT_FALSE((*plan)[1].defrag);
  EXPECT_EQ((*plan)[1].reason, "rule does not hold");
  EXPECT_TRUE((*plan)[2].defrag);
  EXPECT_EQ((*plan)[2].member.endpoint, "c");
}

TEST(MakePlan, QuotaReachesTheRule) {
  auto rule = Rule::Parse(Rule::MinQuotaUsageExpression(0.8));
  ASSERT_TRUE(rule.ok());
  auto plan = MakePlan({Member("a", 1, 1, 900, 900)}, &*rule, 1000);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->front().defrag);
  plan = MakePlan({Member("a", 1, 1, 700, 700)}, &*rule, 1000);
  EXPECT_FALSE(plan->front().defrag);
}

TEST(UnhealthyReason, HealthyClusterHasNone) {
  EXPECT_EQ(UnhealthyReason({Member("a", 1, 2), Member("b", 2, 2)}), "");
}

TEST(UnhealthyReason, AFailedMemberIsNamed) {
  MemberState down;
  down.endpoint = "b";
  down.error = "context deadline exceeded";
  EXPECT_EQ(UnhealthyReason({Member("a", 1, 1), down}),
            "member b is unhealthy: context deadline exceeded");
}

TEST(UnhealthyReason, NospaceAlarmDoesNotCountOthersDo) {
  MemberState full = Member("a", 1, 1);
  full.alarms = {"memberID:1 alarm:NOSPACE "};
  EXPECT_EQ(UnhealthyReason({full}), "");
  full.alarms.push_back("memberID:1 alarm:CORRUPT ");
  EXPECT_EQ(UnhealthyReason({full}), "member a has an active alarm: memberID:1 alarm:CORRUPT ");
}

TEST(UnhealthyReason, MembersMustAgreeOnALeader) {
  EXPECT_EQ(UnhealthyReason({Member("a", 1, 0)}), "member a has no leader");
  EXPECT_EQ(UnhealthyReason({Member("a", 1, 1), Member("b", 2, 2)}),
            "members do not agree on the leader");
  EXPECT_EQ(UnhealthyReason({}), "no member to check");
}

TEST(CompactTarget, KeepsTheNewestRevisions) {
  EXPECT_EQ(CompactTarget(100, 0), 100);
  EXPECT_EQ(CompactTarget(100, 10), 90);
  EXPECT_EQ(CompactTarget(100, 99), 1);
  EXPECT_EQ(CompactTarget(100, 100), 0);
  EXPECT_EQ(CompactTarget(100, 1000), 0);
}

TEST(CaughtUp, WithinTheGapOrAhead) {
  EXPECT_TRUE(CaughtUp(100, 100, 0));
  EXPECT_TRUE(CaughtUp(101, 100, 0));
  EXPECT_TRUE(CaughtUp(90, 100, 10));
  EXPECT_FALSE(CaughtUp(89, 100, 10));
}

TEST(FreeRatio, OfSizes) {
  EXPECT_DOUBLE_EQ(FreeRatio(Member("a", 1, 1, 200, 50)), 0.75);
  EXPECT_DOUBLE_EQ(FreeRatio(Member("a", 1, 1, 0, 0)), 0.0);
}

}  // namespace
}  // namespace etcdd::defrag
