// The argument rules of the user and role commands are etcdctl's
// (role_command.go's permRange, clientv3.StrToPermissionType, and the
// fmt.Scanf("%s") of `user add/passwd --interactive=false`).
#include "auth_args.h"

#include <gtest/gtest.h>

#include <sstream>

namespace etcdd::kvctl {
namespace {

const std::string kOpenEnded(1, '\0');

PermissionRange Range(const std::vector<std::string>& args, bool prefix, bool from_key) {
  auto r = PermissionRangeFromArgs(args, prefix, from_key);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r.value() : PermissionRange{};
}

std::string RangeError(const std::vector<std::string>& args, bool prefix, bool from_key) {
  auto r = PermissionRangeFromArgs(args, prefix, from_key);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().exit_code(), 128);
  return r.status().message();
}

TEST(PermissionType, AnyCaseOfTheThreeNames) {
  EXPECT_EQ(ParsePermissionType("read").value(), authpb::Permission::READ);
  EXPECT_EQ(ParsePermissionType("Write").value(), authpb::Permission::WRITE);
  EXPECT_EQ(ParsePermissionType("READWRITE").value(), authpb::Permission::READWRITE);
  auto bad = ParsePermissionType("rw");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().exit_code(), 128);
  EXPECT_EQ(bad.status().message(), "invalid permission type: rw");
}

TEST(PermissionRange, KeysRangesPrefixesAndOpenEnds) {
  auto key = Range({"k"}, false, false);
  EXPECT_EQ(key.key, "k");
  EXPECT_EQ(key.range_end, "");
  EXPECT_EQ(Range({"a", "z"}, false, false).range_end, "z");
  EXPECT_EQ(Range({"a", "z", "ignored"}, false, false).range_end, "z");
  EXPECT_EQ(Range({"/app/"}, true, false).range_end, "/app0");
  EXPECT_EQ(Range({"a\xff"}, true, false).range_end, "b");
  EXPECT_EQ(Range({"f"}, false, true).range_end, kOpenEnded);
}

TEST(PermissionRange, TheEmptyKeyIsTheNulByte) {
  auto one = Range({""}, false, false);
  EXPECT_EQ(one.key, kOpenEnded);
  EXPECT_EQ(one.range_end, "");
  auto all = Range({""}, true, false);
  EXPECT_EQ(all.key, kOpenEnded);
  EXPECT_EQ(all.range_end, kOpenEnded);
  EXPECT_EQ(Range({""}, false, true).range_end, kOpenEnded);
  // etcdctl looks at no endkey after an empty key.
  EXPECT_EQ(Range({"", "z"}, true, false).range_end, kOpenEnded);
  EXPECT_EQ(Range({"", "z"}, false, false).range_end, "");
}

TEST(PermissionRange, ConflictingFlags) {
  EXPECT_EQ(RangeError({"k"}, true, true), "--from-key and --prefix flags are mutually exclusive");
  EXPECT_EQ(RangeError({""}, true, true), "--from-key and --prefix flags are mutually exclusive");
  EXPECT_EQ(RangeError({"a", "z"}, true, false), "unexpected endkey argument with --prefix flag");
  EXPECT_EQ(RangeError({"a", "z"}, false, true), "unexpected endkey argument with --from-key flag");
  EXPECT_EQ(RangeError({"a", "z"}, true, true), "unexpected endkey argument with --prefix flag");
}

std::string Scan(const std::string& input) {
  std::istringstream in(input);
  return ScanWord(in);
}

TEST(ScanWord, OneWordAfterSpacesOnTheFirstLine) {
  EXPECT_EQ(Scan("pw\n"), "pw");
  EXPECT_EQ(Scan("  secret more\n"), "secret");
  EXPECT_EQ(Scan("\tpw"), "pw");
  EXPECT_EQ(Scan("pw\r\n"), "pw");
  EXPECT_EQ(Scan(""), "");
  EXPECT_EQ(Scan("\nlater\n"), "");  // Go: "unexpected newline"
  EXPECT_EQ(Scan("  \r\nlater\n"), "");
}

TEST(ScanWord, LeavesTheRestOfTheInput) {
  std::istringstream in("one two\n");
  EXPECT_EQ(ScanWord(in), "one");
  std::string rest;
  std::getline(in, rest);
  EXPECT_EQ(rest, " two");
}

}  // namespace
}  // namespace etcdd::kvctl
