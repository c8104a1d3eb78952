// kvctl txn reads etcdctl's transaction text format (cmd/kvctl/txn_parser.h).
#include "txn_parser.h"

#include <gtest/gtest.h>

#include <sstream>

namespace etcdd::kvctl {
namespace {

using cli::ExitCode;
using etcdserverpb::Compare;

TEST(ParseCompare, EveryTargetAndOperator) {
  auto c = ParseCompare("value(\"k\") = \"v 1\"");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->key(), "k");
  EXPECT_EQ(c->target(), Compare::VALUE);
  EXPECT_EQ(c->result(), Compare::EQUAL);
  EXPECT_EQ(c->value(), "v 1");

  c = ParseCompare("ver(\"k\") != \"3\"");
  EXPECT_EQ(c->target(), Compare::VERSION);
  EXPECT_EQ(c->result(), Compare::NOT_EQUAL);
  EXPECT_EQ(c->version(), 3);

  c = ParseCompare("c(\"k\") > \"4\"");
  EXPECT_EQ(c->target(), Compare::CREATE);
  EXPECT_EQ(c->result(), Compare::GREATER);
  EXPECT_EQ(c->create_revision(), 4);

  c = ParseCompare("mod(\"k\") < \"5\"");
  EXPECT_EQ(c->target(), Compare::MOD);
  EXPECT_EQ(c->result(), Compare::LESS);
  EXPECT_EQ(c->mod_revision(), 5);

  c = ParseCompare("lease(\"k\") = \"694d7b0c2d7a0f0a\"");
  EXPECT_EQ(c->target(), Compare::LEASE);
  EXPECT_EQ(c->lease(), 0x694d7b0c2d7a0f0a);

  c = ParseCompare("val(\"k\\x00\") = `raw\\n`");
  EXPECT_EQ(c->key(), std::string("k\0", 2));
  EXPECT_EQ(c->value(), "raw\\n");
}

TEST(ParseCompare, MalformedLinesAsEtcdctlReportsThem) {
  auto message = [](const std::string& line) { return ParseCompare(line).status().message(); };
  EXPECT_EQ(message("foo"), "malformed comparison: foo");
  EXPECT_EQ(message("value(\"a\")=\"x\""),
            "malformed comparison: value(\"a\")=\"x\"; got value(\"a\")  \"\"");
  EXPECT_EQ(message("value(\"a\") =\"x\""),
            "malformed comparison: value(\"a\") =\"x\"; got value(\"a\") =\"x\" \"\"");
  EXPECT_EQ(message("value(a) = \"x\""),
            "malformed comparison: value(a) = \"x\"; got value(\"\")  \"\"");
  EXPECT_EQ(message("version(\"a\") = \"x\""),
            "invalid txn compare request: version(\"a\") = \"x\"");
  EXPECT_EQ(message("bogus(\"a\") = \"x\""),
            "malformed comparison: bogus(\"a\") = \"x\" (unknown target bogus)");
  EXPECT_EQ(ParseCompare("foo").status().code(), ExitCode::kInvalidInput);
  EXPECT_EQ(ParseCompare("value(\"a\") => \"x\"").status().code(), ExitCode::kInvalidInput);
}

TEST(Argify, SplitsLikeEtcdctl) {
  EXPECT_EQ(Argify("put  k \"v w\\x41\" 'x y'").value(),
            (std::vector<std::string>{"put", "k", "v wA", "x y"}));
  EXPECT_EQ(Argify("get a\"b --prefix").value(),
            (std::vector<std::string>{"get", "a\"b", "--prefix"}));
  // An unterminated quote starts no word; the rest of the line splits as usual.
  EXPECT_EQ(Argify("get \"a").value(), (std::vector<std::string>{"get", "a"}));
  EXPECT_EQ(Argify("get \"\\q\"").status().code(), ExitCode::kInvalidInput);
}

TEST(ParseRequestOp, BuildsRequestsWithTheCommandsFlags) {
  std::istringstream in;
  std::ostringstream diag;
  auto op = ParseRequestOp("get foo --prefix --limit 2", in, diag);
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->request_range().key(), "foo");
  EXPECT_EQ(op->request_range().range_end(), "fop");
  EXPECT_EQ(op->request_range().limit(), 2);

  op = ParseRequestOp("p k v --prev-kv", in, diag);  // unique prefix of "put"
  EXPECT_EQ(op->request_put().key(), "k");
  EXPECT_EQ(op->request_put().value(), "v");
  EXPECT_TRUE(op->request_put().prev_kv());

  op = ParseRequestOp("del a b", in, diag);
  EXPECT_EQ(op->request_delete_range().range_end(), "b");
  EXPECT_EQ(diag.str(), "");
}

TEST(ParseRequestOp, Errors) {
  std::istringstream in;
  std::ostringstream diag;
  auto bad = ParseRequestOp("foo bar", in, diag);
  EXPECT_EQ(bad.status().code(), ExitCode::kInvalidInput);
  EXPECT_EQ(bad.status().message(), "invalid txn request: foo bar");
  EXPECT_EQ(ParseRequestOp("get", in, diag).status().message(), "invalid txn compare request: get");
  EXPECT_EQ(ParseRequestOp("get a --prefix --from-key", in, diag).status().code(),
            ExitCode::kBadArgs);
  EXPECT_EQ(diag.str(), "");
  EXPECT_EQ(ParseRequestOp("del a --bogus", in, diag).status().message(),
            "invalid txn request: del a --bogus");
  EXPECT_EQ(diag.str().rfind("Usage:\n   del [options] <key> [range_end] [flags]\n", 0), 0u);
}

TEST(ParseRequestOp, PutWithoutValueReadsTheRestOfInput) {
  std::istringstream in("rest of\ninput");
  std::ostringstream diag;
  auto op = ParseRequestOp("put k", in, diag);
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->request_put().value(), "rest of\ninput");
}

TEST(ReadTxn, ThreeSectionsWithPrompts) {
  std::istringstream in(
      "value(\"a\") = \"1\"\n  mod(\"b\") > \"2\"  \n\nput a 2\nget b\n\ndel a\n\n");
  std::ostringstream prompts, diag;
  auto txn = ReadTxn(in, &prompts, diag);
  ASSERT_TRUE(txn.ok()) << txn.status().message();
  EXPECT_EQ(txn->compare_size(), 2);
  EXPECT_EQ(txn->success_size(), 2);
  EXPECT_EQ(txn->failure_size(), 1);
  EXPECT_TRUE(txn->failure(0).has_request_delete_range());
  EXPECT_EQ(prompts.str(),
            "compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\n");
}

TEST(ReadTxn, InputMustEndWithNewlines) {
  std::ostringstream diag;
  for (const char* text : {"", "\n\n", "\n\nget a\n", "\n\nget a"}) {
    std::istringstream in(text);
    auto txn = ReadTxn(in, nullptr, diag);
    EXPECT_EQ(txn.status().code(), ExitCode::kInvalidInput) << text;
    EXPECT_EQ(txn.status().message(), "EOF") << text;
  }
  std::istringstream empty("\n\n\n");
  EXPECT_TRUE(ReadTxn(empty, nullptr, diag).ok());
}

}  // namespace
}  // namespace etcdd::kvctl
