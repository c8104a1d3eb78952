#include "base/url.h"

#include <gtest/gtest.h>

namespace etcdd {
namespace {

TEST(Url, ParsesSchemeHostAndPort) {
  auto u = ParseUrl("http://127.0.0.1:2379");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 2379);
  EXPECT_EQ(u->ToString(), "http://127.0.0.1:2379");
  EXPECT_EQ(u->HostPort(), "127.0.0.1:2379");
}

TEST(Url, KeepsIpv6InBrackets) {
  auto u = ParseUrl("https://[::1]:2380");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->ToString(), "https://[::1]:2380");
}

TEST(Url, RejectsWhatEtcdRejects) {
  EXPECT_FALSE(ParseUrl("127.0.0.1:2379").ok());
  EXPECT_FALSE(ParseUrl("ftp://h:1").ok());
  EXPECT_FALSE(ParseUrl("http://h").ok());
  EXPECT_FALSE(ParseUrl("http://h:99999").ok());
  EXPECT_FALSE(ParseUrl("http://h:12/path").ok());
  EXPECT_EQ(ParseUrl("http://h").status().code(), Code::kInvalidArgument);
}

TEST(Url, ParsesLists) {
  auto l = ParseUrls("http://a:1,http://b:2");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[1].host, "b");
  EXPECT_FALSE(ParseUrls("").ok());
}

TEST(Url, ParsesInitialCluster) {
  auto c = ParseInitialCluster("a=http://h:1,b=http://h:2,a=http://h:3");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ(c->at("a").size(), 2u);
  EXPECT_FALSE(ParseInitialCluster("http://h:1").ok());
  EXPECT_FALSE(ParseInitialCluster("a=nourl").ok());
}

}  // namespace
}  // namespace etcdd
