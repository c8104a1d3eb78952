// defrag::Rule: what parses, what does not, and what each variable is.
#include "defrag/rule.h"

#include <gtest/gtest.h>

namespace etcdd::defrag {
namespace {

bool Holds(const std::string& expr, MemberSizes sizes) {
  auto rule = Rule::Parse(expr);
  EXPECT_TRUE(rule.ok()) << rule.status().message();
  auto r = rule->Evaluate(sizes);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return *r;
}

constexpr MemberSizes kHalfFree{1000, 500, 4000};  // dbSize, in use, quota

TEST(Rule, VariablesAreTheMembersSizes) {
  EXPECT_TRUE(Holds("dbSize == 1000", kHalfFree));
  EXPECT_TRUE(Holds("dbSizeInUse == 500", kHalfFree));
  EXPECT_TRUE(Holds("dbSizeFree == 500", kHalfFree));
  EXPECT_TRUE(Holds("dbQuota == 4000", kHalfFree));
  EXPECT_TRUE(Holds("dbQuotaUsage == 0.25", kHalfFree));
}

TEST(Rule, LogicalAndComparisonOperators) {
  EXPECT_TRUE(Holds("dbSizeFree/dbSize >= 0.5 && dbQuotaUsage < 0.3", kHalfFree));
  EXPECT_FALSE(Holds("dbSizeFree/dbSize > 0.5 && dbQuotaUsage < 0.3", kHalfFree));
  EXPECT_TRUE(Holds("dbSizeFree/dbSize > 0.9 || dbQuotaUsage <= 0.25", kHalfFree));
  EXPECT_TRUE(Holds("dbSize != 0", kHalfFree));
  EXPECT_FALSE(Holds("dbSize - dbSizeInUse * 2", kHalfFree));  // 0 is false
}

TEST(Rule, FlagRulesAreExpressions) {
  EXPECT_TRUE(Holds(Rule::MinFreeRatioExpression(0.5), kHalfFree));
  EXPECT_FALSE(Holds(Rule::MinFreeRatioExpression(0.6), kHalfFree));
  EXPECT_TRUE(Holds(Rule::MinQuotaUsageExpression(0.25), kHalfFree));
  EXPECT_FALSE(Holds(Rule::MinQuotaUsageExpression(0.8), kHalfFree));
}

TEST(Rule, AnEmptyBackendHasNoFreeRatio) {
  EXPECT_FALSE(Holds(Rule::MinFreeRatioExpression(0), MemberSizes{0, 0, 4000}));
}

TEST(Rule, UnknownVariableIsAnErrorNamingIt) {
  auto r = Rule::Parse("dbsize > 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("invalid rule \"dbsize > 1\": unknown variable \"dbsize\""),
            std::string::npos)
      << r.status().message();
}

TEST(Rule, SyntaxErrorsAreErrors) {
  for (const char* bad : {"", "dbSize >", "dbSize > > 1", "(dbSize > 1", "dbSize @ 1"}) {
    auto r = Rule::Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(r.status().message().rfind("invalid rule \"" + std::string(bad) + "\": ", 0), 0u)
        << r.status().message();
  }
}

TEST(Rule, MovedRuleStillEvaluates) {
  auto parsed = Rule::Parse("dbSize > 10");
  ASSERT_TRUE(parsed.ok());
  Rule moved = std::move(*parsed);
  EXPECT_TRUE(*moved.Evaluate({11, 0, 1}));
  EXPECT_FALSE(*moved.Evaluate({9, 0, 1}));
}

}  // namespace
}  // namespace etcdd::defrag
