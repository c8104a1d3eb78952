// Compaction semantics, and what survives reopening the backend.
#include <gtest/gtest.h>
#include <lmdb.h>

#include "mvcc/errors.h"
#include "mvcc/revision.h"
#include "mvcc_test_util.h"

namespace etcdd::mvcc {
namespace {

using testing::RangeReq;
using testing::StoreTest;
using testing::Values;

class CompactTest : public StoreTest {
 protected:
  Status RangeStatus(const std::string& key, int64_t rev) {
    return store_->Range(RangeReq(key, "", rev)).status();
  }

  // Number of entries in the key database, read with LMDB directly (the
  // Store must be closed).
  size_t KeyDbEntries() {
    MDB_env* env = nullptr;
    EXPECT_EQ(mdb_env_create(&env), 0);
    EXPECT_EQ(mdb_env_set_maxdbs(env, 8), 0);
    EXPECT_EQ(mdb_env_open(env, dir_.c_str(), MDB_RDONLY, 0600), 0);
    MDB_txn* txn = nullptr;
    EXPECT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
    MDB_dbi dbi;
    EXPECT_EQ(mdb_dbi_open(txn, "key", 0, &dbi), 0);
    MDB_stat st;
    EXPECT_EQ(mdb_stat(txn, dbi, &st), 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return st.ms_entries;
  }
};

TEST_F(CompactTest, KeepsEachKeysValueAtTheRevision) {
  Put("a", "a1");  // 2
  Put("a", "a2");  // 3
  Put("b", "b1");  // 4
  Del("b");        // 5
  Put("c", "c1");  // 6
  auto r = Compact(4);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->header().revision(), 6);
  EXPECT_EQ(store_->CompactRevision(), 4);
  EXPECT_EQ(store_->CurrentRevision(), 6);

  Status st = RangeStatus("a", 3);
  EXPECT_EQ(st.code(), Code::kOutOfRange);
  EXPECT_EQ(st.message(), "etcdserver: mvcc: required revision has been compacted");
  EXPECT_EQ(Values(Get("a", "z", 4)), (std::vector<std::string>{"a2", "b1"}));
  EXPECT_EQ(Values(Get("a", "z", 5)), (std::vector<std::string>{"a2"}));
  EXPECT_EQ(Values(Get("a", "z")), (std::vector<std::string>{"a2", "c1"}));

  // A key deleted at or before the compaction point loses all its revisions.
  ASSERT_TRUE(Compact(5).ok());
  EXPECT_EQ(Values(Get("a", "z", 5)), (std::vector<std::string>{"a2"}));
  store_.reset();
  // Left: a@3, c@6.
  EXPECT_EQ(KeyDbEntries(), 2u);
}

TEST_F(CompactTest, CompactedAndFutureErrors) {
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  ASSERT_TRUE(Compact(2).ok());
  for (int64_t rev : {1, 2}) {
    auto r = Compact(rev);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kOutOfRange);
    EXPECT_EQ(r.status().message(), "etcdserver: mvcc: required revision has been compacted");
  }
  auto r = Compact(4);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "etcdserver: mvcc: required revision is a future revision");
  EXPECT_TRUE(Compact(3).ok());
  // Reading exactly at the compact revision is allowed.
  EXPECT_EQ(Values(Get("a", "", 3)), (std::vector<std::string>{"2"}));
}

TEST_F(CompactTest, CompactingAwayTheNewestRevisionsKeepsTheRevision) {
  Put("a", "1");  // 2
  Del("a");       // 3
  ASSERT_TRUE(Compact(3).ok());
  Reopen();
  EXPECT_EQ(store_->CurrentRevision(), 3);
  EXPECT_EQ(store_->CompactRevision(), 3);
  EXPECT_EQ(Put("a", "2").header().revision(), 4);
  EXPECT_EQ(Get("a").kvs(0).version(), 1);
}

TEST_F(CompactTest, ManyRevisionsAcrossPages) {
  const std::string value(100, 'v');
  // 3 keys x 400 versions, interleaved, plus a deleted key.
  for (int i = 0; i < 400; ++i) {
    etcdserverpb::TxnRequest t;
    for (const char* k : {"k1", "k2", "k3"}) {
      *t.add_success()->mutable_request_put() = testing::PutReq(k, value + std::to_string(i));
    }
    ASSERT_TRUE(Txn(t).ok());
  }
  Put("gone", "x");
  Del("gone");
  const int64_t current = store_->CurrentRevision();
  ASSERT_EQ(current, 403);
  ASSERT_TRUE(Compact(300).ok());
  for (int64_t rev = 300; rev <= current; ++rev) {
    auto r = Get("k1", "k4", rev);
    ASSERT_EQ(r.kvs_size(), 3) << rev;
    EXPECT_EQ(r.kvs(0).mod_revision(), std::min<int64_t>(rev, 401));
    EXPECT_EQ(r.kvs(0).version(), std::min<int64_t>(rev, 401) - 1);
  }
  EXPECT_EQ(RangeStatus("k1", 299).code(), Code::kOutOfRange);
  Reopen();
  EXPECT_EQ(Get("k2", "", 300).kvs(0).version(), 299);
  EXPECT_EQ(Get("k2").kvs(0).create_revision(), 2);
  EXPECT_EQ(Put("k2", "again").header().revision(), 404);
  EXPECT_EQ(Get("k2").kvs(0).version(), 401);
  store_.reset();
  // Per key: the value at 300 plus 301..401; "gone"'s put and tombstone; k2's new put.
  EXPECT_EQ(KeyDbEntries(), 3u * 102 + 2 + 1);
}

TEST_F(CompactTest, IndexRebuiltFromCompactedBackendKeepsVersions) {
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  Put("a", "3");  // 4
  Put("b", "1");  // 5
  Del("b");       // 6
  Put("b", "2");  // 7
  ASSERT_TRUE(Compact(6).ok());
  Reopen();
  EXPECT_EQ(store_->CompactRevision(), 6);
  Put("a", "4");
  auto a = Get("a").kvs(0);
  EXPECT_EQ(a.version(), 4);
  EXPECT_EQ(a.create_revision(), 2);
  auto b = Get("b").kvs(0);
  EXPECT_EQ(b.version(), 1);
  EXPECT_EQ(b.create_revision(), 7);
  EXPECT_EQ(Get("b", "", 6).kvs_size(), 0);
}

class PersistenceTest : public StoreTest {};

TEST_F(PersistenceTest, DataIndexAndMarksSurviveReopen) {
  Put("a", "1", 3);
  Put("b", "2");
  Put("a", "3");
  Del("b");
  auto txn = Begin();
  ASSERT_TRUE(txn->Put(testing::PutReq("c", "4")).ok());
  txn->SetConsistentIndex(42, 7);
  ASSERT_TRUE(txn->PutMeta("members/1", "m1").ok());
  ASSERT_TRUE(txn->PutMeta("members/2", "m2").ok());
  ASSERT_TRUE(txn->PutMeta("cluster", "c").ok());
  ASSERT_TRUE(txn->Commit().ok());
  txn.reset();
  ASSERT_TRUE(Compact(3).ok());

  Reopen();
  EXPECT_EQ(store_->CurrentRevision(), 6);
  EXPECT_EQ(store_->CompactRevision(), 3);
  EXPECT_EQ(store_->ConsistentIndex(), 42u);
  EXPECT_EQ(store_->ConsistentTerm(), 7u);
  auto r = Get("a", "z");
  ASSERT_EQ(r.kvs_size(), 2);
  EXPECT_EQ(r.kvs(0).value(), "3");
  EXPECT_EQ(r.kvs(0).version(), 2);
  EXPECT_EQ(r.kvs(0).lease(), 0);
  EXPECT_EQ(r.kvs(1).key(), "c");
  EXPECT_EQ(Get("b", "", 4).kvs_size(), 1);
  auto meta = store_->GetMeta("cluster");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->value_or(""), "c");
  EXPECT_FALSE(store_->GetMeta("nothing")->has_value());
  auto members = store_->ListMeta("members/");
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 2u);
  EXPECT_EQ((*members)[1].second, "m2");
  auto all = store_->ListMeta("");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), 3u);
}

TEST_F(PersistenceTest, SyncOnCommitAndSync) {
  Options opts;
  opts.sync_on_commit = true;
  Reopen(opts);
  Put("a", "1");
  EXPECT_TRUE(store_->Sync().ok());
  Reopen();
  EXPECT_EQ(Get("a").kvs_size(), 1);
  EXPECT_TRUE(store_->Sync().ok());
  EXPECT_GT(store_->DbSizeBytes(), 0u);
  EXPECT_GT(store_->DbSizeInUseBytes(), 0u);
  EXPECT_LE(store_->DbSizeInUseBytes(), store_->DbSizeBytes());
}

TEST_F(PersistenceTest, ResumesScheduledCompaction) {
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  store_.reset();
  // A backend whose compaction was scheduled but not finished.
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 8), 0);
  ASSERT_EQ(mdb_env_open(env, dir_.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi;
  ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
  RevKey mark(Revision{3, 0}, false);
  std::string k = "scheduledCompactRev";
  MDB_val key{k.size(), k.data()};
  MDB_val val{mark.view().size(), const_cast<char*>(mark.view().data())};
  ASSERT_EQ(mdb_put(txn, dbi, &key, &val, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);

  Reopen();
  EXPECT_EQ(store_->CompactRevision(), 3);
  EXPECT_EQ(store_->Range(RangeReq("a", "", 2)).status().code(), Code::kOutOfRange);
}

TEST_F(PersistenceTest, CorruptKeyIsReported) {
  Put("a", "1");
  store_.reset();
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 8), 0);
  ASSERT_EQ(mdb_env_open(env, dir_.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi;
  ASSERT_EQ(mdb_dbi_open(txn, "key", 0, &dbi), 0);
  std::string k = "garbage";
  MDB_val key{k.size(), k.data()};
  MDB_val val{0, nullptr};
  ASSERT_EQ(mdb_put(txn, dbi, &key, &val, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);

  auto r = Store::Open(dir_, Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_NE(r.status().message().find("data.mdb"), std::string::npos);
}

}  // namespace
}  // namespace etcdd::mvcc
