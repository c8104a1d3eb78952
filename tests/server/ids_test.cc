#include "server/ids.h"

#include <gtest/gtest.h>

#include "base/go_text.h"
#include "server/config.h"

namespace etcdd::server {
namespace {

// The ids every default etcd member has: name "default", peer URL
// http://localhost:2380, token "etcd-cluster".
TEST(Ids, MatchEtcdsDefaultMember) {
  uint64_t id = MemberId({"http://localhost:2380"}, "etcd-cluster");
  EXPECT_EQ(IdToHex(id), "8e9e05c52164694d");
  EXPECT_EQ(IdToHex(ClusterId({id})), "cdf818194e3a8c32");
}

TEST(Ids, DoNotDependOnOrder) {
  EXPECT_EQ(MemberId({"http://b:2380", "http://a:2380"}, "t"),
            MemberId({"http://a:2380", "http://b:2380"}, "t"));
  EXPECT_EQ(ClusterId({3, 1, 2}), ClusterId({1, 2, 3}));
  EXPECT_NE(MemberId({"http://a:2380"}, "t1"), MemberId({"http://a:2380"}, "t2"));
}

ServerConfig ValidConfig() {
  ServerConfig c;
  c.initial_cluster["default"] = {*ParseUrl("http://localhost:2380")};
  return c;
}

TEST(ServerConfig, AcceptsEtcdDefaults) { EXPECT_TRUE(ValidConfig().Validate().ok()); }

TEST(ServerConfig, RejectsWithEtcdsMessages) {
  ServerConfig c = ValidConfig();
  c.election_timeout_ms = 400;
  EXPECT_EQ(c.Validate().message(),
            "--election-timeout[400ms] should be at least as 5 times as "
            "--heartbeat-interval[100ms]");
  c = ValidConfig();
  c.name = "other";
  EXPECT_EQ(c.Validate().message(),
            "couldn't find local name \"other\" in the initial cluster configuration");
  c = ValidConfig();
  c.initial_cluster_state = "old";
  EXPECT_EQ(c.Validate().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace etcdd::server
