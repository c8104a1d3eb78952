// Store::ReadTxn and Store::IsReadOnly: a read-only txn served on a snapshot
// answers exactly as WriteTxn::Txn does on the same state.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "mvcc/errors.h"
#include "mvcc_test_util.h"

namespace etcdd::mvcc {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;
using etcdserverpb::TxnResponse;
using testing::Cmp;
using testing::CmpValue;
using testing::DelReq;
using testing::PutReq;
using testing::RangeReq;
using testing::StoreTest;

const std::string kFromKey(1, '\0');

RequestOp RangeOp(const RangeRequest& r) {
  RequestOp op;
  *op.mutable_request_range() = r;
  return op;
}
RequestOp TxnOp(const TxnRequest& t) {
  RequestOp op;
  *op.mutable_request_txn() = t;
  return op;
}

// Random read-only txns over the keys of ReadTxnTest's state.
class TxnGen {
 public:
  TxnGen(unsigned seed, int64_t compact, int64_t current)
      : rng_(seed), compact_(compact), current_(current) {}

  Compare RandomCompare() {
    Compare keys;
    SetKeys(&keys);
    const auto target = static_cast<Compare::CompareTarget>(Pick(5));
    const auto result = static_cast<Compare::CompareResult>(Pick(4));
    const int64_t n = Pick(12) - 1;
    if (target == Compare::VALUE) {
      static const std::vector<std::string> kValues = {"", "v1", "v2", "v3", "w", "zz"};
      return CmpValue(keys.key(), result, kValues[Pick(kValues.size())], keys.range_end());
    }
    const int64_t operand = target == Compare::LEASE && Pick(2) ? 7 : n;
    return Cmp(keys.key(), target, result, operand, keys.range_end());
  }

  RangeRequest RandomRange() {
    RangeRequest r;
    SetKeys(&r);
    // Revisions around the compaction and the current revision, errors included.
    const std::vector<int64_t> revs = {
        0, 0, compact_ - 1, compact_, compact_ + 2, current_ - 1, current_, current_ + 1};
    r.set_revision(revs[Pick(revs.size())]);
    r.set_limit(Pick(4));
    r.set_sort_order(static_cast<RangeRequest::SortOrder>(Pick(3)));
    r.set_sort_target(static_cast<RangeRequest::SortTarget>(Pick(5)));
    r.set_keys_only(Pick(5) == 0);
    r.set_count_only(Pick(6) == 0);
    if (Pick(5) == 0) r.set_min_mod_revision(Pick(current_ + 1));
    if (Pick(5) == 0) r.set_max_create_revision(Pick(current_ + 1));
    return r;
  }

  TxnRequest RandomTxn(int depth) {
    TxnRequest t;
    for (int i = Pick(4); i > 0; --i) *t.add_compare() = RandomCompare();
    for (auto* branch : {t.mutable_success(), t.mutable_failure()}) {
      for (int i = Pick(4); i > 0; --i) {
        *branch->Add() =
            depth < 2 && Pick(4) == 0 ? TxnOp(RandomTxn(depth + 1)) : RangeOp(RandomRange());
      }
    }
    return t;
  }

 private:
  int64_t Pick(size_t n) { return std::uniform_int_distribution<int64_t>(0, n - 1)(rng_); }

  template <typename Req>
  void SetKeys(Req* r) {
    static const std::vector<std::string> kKeys = {"a", "b", "c", "d", "e", "missing", "f"};
    r->set_key(kKeys[Pick(kKeys.size())]);
    switch (Pick(4)) {
      case 0:
        r->set_range_end(kFromKey);
        break;
      case 1:
        r->set_range_end(kKeys[Pick(kKeys.size())]);
        break;
      default:
        break;  // one key
    }
  }

  std::mt19937 rng_;
  int64_t compact_;
  int64_t current_;
};

class ReadTxnTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    Put("a", "v1", 7);  // 2
    Put("b", "v2");     // 3
    Put("c", "v3");     // 4
    Put("a", "v2");     // 5
    Del("b");           // 6
    Put("d", "w", 7);   // 7
    ASSERT_TRUE(Compact(4).ok());
    Put("b", "v1");  // 8
    Put("e", "");    // 9
    Put("c", "zz");  // 10
    Del("d");        // 11
    Put("a", "v3");  // 12
  }

  // WriteTxn::Txn's answer, left uncommitted (it writes nothing anyway).
  Result<TxnResponse> WriterTxn(const TxnRequest& req) {
    auto txn = Begin();
    return txn->Txn(req);
  }

  void ExpectSameAsWriter(const TxnRequest& req) {
    SCOPED_TRACE(req.DebugString());
    ASSERT_TRUE(Store::IsReadOnly(req));
    const auto want = WriterTxn(req);
    const auto got = store_->ReadTxn(req);
    ASSERT_EQ(got.ok(), want.ok()) << (got.ok() ? want.status() : got.status()).ToString();
    if (!want.ok()) {
      EXPECT_EQ(got.status().code(), want.status().code());
      EXPECT_EQ(got.status().message(), want.status().message());
      return;
    }
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*got, *want))
        << "ReadTxn:\n"
        << got->DebugString() << "WriteTxn::Txn:\n"
        << want->DebugString();
  }
};

TEST_F(ReadTxnTest, EveryCompareTargetAndResultMatchesTheWriter) {
  const std::vector<std::string> keys = {"a", "b", "d", "missing"};
  for (const std::string& key : keys) {
    for (const std::string& end : {std::string(), std::string("c"), kFromKey}) {
      for (int target = Compare::VERSION; target <= Compare::LEASE; ++target) {
        for (int result = Compare::EQUAL; result <= Compare::NOT_EQUAL; ++result) {
          for (int64_t n : {0, 1, 2, 5, 7, 12}) {
            TxnRequest t;
            const auto r = static_cast<Compare::CompareResult>(result);
            *t.add_compare() =
                target == Compare::VALUE
                    ? CmpValue(key, r, "v" + std::to_string(n), end)
                    : Cmp(key, static_cast<Compare::CompareTarget>(target), r, n, end);
            *t.add_success() = RangeOp(RangeReq("a", "z"));
            *t.add_failure() = RangeOp(RangeReq(key, end));
            ExpectSameAsWriter(t);
          }
        }
      }
    }
  }
}

TEST_F(ReadTxnTest, RandomReadOnlyTxnsMatchTheWriter) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  TxnGen gen(seed, store_->CompactRevision(), store_->CurrentRevision());
  for (int i = 0; i < 1500 && !HasFatalFailure(); ++i) ExpectSameAsWriter(gen.RandomTxn(0));
}

TEST_F(ReadTxnTest, NestedTxnsAndRangeErrors) {
  TxnRequest inner;
  *inner.add_compare() = [] {
    Compare c;
    c.set_key("a");
    c.set_target(Compare::VALUE);
    c.set_value("v3");
    return c;
  }();
  RangeRequest sorted = RangeReq("a", kFromKey, 10);
  sorted.set_sort_order(RangeRequest::DESCEND);
  sorted.set_sort_target(RangeRequest::MOD);
  sorted.set_limit(2);
  *inner.add_success() = RangeOp(sorted);
  TxnRequest outer;
  *outer.add_success() = TxnOp(inner);
  *outer.add_success() = RangeOp(RangeReq("b"));
  auto r = store_->ReadTxn(outer);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->header().revision(), 12);
  const TxnResponse& nested = r->responses(0).response_txn();
  EXPECT_TRUE(nested.succeeded());
  EXPECT_TRUE(nested.has_header());
  EXPECT_EQ(nested.header().revision(), 0);
  const auto& range = nested.responses(0).response_range();
  EXPECT_EQ(testing::Keys(range), (std::vector<std::string>{"c", "e"}));
  EXPECT_TRUE(range.more());
  EXPECT_EQ(range.header().revision(), 12);
  ExpectSameAsWriter(outer);

  TxnRequest future;
  *future.add_success() = RangeOp(RangeReq("a", "", 13));
  auto f = store_->ReadTxn(future);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), ErrFutureRev().message());
  TxnRequest compacted;
  *compacted.add_failure() = RangeOp(RangeReq("a", "", 3));
  *compacted.add_compare() = inner.compare(0);
  *compacted.mutable_compare(0)->mutable_value() = "no";
  auto c = store_->ReadTxn(compacted);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), ErrCompacted().message());
  // Only the branch taken is checked.
  compacted.mutable_compare(0)->set_value("v3");
  EXPECT_TRUE(store_->ReadTxn(compacted).ok());
}

TEST_F(ReadTxnTest, IsReadOnlyLooksIntoEveryBranch) {
  TxnRequest t;
  EXPECT_TRUE(Store::IsReadOnly(t));
  *t.add_success() = RangeOp(RangeReq("a"));
  TxnRequest nested;
  *nested.add_failure() = RangeOp(RangeReq("b"));
  *t.add_failure() = TxnOp(nested);
  EXPECT_TRUE(Store::IsReadOnly(t));

  TxnRequest put = t;
  *put.add_failure()->mutable_request_put() = PutReq("a", "x");
  EXPECT_FALSE(Store::IsReadOnly(put));
  TxnRequest deep = nested;
  *deep.add_success()->mutable_request_delete_range() = DelReq("a");
  TxnRequest outer = t;
  *outer.add_success() = TxnOp(deep);
  EXPECT_FALSE(Store::IsReadOnly(outer));
  TxnRequest empty_op = t;
  empty_op.add_success();
  EXPECT_FALSE(Store::IsReadOnly(empty_op));

  auto r = store_->ReadTxn(outer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
}

TEST_F(ReadTxnTest, ReadsCommittedStateWhileAWriteTxnIsOpen) {
  auto txn = Begin();
  ASSERT_TRUE(txn->Put(PutReq("a", "uncommitted")).ok());
  ASSERT_TRUE(txn->Put(PutReq("new", "x")).ok());
  TxnRequest t;
  Compare* c = t.add_compare();
  c->set_key("new");
  c->set_target(Compare::VERSION);
  c->set_result(Compare::EQUAL);
  *t.add_success() = RangeOp(RangeReq("a", kFromKey));
  auto r = store_->ReadTxn(t);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->succeeded());
  EXPECT_EQ(r->header().revision(), 12);
  const auto& range = r->responses(0).response_range();
  EXPECT_EQ(testing::Keys(range), (std::vector<std::string>{"a", "b", "c", "e"}));
  EXPECT_EQ(range.kvs(0).value(), "v3");
  ASSERT_TRUE(txn->Commit().ok());
  r = store_->ReadTxn(t);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->succeeded());
  EXPECT_EQ(r->header().revision(), 14);
}

}  // namespace
}  // namespace etcdd::mvcc
