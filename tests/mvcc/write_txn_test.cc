// WriteTxn life cycle: atomic requests, rollback, abort, a full map,
// metadata and the consistent index.
#include <gtest/gtest.h>

#include "mvcc/errors.h"
#include "mvcc_test_util.h"

namespace etcdd::mvcc {
namespace {

using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;
using testing::DelReq;
using testing::PutReq;
using testing::RangeReq;
using testing::StoreTest;
using testing::Values;

class WriteTxnTest : public StoreTest {};

TEST_F(WriteTxnTest, OneWriterAtATime) {
  auto first = Begin();
  auto second = store_->BeginWrite();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition);
  first.reset();
  EXPECT_TRUE(store_->BeginWrite().ok());
}

TEST_F(WriteTxnTest, BatchIsInvisibleUntilCommit) {
  Put("a", "old");
  auto txn = Begin();
  ASSERT_TRUE(txn->Put(PutReq("a", "new")).ok());
  ASSERT_TRUE(txn->Put(PutReq("b", "new")).ok());
  EXPECT_EQ(txn->Revision(), 4);
  EXPECT_EQ(Values(Get("a", "z")), (std::vector<std::string>{"old"}));
  EXPECT_EQ(store_->CurrentRevision(), 2);
  auto in_txn = txn->Range(RangeReq("a", "z"));
  ASSERT_TRUE(in_txn.ok());
  EXPECT_EQ(Values(*in_txn), (std::vector<std::string>{"new", "new"}));
  EXPECT_EQ(in_txn->header().revision(), 4);
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(Values(Get("a", "z")), (std::vector<std::string>{"new", "new"}));
  EXPECT_EQ(store_->CurrentRevision(), 4);
  EXPECT_FALSE(txn->Commit().ok());
  EXPECT_FALSE(txn->Put(PutReq("c", "x")).ok());
}

TEST_F(WriteTxnTest, AbortLeavesNothing) {
  Put("a", "1");  // 2
  {
    auto txn = Begin();
    ASSERT_TRUE(txn->Put(PutReq("a", "2")).ok());
    ASSERT_TRUE(txn->Put(PutReq("new", "x")).ok());
    ASSERT_TRUE(txn->DeleteRange(DelReq("a")).ok());
    ASSERT_TRUE(txn->PutMeta("m", "v").ok());
    txn->SetConsistentIndex(9, 9);
  }
  EXPECT_EQ(store_->CurrentRevision(), 2);
  EXPECT_EQ(store_->ConsistentIndex(), 0u);
  EXPECT_EQ(Values(Get("a", "z")), (std::vector<std::string>{"1"}));
  EXPECT_FALSE(store_->GetMeta("m")->has_value());
  // The index forgot the aborted revisions: versions continue from the
  // committed state.
  Put("a", "3");
  auto kv = Get("a").kvs(0);
  EXPECT_EQ(kv.mod_revision(), 3);
  EXPECT_EQ(kv.version(), 2);
  Reopen();
  EXPECT_EQ(Values(Get("a", "z")), (std::vector<std::string>{"3"}));
}

TEST_F(WriteTxnTest, FailedRequestLeavesNothingAndBatchContinues) {
  auto txn = Begin();
  ASSERT_TRUE(txn->Put(PutReq("a", "1")).ok());  // 2
  auto bad = PutReq("missing", "");
  bad.set_ignore_lease(true);
  EXPECT_FALSE(txn->Put(bad).ok());
  ASSERT_TRUE(txn->Put(PutReq("b", "2")).ok());  // 3
  EXPECT_EQ(txn->Events().size(), 2u);
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(Get("b").kvs(0).mod_revision(), 3);
}

TEST_F(WriteTxnTest, TxnFailingMidwayIsRolledBack) {
  // Validation (CheckTxnRequest) would reject this txn: put after delete of
  // the same key. Unvalidated, the put fails after the delete was written,
  // and the whole txn must disappear, in LMDB and in the index.
  Put("x", "orig");  // 2
  auto txn = Begin();
  ASSERT_TRUE(txn->Put(PutReq("y", "1")).ok());  // 3
  TxnRequest t;
  *t.add_success()->mutable_request_put() = PutReq("z", "1");
  *t.add_success()->mutable_request_delete_range() = DelReq("x");
  auto put = PutReq("x", "");
  put.set_ignore_value(true);
  *t.add_success()->mutable_request_put() = put;
  auto r = txn->Txn(t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "etcdserver: key not found");
  EXPECT_EQ(txn->Revision(), 3);
  EXPECT_EQ(txn->Events().size(), 1u);
  auto in_txn = txn->Range(RangeReq("a", "zz"));
  ASSERT_TRUE(in_txn.ok());
  EXPECT_EQ(testing::Keys(*in_txn), (std::vector<std::string>{"x", "y"}));
  ASSERT_TRUE(txn->Put(PutReq("w", "1")).ok());  // 4
  ASSERT_TRUE(txn->Commit().ok());
  txn.reset();
  Reopen();
  auto all = Get("a", "zz");
  EXPECT_EQ(testing::Keys(all), (std::vector<std::string>{"w", "x", "y"}));
  EXPECT_EQ(all.kvs(1).value(), "orig");
  EXPECT_EQ(all.kvs(1).version(), 1);
  EXPECT_EQ(all.kvs(0).mod_revision(), 4);
  EXPECT_EQ(store_->CurrentRevision(), 4);
}

TEST_F(WriteTxnTest, FullMapFailsTheRequestOnly) {
  Options opts;
  opts.map_size_bytes = 1 << 20;
  Reopen(opts);
  auto txn = Begin();
  ASSERT_TRUE(txn->Put(PutReq("small", "1")).ok());
  ASSERT_TRUE(txn->PutMeta("meta", "kept").ok());
  const std::string huge(2 << 20, 'x');
  auto r = txn->Put(PutReq("huge", huge));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(r.status().message(), "etcdserver: mvcc: database space exceeded");
  ASSERT_TRUE(txn->Put(PutReq("after", "2")).ok());
  txn->SetConsistentIndex(5, 1);
  ASSERT_TRUE(txn->Commit().ok());
  txn.reset();
  EXPECT_EQ(testing::Keys(Get("a", "z")), (std::vector<std::string>{"after", "small"}));
  EXPECT_EQ(store_->CurrentRevision(), 3);
  Reopen(opts);
  EXPECT_EQ(testing::Keys(Get("a", "z")), (std::vector<std::string>{"after", "small"}));
  EXPECT_EQ(store_->GetMeta("meta")->value_or(""), "kept");
  EXPECT_EQ(store_->ConsistentIndex(), 5u);
}

TEST_F(WriteTxnTest, MetaPutAndDelete) {
  auto txn = Begin();
  ASSERT_TRUE(txn->PutMeta("k", "v1").ok());
  ASSERT_TRUE(txn->PutMeta("k", "v2").ok());
  ASSERT_TRUE(txn->PutMeta("gone", "x").ok());
  ASSERT_TRUE(txn->DeleteMeta("gone").ok());
  ASSERT_TRUE(txn->DeleteMeta("never").ok());
  EXPECT_FALSE(store_->GetMeta("k")->has_value());  // not committed yet
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(store_->GetMeta("k")->value_or(""), "v2");
  EXPECT_FALSE(store_->GetMeta("gone")->has_value());
  // Metadata writes take no revision.
  EXPECT_EQ(store_->CurrentRevision(), 1);
}

TEST_F(WriteTxnTest, ConsistentIndexCommitsWithData) {
  auto txn = Begin();
  ASSERT_TRUE(txn->Put(PutReq("a", "1")).ok());
  txn->SetConsistentIndex(10, 2);
  txn->SetConsistentIndex(11, 2);
  EXPECT_EQ(store_->ConsistentIndex(), 0u);
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(store_->ConsistentIndex(), 11u);
  EXPECT_EQ(store_->ConsistentTerm(), 2u);
  txn.reset();
  Reopen();
  EXPECT_EQ(store_->ConsistentIndex(), 11u);
  EXPECT_EQ(store_->ConsistentTerm(), 2u);
}

TEST_F(WriteTxnTest, CompactInBatchWithWrites) {
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  auto txn = Begin();
  ASSERT_TRUE(txn->Put(PutReq("a", "3")).ok());  // 4
  etcdserverpb::CompactionRequest c;
  c.set_revision(4);
  ASSERT_TRUE(txn->Compact(c).ok());
  // Inside the batch the compaction is already in force.
  auto old = txn->Range(RangeReq("a", "", 3));
  EXPECT_EQ(old.status().code(), Code::kOutOfRange);
  // Readers still see the committed state.
  EXPECT_EQ(store_->CompactRevision(), 0);
  EXPECT_EQ(Values(Get("a", "", 2)), (std::vector<std::string>{"1"}));
  ASSERT_TRUE(txn->Put(PutReq("a", "4")).ok());  // 5
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(store_->CompactRevision(), 4);
  EXPECT_EQ(Values(Get("a", "", 4)), (std::vector<std::string>{"3"}));
  EXPECT_EQ(Get("a").kvs(0).version(), 4);
}

}  // namespace
}  // namespace etcdd::mvcc
