// Leases over a real mvcc::Store: grants and revokes applied in write
// transactions, keys following puts and deletes, and recovery from the
// backend after a reopen.
#include "server/leases.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "../mvcc/mvcc_test_util.h"

namespace etcdd::server {
namespace {

namespace pb = etcdserverpb;
using mvcc::testing::PutReq;

class LeasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = mvcc::testing::MakeTempDir();
    Open();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // (Re)opens the store and a fresh Leases recovered from it.
  void Open() {
    store_.reset();
    leases_ = std::make_unique<Leases>(lease::LessorOptions{});
    mvcc::Options opts;
    opts.lease_exists = [this](int64_t id) { return leases_->Exists(id); };
    auto s = mvcc::Store::Open(dir_, opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    ASSERT_TRUE(leases_->Recover(*store_).ok());
  }

  // Runs `fn` in one write transaction, tracking its events, and commits.
  template <typename Fn>
  void Apply(Fn fn) {
    auto txn = store_->BeginWrite();
    ASSERT_TRUE(txn.ok());
    fn(**txn);
    leases_->Track(**txn, 0);
    ASSERT_TRUE((*txn)->Commit().ok());
  }

  void Grant(int64_t id, int64_t ttl) {
    Apply([&](mvcc::Store::WriteTxn& txn) {
      pb::LeaseGrantRequest req;
      req.set_id(id);
      req.set_ttl(ttl);
      auto r = leases_->ApplyGrant(txn, req);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->id(), id);
    });
  }

  std::vector<std::string> Keys(int64_t id) {
    auto info = leases_->Lookup(id);
    EXPECT_TRUE(info.ok());
    return info.ok() ? info->keys : std::vector<std::string>{};
  }

  std::string dir_;
  std::unique_ptr<Leases> leases_;
  std::unique_ptr<mvcc::Store> store_;
};

TEST_F(LeasesTest, GrantRaisesTtlToMinimumAndRefusesDuplicates) {
  Grant(7, 1);
  auto info = leases_->Lookup(7);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->granted_ttl, 2);  // etcd's minimum with default timings
  Apply([&](mvcc::Store::WriteTxn& txn) {
    pb::LeaseGrantRequest req;
    req.set_id(7);
    req.set_ttl(10);
    auto r = leases_->ApplyGrant(txn, req);
    EXPECT_EQ(r.status().message(), "etcdserver: lease already exists");
  });
}

TEST_F(LeasesTest, PutWithUnknownLeaseIsRefused) {
  Apply([&](mvcc::Store::WriteTxn& txn) {
    auto r = txn.Put(PutReq("k", "v", 99));
    EXPECT_EQ(r.status().message(), "etcdserver: requested lease not found");
  });
}

TEST_F(LeasesTest, KeysFollowPutsAndDeletes) {
  Grant(1, 60);
  Grant(2, 60);
  Apply([&](mvcc::Store::WriteTxn& txn) {
    ASSERT_TRUE(txn.Put(PutReq("a", "v", 1)).ok());
    ASSERT_TRUE(txn.Put(PutReq("b", "v", 1)).ok());
    ASSERT_TRUE(txn.Put(PutReq("c", "v", 2)).ok());
  });
  EXPECT_EQ(Keys(1), (std::vector<std::string>{"a", "b"}));
  Apply([&](mvcc::Store::WriteTxn& txn) {
    ASSERT_TRUE(txn.Put(PutReq("a", "v2", 2)).ok());  // moves to lease 2
    ASSERT_TRUE(txn.Put(PutReq("b", "v2")).ok());     // no lease any more
    pb::DeleteRangeRequest del;
    del.set_key("c");
    ASSERT_TRUE(txn.DeleteRange(del).ok());
  });
  EXPECT_EQ(Keys(1), std::vector<std::string>{});
  EXPECT_EQ(Keys(2), std::vector<std::string>{"a"});
}

TEST_F(LeasesTest, RevokeDeletesAttachedKeysInOneRevision) {
  Grant(5, 60);
  Apply([&](mvcc::Store::WriteTxn& txn) {
    ASSERT_TRUE(txn.Put(PutReq("x", "1", 5)).ok());
    ASSERT_TRUE(txn.Put(PutReq("y", "1", 5)).ok());
    ASSERT_TRUE(txn.Put(PutReq("z", "1")).ok());
  });
  const int64_t before = store_->CurrentRevision();
  Apply([&](mvcc::Store::WriteTxn& txn) {
    pb::LeaseRevokeRequest req;
    req.set_id(5);
    ASSERT_TRUE(leases_->ApplyRevoke(txn, req).ok());
    ASSERT_EQ(txn.Events().size(), 2u);
    for (const auto& ev : txn.Events()) {
      EXPECT_EQ(ev.type(), mvccpb::Event::DELETE);
      EXPECT_EQ(ev.kv().mod_revision(), before + 1);
    }
  });
  EXPECT_EQ(store_->CurrentRevision(), before + 1);
  EXPECT_FALSE(leases_->Exists(5));
  auto z = store_->Range(mvcc::testing::RangeReq("z"));
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->kvs_size(), 1);
  Apply([&](mvcc::Store::WriteTxn& txn) {
    pb::LeaseRevokeRequest req;
    req.set_id(5);
    EXPECT_EQ(leases_->ApplyRevoke(txn, req).status().message(),
              "etcdserver: requested lease not found");
  });
}

TEST_F(LeasesTest, RecoverRebuildsLeasesAndKeysAfterReopen) {
  Grant(3, 30);
  Grant(4, 40);
  Apply([&](mvcc::Store::WriteTxn& txn) {
    ASSERT_TRUE(txn.Put(PutReq("k1", "v", 3)).ok());
    ASSERT_TRUE(txn.Put(PutReq("k2", "v", 3)).ok());
    pb::LeaseCheckpointRequest cp;
    auto* c = cp.add_checkpoints();
    c->set_id(4);
    c->set_remaining_ttl(25);
    ASSERT_TRUE(leases_->ApplyCheckpoint(txn, cp).ok());
  });
  Open();
  auto list = leases_->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0], (lease::LeaseRecord{3, 30, 0}));
  EXPECT_EQ(list[1], (lease::LeaseRecord{4, 40, 25}));
  EXPECT_EQ(Keys(3), (std::vector<std::string>{"k1", "k2"}));
  // A primary after recovery counts from the checkpointed remaining TTL.
  leases_->Promote(std::chrono::milliseconds(0));
  auto info = leases_->Lookup(4);
  ASSERT_TRUE(info.ok());
  EXPECT_LE(info->remaining_ttl, 25);
  EXPECT_GE(info->remaining_ttl, 24);
}

TEST_F(LeasesTest, RenewOnlyOnPrimary) {
  Grant(9, 30);
  EXPECT_TRUE(lease::IsNotPrimary(leases_->Renew(9).status()));
  leases_->Promote(std::chrono::milliseconds(0));
  auto r = leases_->Renew(9);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ttl, 30);
  EXPECT_EQ(leases_->Renew(10).status().message(), "etcdserver: requested lease not found");
  leases_->Demote();
  EXPECT_FALSE(leases_->IsPrimary());
}

}  // namespace
}  // namespace etcdd::server
