// The revision model, Range in all its forms, Put and DeleteRange.
#include <gtest/gtest.h>

#include "mvcc/errors.h"
#include "mvcc_test_util.h"

namespace etcdd::mvcc {
namespace {

using etcdserverpb::RangeRequest;
using testing::Keys;
using testing::kUnknownLease;
using testing::PutReq;
using testing::RangeReq;
using testing::StoreTest;
using testing::Values;

const std::string kFromKey(1, '\0');

class RevisionModelTest : public StoreTest {};

TEST_F(RevisionModelTest, EmptyStoreIsAtRevisionOne) {
  EXPECT_EQ(store_->CurrentRevision(), 1);
  EXPECT_EQ(store_->CompactRevision(), 0);
  EXPECT_EQ(store_->ConsistentIndex(), 0u);
  auto r = Get("foo");
  EXPECT_EQ(r.header().revision(), 1);
  EXPECT_EQ(r.count(), 0);
  EXPECT_EQ(r.kvs_size(), 0);
}

TEST_F(RevisionModelTest, PutsTakeRevisionsAndCountVersions) {
  EXPECT_EQ(Put("foo", "v1").header().revision(), 2);
  EXPECT_EQ(Put("foo", "v2").header().revision(), 3);
  auto r = Get("foo");
  ASSERT_EQ(r.kvs_size(), 1);
  EXPECT_EQ(r.header().revision(), 3);
  EXPECT_EQ(r.kvs(0).value(), "v2");
  EXPECT_EQ(r.kvs(0).create_revision(), 2);
  EXPECT_EQ(r.kvs(0).mod_revision(), 3);
  EXPECT_EQ(r.kvs(0).version(), 2);
  EXPECT_EQ(store_->CurrentRevision(), 3);
}

TEST_F(RevisionModelTest, TombstoneResetsVersionAndCreateRevision) {
  Put("foo", "v1");     // 2
  Put("foo", "v2");     // 3
  auto d = Del("foo");  // 4
  EXPECT_EQ(d.deleted(), 1);
  EXPECT_EQ(d.header().revision(), 4);
  EXPECT_EQ(Get("foo").kvs_size(), 0);
  // Deleting nothing takes no revision.
  auto none = Del("foo");
  EXPECT_EQ(none.deleted(), 0);
  EXPECT_EQ(none.header().revision(), 4);
  EXPECT_EQ(store_->CurrentRevision(), 4);
  Put("foo", "v3");  // 5
  auto r = Get("foo");
  ASSERT_EQ(r.kvs_size(), 1);
  EXPECT_EQ(r.kvs(0).create_revision(), 5);
  EXPECT_EQ(r.kvs(0).version(), 1);
}

TEST_F(RevisionModelTest, HistoricalReads) {
  Put("foo", "v1");  // 2
  Put("foo", "v2");  // 3
  Del("foo");        // 4
  Put("foo", "v3");  // 5
  EXPECT_EQ(Values(Get("foo", "", 2)), (std::vector<std::string>{"v1"}));
  EXPECT_EQ(Values(Get("foo", "", 3)), (std::vector<std::string>{"v2"}));
  EXPECT_EQ(Get("foo", "", 4).kvs_size(), 0);
  auto r = Get("foo", "", 5);
  EXPECT_EQ(Values(r), (std::vector<std::string>{"v3"}));
  // The header carries the current revision, also for historical reads.
  EXPECT_EQ(Get("foo", "", 2).header().revision(), 5);
  EXPECT_EQ(Get("foo", "", 1).kvs_size(), 0);
  EXPECT_EQ(Get("foo", "", -3).kvs_size(), 1);  // <= 0 means current
}

TEST_F(RevisionModelTest, FutureRevisionIsOutOfRange) {
  Put("foo", "v1");
  auto r = store_->Range(RangeReq("foo", "", 3));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  EXPECT_EQ(r.status().message(), "etcdserver: mvcc: required revision is a future revision");
}

TEST_F(RevisionModelTest, LeaseIsStored) {
  Put("foo", "v", 0x1234);
  EXPECT_EQ(Get("foo").kvs(0).lease(), 0x1234);
  Put("foo", "v");
  EXPECT_EQ(Get("foo").kvs(0).lease(), 0);
}

TEST_F(RevisionModelTest, EventsDescribeWritesInOrder) {
  Put("a", "1");
  auto txn = Begin();
  ASSERT_TRUE(txn->Put(PutReq("b", "2")).ok());
  ASSERT_TRUE(txn->DeleteRange(testing::DelReq("a", "c")).ok());
  EXPECT_EQ(txn->Revision(), 4);
  const auto& ev = txn->Events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].type(), mvccpb::Event::PUT);
  EXPECT_EQ(ev[0].kv().key(), "b");
  EXPECT_EQ(ev[0].kv().mod_revision(), 3);
  EXPECT_EQ(ev[0].kv().version(), 1);
  EXPECT_EQ(ev[1].type(), mvccpb::Event::DELETE);
  EXPECT_EQ(ev[1].kv().key(), "a");
  EXPECT_EQ(ev[1].kv().mod_revision(), 4);
  EXPECT_EQ(ev[2].kv().key(), "b");
  EXPECT_EQ(ev[2].kv().mod_revision(), 4);
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(txn->Events().size(), 3u);
}

class RangeTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    // Values run against key order so sorting by value is visible.
    Put("a", "4");  // 2
    Put("b", "3");  // 3
    Put("c", "2");  // 4
    Put("d", "1");  // 5
    Put("c", "2");  // 6: c at version 2
  }
};

TEST_F(RangeTest, RangeForms) {
  EXPECT_EQ(Keys(Get("b")), (std::vector<std::string>{"b"}));
  EXPECT_EQ(Keys(Get("bb")), (std::vector<std::string>{}));
  EXPECT_EQ(Keys(Get("b", "d")), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(Keys(Get("b", kFromKey)), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_EQ(Keys(Get(kFromKey, kFromKey)), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(Keys(Get("d", "b")), (std::vector<std::string>{}));
}

TEST_F(RangeTest, PrefixRange) {
  Put("foo/1", "x");
  Put("foo/2", "x");
  Put("fop", "x");
  Put("foo", "x");
  EXPECT_EQ(Keys(Get("foo/", "foo0")), (std::vector<std::string>{"foo/1", "foo/2"}));
}

TEST_F(RangeTest, LimitMoreAndCount) {
  auto req = RangeReq("a", "z");
  req.set_limit(2);
  auto r = Get(req);
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r.more());
  EXPECT_EQ(r.count(), 4);
  req.set_limit(4);
  r = Get(req);
  EXPECT_EQ(r.kvs_size(), 4);
  EXPECT_FALSE(r.more());
  req.set_limit(10);
  EXPECT_FALSE(Get(req).more());
}

TEST_F(RangeTest, CountOnlyAndKeysOnly) {
  auto req = RangeReq("a", "z");
  req.set_count_only(true);
  auto r = Get(req);
  EXPECT_EQ(r.count(), 4);
  EXPECT_EQ(r.kvs_size(), 0);
  EXPECT_FALSE(r.more());
  req = RangeReq("a", "z");
  req.set_keys_only(true);
  r = Get(req);
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"a", "b", "c", "d"}));
  for (const auto& kv : r.kvs()) {
    EXPECT_TRUE(kv.value().empty());
    EXPECT_GT(kv.mod_revision(), 0);
  }
}

TEST_F(RangeTest, SortOrders) {
  auto req = RangeReq("a", "z");
  req.set_sort_target(RangeRequest::VALUE);
  req.set_sort_order(RangeRequest::ASCEND);
  EXPECT_EQ(Keys(Get(req)), (std::vector<std::string>{"d", "c", "b", "a"}));
  req.set_sort_order(RangeRequest::DESCEND);
  EXPECT_EQ(Keys(Get(req)), (std::vector<std::string>{"a", "b", "c", "d"}));
  req.set_sort_target(RangeRequest::KEY);
  EXPECT_EQ(Keys(Get(req)), (std::vector<std::string>{"d", "c", "b", "a"}));
  req.set_sort_target(RangeRequest::MOD);
  EXPECT_EQ(Keys(Get(req)), (std::vector<std::string>{"c", "d", "b", "a"}));
  req.set_sort_target(RangeRequest::CREATE);
  EXPECT_EQ(Keys(Get(req)), (std::vector<std::string>{"d", "c", "b", "a"}));
  // Ties keep key order: c has version 2, the others 1.
  req.set_sort_target(RangeRequest::VERSION);
  EXPECT_EQ(Keys(Get(req)), (std::vector<std::string>{"c", "a", "b", "d"}));
  req.set_sort_order(RangeRequest::ASCEND);
  EXPECT_EQ(Keys(Get(req)), (std::vector<std::string>{"a", "b", "d", "c"}));
}

TEST_F(RangeTest, OrderNoneWithNonKeyTargetAscends) {
  auto req = RangeReq("a", "z");
  req.set_sort_target(RangeRequest::VALUE);
  EXPECT_EQ(Keys(Get(req)), (std::vector<std::string>{"d", "c", "b", "a"}));
}

TEST_F(RangeTest, SortHappensBeforeLimit) {
  auto req = RangeReq("a", "z");
  req.set_sort_target(RangeRequest::VALUE);
  req.set_sort_order(RangeRequest::ASCEND);
  req.set_limit(1);
  auto r = Get(req);
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"d"}));
  EXPECT_TRUE(r.more());
  EXPECT_EQ(r.count(), 4);
}

TEST_F(RangeTest, OrderNoneWithTargetSortsOnlyTheLimitedPrefix) {
  // etcd quirk (apply.go): with order NONE the limit is applied when reading
  // (limit+1 keys in key order), and the ascending sort runs on those.
  auto req = RangeReq("a", "z");
  req.set_sort_target(RangeRequest::VALUE);
  req.set_limit(2);
  auto r = Get(req);
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"c", "b"}));
  EXPECT_TRUE(r.more());
}

TEST_F(RangeTest, RevisionFiltersApplyBeforeLimitButNotToCount) {
  auto req = RangeReq("a", "z");
  req.set_min_mod_revision(3);
  req.set_max_mod_revision(5);
  auto r = Get(req);
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(r.count(), 4);
  req = RangeReq("a", "z");
  req.set_min_create_revision(3);
  req.set_max_create_revision(4);
  req.set_limit(1);
  r = Get(req);
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(r.more());
}

class PutTest : public StoreTest {};

TEST_F(PutTest, PrevKv) {
  auto req = PutReq("foo", "v1");
  req.set_prev_kv(true);
  EXPECT_FALSE(Put(req).has_prev_kv());
  req.set_value("v2");
  auto r = Put(req);
  ASSERT_TRUE(r.has_prev_kv());
  EXPECT_EQ(r.prev_kv().value(), "v1");
  EXPECT_EQ(r.prev_kv().mod_revision(), 2);
  EXPECT_EQ(r.header().revision(), 3);
}

TEST_F(PutTest, IgnoreValueKeepsValue) {
  Put("foo", "v1", 7);
  auto req = PutReq("foo", "", 9);
  req.set_ignore_value(true);
  Put(req);
  auto kv = Get("foo").kvs(0);
  EXPECT_EQ(kv.value(), "v1");
  EXPECT_EQ(kv.lease(), 9);
  EXPECT_EQ(kv.version(), 2);
}

TEST_F(PutTest, IgnoreLeaseKeepsLease) {
  Put("foo", "v1", 7);
  auto req = PutReq("foo", "v2");
  req.set_ignore_lease(true);
  Put(req);
  auto kv = Get("foo").kvs(0);
  EXPECT_EQ(kv.value(), "v2");
  EXPECT_EQ(kv.lease(), 7);
}

TEST_F(PutTest, UnknownLeaseIsRefusedAndWritesNothing) {
  auto txn = Begin();
  auto r = txn->Put(PutReq("foo", "v", kUnknownLease));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), "etcdserver: requested lease not found");
  EXPECT_TRUE(txn->Events().empty());
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(store_->CurrentRevision(), 1);
}

TEST_F(PutTest, WithoutALessorNoLeaseExists) {
  Reopen(Options());
  auto txn = Begin();
  EXPECT_EQ(txn->Put(PutReq("foo", "v", 7)).status().code(), Code::kNotFound);
  EXPECT_TRUE(txn->Put(PutReq("foo", "v")).ok());
}

TEST_F(PutTest, IgnoreFlagsOnMissingKeyFailAndWriteNothing) {
  for (bool value : {true, false}) {
    auto req = PutReq("missing", "");
    req.set_ignore_value(value);
    req.set_ignore_lease(!value);
    auto txn = Begin();
    auto r = txn->Put(req);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "etcdserver: key not found");
    EXPECT_TRUE(txn->Events().empty());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_EQ(store_->CurrentRevision(), 1);
}

class DeleteTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    for (const char* k : {"a", "b", "c", "d"}) Put(k, std::string("v") + k);
  }
};

TEST_F(DeleteTest, SingleKey) {
  auto r = Del("b");
  EXPECT_EQ(r.deleted(), 1);
  EXPECT_EQ(r.header().revision(), 6);
  EXPECT_EQ(Keys(Get("a", "z")), (std::vector<std::string>{"a", "c", "d"}));
}

TEST_F(DeleteTest, RangeTakesOneRevision) {
  auto r = Del("b", "d");
  EXPECT_EQ(r.deleted(), 2);
  EXPECT_EQ(r.header().revision(), 6);
  EXPECT_EQ(Keys(Get("a", "z")), (std::vector<std::string>{"a", "d"}));
  EXPECT_EQ(store_->CurrentRevision(), 6);
}

TEST_F(DeleteTest, FromKey) {
  EXPECT_EQ(Del("b", kFromKey).deleted(), 3);
  EXPECT_EQ(Keys(Get(kFromKey, kFromKey)), (std::vector<std::string>{"a"}));
}

TEST_F(DeleteTest, PrevKvs) {
  auto req = testing::DelReq("a", "c");
  req.set_prev_kv(true);
  auto r = Del(req);
  ASSERT_EQ(r.prev_kvs_size(), 2);
  EXPECT_EQ(r.prev_kvs(0).key(), "a");
  EXPECT_EQ(r.prev_kvs(0).value(), "va");
  EXPECT_EQ(r.prev_kvs(1).key(), "b");
}

}  // namespace
}  // namespace etcdd::mvcc
