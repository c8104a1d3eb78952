#include "server/wait.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace etcdd::server {
namespace {

using Clock = WaitRegistry<std::string>::Clock;

TEST(WaitRegistry, TriggerCallsTheWaiterOnce) {
  WaitRegistry<std::string> w;
  std::vector<std::string> got;
  w.Register(7, Clock::now() + std::chrono::hours(1), [&](std::string v) { got.push_back(v); });
  EXPECT_FALSE(w.Trigger(8, "other"));
  EXPECT_TRUE(w.Trigger(7, "applied"));
  EXPECT_FALSE(w.Trigger(7, "again"));
  EXPECT_EQ(got, std::vector<std::string>{"applied"});
}

TEST(WaitRegistry, ExpireAnswersOnlyWaitersPastTheirDeadline) {
  WaitRegistry<std::string> w;
  auto now = Clock::now();
  std::vector<std::string> got;
  w.Register(1, now - std::chrono::milliseconds(1),
             [&](std::string v) { got.push_back("1:" + v); });
  w.Register(2, now + std::chrono::hours(1), [&](std::string v) { got.push_back("2:" + v); });
  w.Expire(now, "timed out");
  EXPECT_EQ(got, std::vector<std::string>{"1:timed out"});
  EXPECT_FALSE(w.Trigger(1, "late"));  // an expired waiter is gone
  w.TriggerAll("stopped");
  EXPECT_EQ(got, (std::vector<std::string>{"1:timed out", "2:stopped"}));
}

}  // namespace
}  // namespace etcdd::server
