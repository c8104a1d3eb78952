// Txn: compares on every target and result, ranges, nested txns, sub
// revisions and the checks made before anything is written.
#include <gtest/gtest.h>

#include "mvcc/errors.h"
#include "mvcc_test_util.h"

namespace etcdd::mvcc {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;
using testing::Cmp;
using testing::CmpValue;
using testing::DelReq;
using testing::kUnknownLease;
using testing::PutReq;
using testing::RangeReq;
using testing::StoreTest;

RequestOp PutOp(const std::string& key, const std::string& value) {
  RequestOp op;
  *op.mutable_request_put() = PutReq(key, value);
  return op;
}
RequestOp RangeOp(const std::string& key, const std::string& end = "", int64_t rev = 0) {
  RequestOp op;
  *op.mutable_request_range() = RangeReq(key, end, rev);
  return op;
}
RequestOp DelOp(const std::string& key, const std::string& end = "") {
  RequestOp op;
  *op.mutable_request_delete_range() = DelReq(key, end);
  return op;
}
RequestOp TxnOp(const TxnRequest& t) {
  RequestOp op;
  *op.mutable_request_txn() = t;
  return op;
}

class TxnTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    Put("a", "va", 5);  // 2
    Put("a", "va");     // 3: version 2, create 2, mod 3, lease 0
    Put("b", "vb", 9);  // 4: version 1, create 4, mod 4, lease 9
  }

  // Whether a txn guarded by `c` takes its success branch.
  bool Holds(const Compare& c) {
    TxnRequest t;
    *t.add_compare() = c;
    auto r = Txn(t);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && r->succeeded();
  }
};

TEST_F(TxnTest, CompareTargetsAndResults) {
  EXPECT_TRUE(Holds(Cmp("a", Compare::VERSION, Compare::EQUAL, 2)));
  EXPECT_FALSE(Holds(Cmp("a", Compare::VERSION, Compare::EQUAL, 1)));
  EXPECT_TRUE(Holds(Cmp("a", Compare::VERSION, Compare::GREATER, 1)));
  EXPECT_FALSE(Holds(Cmp("a", Compare::VERSION, Compare::GREATER, 2)));
  EXPECT_TRUE(Holds(Cmp("a", Compare::VERSION, Compare::LESS, 3)));
  EXPECT_TRUE(Holds(Cmp("a", Compare::VERSION, Compare::NOT_EQUAL, 3)));
  EXPECT_TRUE(Holds(Cmp("a", Compare::CREATE, Compare::EQUAL, 2)));
  EXPECT_TRUE(Holds(Cmp("a", Compare::CREATE, Compare::LESS, 3)));
  EXPECT_TRUE(Holds(Cmp("a", Compare::MOD, Compare::EQUAL, 3)));
  EXPECT_TRUE(Holds(Cmp("a", Compare::MOD, Compare::GREATER, 2)));
  EXPECT_TRUE(Holds(Cmp("b", Compare::LEASE, Compare::EQUAL, 9)));
  EXPECT_TRUE(Holds(Cmp("a", Compare::LEASE, Compare::EQUAL, 0)));
  EXPECT_TRUE(Holds(Cmp("b", Compare::LEASE, Compare::GREATER, 8)));
  EXPECT_TRUE(Holds(CmpValue("a", Compare::EQUAL, "va")));
  EXPECT_FALSE(Holds(CmpValue("a", Compare::EQUAL, "vb")));
  EXPECT_TRUE(Holds(CmpValue("a", Compare::LESS, "vb")));
  EXPECT_TRUE(Holds(CmpValue("b", Compare::GREATER, "va")));
  EXPECT_TRUE(Holds(CmpValue("a", Compare::NOT_EQUAL, "x")));
  // None of these compares wrote anything.
  EXPECT_EQ(store_->CurrentRevision(), 4);
}

TEST_F(TxnTest, MissingKeyComparesAsZero) {
  EXPECT_TRUE(Holds(Cmp("zz", Compare::VERSION, Compare::EQUAL, 0)));
  EXPECT_TRUE(Holds(Cmp("zz", Compare::CREATE, Compare::EQUAL, 0)));
  EXPECT_TRUE(Holds(Cmp("zz", Compare::MOD, Compare::LESS, 1)));
  EXPECT_TRUE(Holds(Cmp("zz", Compare::LEASE, Compare::EQUAL, 0)));
  // A value compare on a missing key always fails.
  EXPECT_FALSE(Holds(CmpValue("zz", Compare::EQUAL, "")));
  EXPECT_FALSE(Holds(CmpValue("zz", Compare::NOT_EQUAL, "x")));
}

TEST_F(TxnTest, RangeCompareNeedsEveryKey) {
  EXPECT_TRUE(Holds(Cmp("a", Compare::VERSION, Compare::GREATER, 0, "c")));
  EXPECT_FALSE(Holds(Cmp("a", Compare::VERSION, Compare::EQUAL, 2, "c")));
  EXPECT_TRUE(Holds(Cmp("a", Compare::MOD, Compare::LESS, 5, "c")));
  EXPECT_FALSE(Holds(Cmp("a", Compare::MOD, Compare::LESS, 4, "c")));
  EXPECT_TRUE(Holds(CmpValue("a", Compare::LESS, "vc", "c")));
  EXPECT_TRUE(Holds(Cmp("x", Compare::VERSION, Compare::EQUAL, 0, "z")));
  EXPECT_TRUE(Holds(Cmp("a", Compare::CREATE, Compare::GREATER, 1, std::string(1, '\0'))));
}

TEST_F(TxnTest, AllComparesMustHold) {
  TxnRequest t;
  *t.add_compare() = Cmp("a", Compare::VERSION, Compare::EQUAL, 2);
  *t.add_compare() = Cmp("b", Compare::VERSION, Compare::EQUAL, 2);
  *t.add_success() = PutOp("s", "1");
  *t.add_failure() = PutOp("f", "1");
  auto r = Txn(t);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->succeeded());
  EXPECT_EQ(Get("s").kvs_size(), 0);
  EXPECT_EQ(Get("f").kvs_size(), 1);
}

TEST_F(TxnTest, WritesShareOneRevisionWithSubRevisions) {
  TxnRequest t;
  *t.add_success() = PutOp("x", "1");
  *t.add_success() = PutOp("y", "2");
  *t.add_success() = DelOp("b");
  auto txn = Begin();
  auto r = txn->Txn(t);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->header().revision(), 5);
  ASSERT_EQ(r->responses_size(), 3);
  EXPECT_EQ(r->responses(0).response_put().header().revision(), 5);
  EXPECT_EQ(r->responses(2).response_delete_range().deleted(), 1);
  const auto& ev = txn->Events();
  ASSERT_EQ(ev.size(), 3u);
  for (const auto& e : ev) EXPECT_EQ(e.kv().mod_revision(), 5);
  ASSERT_TRUE(txn->Commit().ok());
  txn.reset();
  EXPECT_EQ(store_->CurrentRevision(), 5);
  // All three sub revisions are stored: they survive a rebuild of the index.
  Reopen();
  EXPECT_EQ(Get("x").kvs(0).mod_revision(), 5);
  EXPECT_EQ(Get("y").kvs(0).mod_revision(), 5);
  EXPECT_EQ(Get("b").kvs_size(), 0);
  EXPECT_EQ(Get("b", "", 4).kvs_size(), 1);
}

TEST_F(TxnTest, ReadsSeeEarlierWritesOfTheTxn) {
  TxnRequest t;
  *t.add_success() = RangeOp("a");
  *t.add_success() = PutOp("a", "new");
  *t.add_success() = RangeOp("a");
  auto r = Txn(t);
  ASSERT_TRUE(r.ok());
  const auto& before = r->responses(0).response_range();
  const auto& after = r->responses(2).response_range();
  EXPECT_EQ(before.kvs(0).value(), "va");
  EXPECT_EQ(before.header().revision(), 4);
  EXPECT_EQ(after.kvs(0).value(), "new");
  EXPECT_EQ(after.kvs(0).version(), 3);
  EXPECT_EQ(after.header().revision(), 5);
}

TEST_F(TxnTest, ReadOnlyTxnTakesNoRevision) {
  TxnRequest t;
  *t.add_success() = RangeOp("a", "z");
  auto r = Txn(t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->header().revision(), 4);
  EXPECT_EQ(r->responses(0).response_range().count(), 2);
  // Deleting nothing is no write either.
  TxnRequest d;
  *d.add_success() = DelOp("nothing");
  r = Txn(d);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->header().revision(), 4);
  EXPECT_EQ(store_->CurrentRevision(), 4);
}

TEST_F(TxnTest, NestedComparesSeeStateBeforeTheTxn) {
  TxnRequest inner;
  *inner.add_compare() = Cmp("n", Compare::VERSION, Compare::EQUAL, 0);
  *inner.add_success() = PutOp("inner", "ok");
  *inner.add_failure() = PutOp("inner", "saw-write");
  TxnRequest outer;
  *outer.add_success() = PutOp("n", "1");
  *outer.add_success() = TxnOp(inner);
  auto r = Txn(outer);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->succeeded());
  const auto& nested = r->responses(1).response_txn();
  EXPECT_TRUE(nested.succeeded());
  EXPECT_TRUE(nested.has_header());
  EXPECT_EQ(nested.header().revision(), 0);  // etcd leaves nested headers empty
  EXPECT_EQ(nested.responses(0).response_put().header().revision(), 5);
  EXPECT_EQ(Get("inner").kvs(0).value(), "ok");
  EXPECT_EQ(Get("inner").kvs(0).mod_revision(), Get("n").kvs(0).mod_revision());
}

TEST_F(TxnTest, NestedFailureBranch) {
  TxnRequest inner;
  *inner.add_compare() = CmpValue("a", Compare::EQUAL, "nope");
  *inner.add_success() = PutOp("i", "then");
  *inner.add_failure() = PutOp("i", "else");
  TxnRequest outer;
  *outer.add_compare() = Cmp("zz", Compare::VERSION, Compare::GREATER, 0);
  *outer.add_failure() = TxnOp(inner);
  *outer.add_failure() = RangeOp("i");
  auto r = Txn(outer);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->succeeded());
  EXPECT_FALSE(r->responses(0).response_txn().succeeded());
  EXPECT_EQ(r->responses(1).response_range().kvs(0).value(), "else");
}

TEST_F(TxnTest, IgnoreValueOnMissingKeyFailsBeforeAnyWrite) {
  TxnRequest t;
  *t.add_success() = PutOp("first", "1");
  auto put = PutOp("missing", "");
  put.mutable_request_put()->set_ignore_value(true);
  *t.add_success() = put;
  auto txn = Begin();
  auto r = txn->Txn(t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "etcdserver: key not found");
  EXPECT_TRUE(txn->Events().empty());
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(Get("first").kvs_size(), 0);
  EXPECT_EQ(store_->CurrentRevision(), 4);
}

TEST_F(TxnTest, UnknownLeaseInTheTakenBranchFailsBeforeAnyWrite) {
  TxnRequest t;
  *t.add_success() = PutOp("first", "1");
  auto put = PutOp("leased", "v");
  put.mutable_request_put()->set_lease(kUnknownLease);
  *t.add_success() = put;
  *t.add_failure() = put;
  auto txn = Begin();
  auto r = txn->Txn(t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "etcdserver: requested lease not found");
  EXPECT_TRUE(txn->Events().empty());
  // The same put in the branch not taken is never checked.
  Compare* c = t.add_compare();
  c->set_key("nothing");
  c->set_target(Compare::VERSION);
  c->set_result(Compare::GREATER);
  t.clear_failure();
  EXPECT_TRUE(txn->Txn(t).ok());
  ASSERT_TRUE(txn->Commit().ok());
}

TEST_F(TxnTest, RangeRevisionChecks) {
  TxnRequest t;
  *t.add_success() = RangeOp("a", "", 5);
  auto r = Txn(t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  EXPECT_EQ(r.status().message(), "etcdserver: mvcc: required revision is a future revision");
  ASSERT_TRUE(Compact(3).ok());
  TxnRequest old;
  *old.add_success() = PutOp("w", "1");
  *old.add_success() = RangeOp("a", "", 2);
  r = Txn(old);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "etcdserver: mvcc: required revision has been compacted");
  EXPECT_EQ(Get("w").kvs_size(), 0);
  TxnRequest ok;
  *ok.add_success() = RangeOp("a", "", 3);
  r = Txn(ok);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->responses(0).response_range().kvs(0).mod_revision(), 3);
}

}  // namespace
}  // namespace etcdd::mvcc
