// RangePerms: the union of granted ranges, as etcd's range permission cache.
#include "auth/range_perms.h"

#include <gtest/gtest.h>

namespace etcdd::auth {
namespace {

authpb::Role Role(std::vector<std::tuple<std::string, std::string, authpb::Permission::Type>> ps) {
  authpb::Role r;
  for (auto& [key, end, type] : ps) {
    auto* p = r.add_keypermission();
    p->set_key(key);
    p->set_range_end(end);
    p->set_permtype(type);
  }
  return r;
}

const std::string kFromKey(1, '\0');

TEST(RangePerms, SingleKeyGrantCoversOnlyThatKey) {
  auto r = Role({{"a", "", authpb::Permission::READ}});
  auto perms = RangePerms::Build({&r}, false);
  EXPECT_TRUE(perms.Covers("a", ""));
  EXPECT_FALSE(perms.Covers("b", ""));
  EXPECT_FALSE(perms.Covers("a", "b"));  // a..b holds "a\0" too
  EXPECT_TRUE(perms.Covers("a", std::string("a\0", 2)));
}

TEST(RangePerms, PrefixGrantCoversKeysAndSubranges) {
  auto r = Role({{"/app/", "/app0", authpb::Permission::READWRITE}});
  for (bool write : {false, true}) {
    auto perms = RangePerms::Build({&r}, write);
    EXPECT_TRUE(perms.Covers("/app/x", ""));
    EXPECT_TRUE(perms.Covers("/app/", "/app0"));
    EXPECT_TRUE(perms.Covers("/app/a", "/app/b"));
    EXPECT_FALSE(perms.Covers("/app", ""));
    EXPECT_FALSE(perms.Covers("/app/", "/app1"));
    EXPECT_FALSE(perms.Covers("/app/", kFromKey));
  }
}

TEST(RangePerms, TypesAreSeparate) {
  auto r = Role({{"r", "", authpb::Permission::READ}, {"w", "", authpb::Permission::WRITE}});
  auto read = RangePerms::Build({&r}, false);
  auto write = RangePerms::Build({&r}, true);
  EXPECT_TRUE(read.Covers("r", ""));
  EXPECT_FALSE(read.Covers("w", ""));
  EXPECT_TRUE(write.Covers("w", ""));
  EXPECT_FALSE(write.Covers("r", ""));
}

TEST(RangePerms, AdjacentGrantsOfSeveralRolesMerge) {
  auto r1 = Role({{"a", "c", authpb::Permission::READ}});
  auto r2 = Role({{"c", "e", authpb::Permission::READ}});
  auto perms = RangePerms::Build({&r1, &r2}, false);
  EXPECT_TRUE(perms.Covers("b", "d"));
  EXPECT_TRUE(perms.Covers("a", "e"));
  EXPECT_FALSE(perms.Covers("a", "f"));
  auto gap = Role({{"d", "e", authpb::Permission::READ}});
  auto with_gap = RangePerms::Build({&r1, &gap}, false);
  EXPECT_FALSE(with_gap.Covers("b", "d"));
}

TEST(RangePerms, FromKeyGrantIsUnbounded) {
  auto r = Role({{"m", kFromKey, authpb::Permission::READ}});
  auto perms = RangePerms::Build({&r}, false);
  EXPECT_TRUE(perms.Covers("m", kFromKey));
  EXPECT_TRUE(perms.Covers("z", ""));
  EXPECT_TRUE(perms.Covers("n", "zz"));
  EXPECT_FALSE(perms.Covers("a", kFromKey));
  EXPECT_FALSE(perms.Covers("l", ""));
}

TEST(RangePerms, NothingGrantedCoversNothing) {
  auto perms = RangePerms::Build({}, false);
  EXPECT_FALSE(perms.Covers("a", ""));
  EXPECT_FALSE(perms.Covers("", kFromKey));
}

}  // namespace
}  // namespace etcdd::auth
