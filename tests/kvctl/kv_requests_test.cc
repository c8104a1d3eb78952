// get/put/del requests are built as etcdctl builds them
// (cmd/kvctl/kv_requests.h).
#include "kv_requests.h"

#include <gtest/gtest.h>

#include <sstream>

#include "base/key_range.h"

namespace etcdd::kvctl {
namespace {

using cli::ExitCode;
using etcdserverpb::RangeRequest;

TEST(PrefixRangeEnd, IncrementsTheLastByteBelowFF) {
  EXPECT_EQ(PrefixRangeEnd("foo"), "fop");
  EXPECT_EQ(PrefixRangeEnd(std::string("a\xff\xff")), "b");
  EXPECT_EQ(PrefixRangeEnd(std::string("\xff")), std::string(1, '\0'));
}

TEST(BuildRangeRequest, RangeFlags) {
  GetFlags f;
  f.prefix = true;
  auto r = BuildRangeRequest(f, {"foo"});
  EXPECT_EQ(r->range_end(), "fop");
  // An empty key with --prefix or --from-key means every key.
  r = BuildRangeRequest(f, {""});
  EXPECT_EQ(r->key(), std::string(1, '\0'));
  EXPECT_EQ(r->range_end(), std::string(1, '\0'));
  f = GetFlags();
  f.from_key = true;
  r = BuildRangeRequest(f, {"b"});
  EXPECT_EQ(r->key(), "b");
  EXPECT_EQ(r->range_end(), std::string(1, '\0'));
  r = BuildRangeRequest(GetFlags(), {"a", "c"});
  EXPECT_EQ(r->range_end(), "c");
}

TEST(BuildRangeRequest, OptionsAsClientv3SetsThem) {
  GetFlags f;
  f.limit = "5";
  f.rev = "7";
  f.consistency = "s";
  f.keys_only = true;
  f.sort_by = "modify";
  f.order = "descend";
  auto r = BuildRangeRequest(f, {"k"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->limit(), 5);
  EXPECT_EQ(r->revision(), 7);
  EXPECT_TRUE(r->serializable());
  EXPECT_TRUE(r->keys_only());
  EXPECT_EQ(r->sort_target(), RangeRequest::MOD);
  EXPECT_EQ(r->sort_order(), RangeRequest::DESCEND);
  // Ascending by key is the server's natural order: clientv3 sends NONE.
  f.sort_by = "KEY";
  f.order = "ASCEND";
  EXPECT_EQ(BuildRangeRequest(f, {"k"})->sort_order(), RangeRequest::NONE);
}

TEST(BuildRangeRequest, ErrorsAndExitCodes) {
  auto code = [](GetFlags f, std::vector<std::string> args) {
    return BuildRangeRequest(f, args).status().code();
  };
  EXPECT_EQ(code(GetFlags(), {}), ExitCode::kBadArgs);
  GetFlags both;
  both.prefix = both.from_key = true;
  EXPECT_EQ(code(both, {"a"}), ExitCode::kBadArgs);
  GetFlags prefix;
  prefix.prefix = true;
  EXPECT_EQ(code(prefix, {"a", "b"}), ExitCode::kBadArgs);
  GetFlags consistency;
  consistency.consistency = "x";
  EXPECT_EQ(BuildRangeRequest(consistency, {"a"}).status().message(),
            "unknown consistency flag \"x\"");
  GetFlags order;
  order.order = "up";
  EXPECT_EQ(code(order, {"a"}), ExitCode::kBadFeature);
  GetFlags limit;
  limit.limit = "abc";
  EXPECT_EQ(BuildRangeRequest(limit, {"a"}).status().message(),
            "invalid argument \"abc\" for \"--limit\" flag: strconv.ParseInt: parsing \"abc\": "
            "invalid syntax");
  EXPECT_EQ(code(limit, {"a"}), ExitCode::kError);
}

TEST(BuildPutRequest, ValueFromArgumentOrStdin) {
  std::istringstream none;
  PutFlags f;
  f.lease = "1f";
  f.prev_kv = true;
  auto r = BuildPutRequest(f, {"k", "v"}, none);
  EXPECT_EQ(r->value(), "v");
  EXPECT_EQ(r->lease(), 31);
  EXPECT_TRUE(r->prev_kv());
  std::istringstream in("from\nstdin\n");
  EXPECT_EQ(BuildPutRequest(PutFlags(), {"k"}, in)->value(), "from\nstdin\n");
  std::istringstream empty;
  EXPECT_EQ(BuildPutRequest(PutFlags(), {"k"}, empty).status().message(),
            "put command needs 1 argument and input from stdin or 2 arguments");
}

TEST(BuildPutRequest, Errors) {
  std::istringstream none;
  PutFlags ignore;
  ignore.ignore_value = true;
  EXPECT_TRUE(BuildPutRequest(ignore, {"k"}, none)->ignore_value());
  EXPECT_EQ(BuildPutRequest(ignore, {"k", "v"}, none).status().code(), ExitCode::kBadArgs);
  PutFlags lease;
  lease.lease = "zz";
  EXPECT_EQ(BuildPutRequest(lease, {"k", "v"}, none).status().message(),
            "bad lease ID (strconv.ParseInt: parsing \"zz\": invalid syntax), expecting ID in "
            "Hex");
}

TEST(BuildDeleteRequest, ArgumentsAndFlags) {
  DelFlags f;
  f.prefix = true;
  f.prev_kv = true;
  auto r = BuildDeleteRequest(f, {"p/"});
  EXPECT_EQ(r->range_end(), "p0");
  EXPECT_TRUE(r->prev_kv());
  EXPECT_EQ(BuildDeleteRequest(DelFlags(), {}).status().code(), ExitCode::kBadArgs);
  EXPECT_EQ(BuildDeleteRequest(DelFlags(), {"a", "b", "c"}).status().code(), ExitCode::kBadArgs);
}

}  // namespace
}  // namespace etcdd::kvctl
