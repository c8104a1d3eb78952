// RestoreEtcdSnapshot on snapshot files shaped as etcd 3.5 and 3.6 write
// them (no such etcd runs here; Debian 12 has 3.4, which the pytest
// test_kvbackup_restore.py drives): meta with `term`, `confState` (JSON) and
// 3.6's `storageVersion`, a learner in `members`, leases, auth enabled, an
// alarm. The restored backend opens with the key space, the compaction, the
// leases and the new membership (the learner kept a learner).
#include "backup/restore.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "base/url.h"
#include "etcd_snapshot_files.h"
#include "mvcc/store.h"
#include "raftpb/raft.pb.h"
#include "server/applier.h"
#include "server/etcd_schema.h"
#include "server/leases.h"
#include "wal/wal.h"

namespace etcdd::backup {
namespace {

namespace schema = server::etcd_schema;
using testing::Big64;
using testing::Db;
using testing::Kv;
using testing::RevKey;
using testing::Tombstone;

serverpb::Member Member(uint64_t id, const std::string& name, bool learner) {
  serverpb::Member m;
  m.set_id(id);
  m.set_name(name);
  m.add_peer_urls("http://10.0.0." + std::to_string(id) + ":2380");
  m.set_is_learner(learner);
  return m;
}

// etcd 3.6's buckets for a cluster of a, b and learner c, with a lease
// holding key "l", compacted at 3.
Db Etcd36() {
  serverpb::LeaseRecord lease;
  lease.set_id(0x1234);
  lease.set_ttl(600);
  return {
      {"alarm", {{std::string("\x08\x01\x10\x01", 4), ""}}},
      {"auth", {{"authEnabled", schema::EncodeAuthEnabled(true)}, {"authRevision", Big64(3)}}},
      {"authRoles", {}},
      {"authUsers", {}},
      {"cluster", {{"clusterVersion", "3.6.0"}, {"downgrade", "{}"}}},
      {"key",
       {{RevKey(2, 0), Kv("a", 2, 2, 1, "1")},
        {RevKey(3, 0), Kv("a", 2, 3, 2, "2")},
        {RevKey(4, 0), Kv("l", 4, 4, 1, "leased")},
        {RevKey(5, 0), Kv("b", 5, 5, 1, "x")},
        {RevKey(6, 0, true), Tombstone("b")}}},
      {"lease", {{schema::LeaseKey(0x1234), schema::EncodeLease(lease)}}},
      {"members",
       {{schema::MemberKey(1), schema::EncodeMember(Member(1, "a", false))},
        {schema::MemberKey(2), schema::EncodeMember(Member(2, "b", false))},
        {schema::MemberKey(3), schema::EncodeMember(Member(3, "c", true))}}},
      {"members_removed", {}},
      {"meta",
       {{"confState", "{\"voters\":[1,2],\"learners\":[3],\"auto_leave\":false}"},
        {"consistent_index", Big64(40)},
        {"finishedCompactRev", RevKey(3, 0)},
        {"scheduledCompactRev", RevKey(3, 0)},
        {"storageVersion", "3.6"},
        {"term", Big64(7)}}},
  };
}

class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "restore-XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  RestoreOptions Options(const std::string& snapshot) {
    RestoreOptions o;
    o.snapshot_path = snapshot;
    o.data_dir = dir_ + "/a.etcd";
    o.name = "a";
    EXPECT_TRUE(ParseRestoreUrls("a=http://127.0.0.1:2380,b=http://127.0.0.1:2381,"
                                 "c=http://127.0.0.1:2382",
                                 "http://127.0.0.1:2380", &o)
                    .ok());
    return o;
  }

  std::string dir_;
  std::unique_ptr<Logger> log_ = Logger::Stderr();
};

TEST_F(RestoreTest, AnEtcd36SnapshotRestoresWithItsLeasesAndLearner) {
  const std::string snap = testing::WriteSnapshot(dir_ + "/s.db", Etcd36());
  auto r = RestoreEtcdSnapshot(Options(snap), *log_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->revision, 6);
  EXPECT_EQ(r->compact_revision, 3);
  EXPECT_EQ(r->revisions, 5u);
  EXPECT_EQ(r->leases, 1u);
  EXPECT_TRUE(r->auth_enabled);
  ASSERT_EQ(r->members.members_size(), 3);
  EXPECT_EQ(r->members.members(2).name(), "c");
  EXPECT_TRUE(r->members.members(2).is_learner());
  EXPECT_FALSE(r->members.members(0).is_learner());

  auto store = mvcc::Store::Open(r->data_dir + "/member/db", {});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->CurrentRevision(), 6);
  EXPECT_EQ((*store)->CompactRevision(), 3);
  EXPECT_EQ((*store)->ConsistentIndex(), 3u);  // one entry per member, as etcd
  auto lease = (*store)->GetMeta(server::Leases::RecordKey(0x1234));
  ASSERT_TRUE(lease.ok() && lease->has_value());
  serverpb::LeaseRecord rec;
  ASSERT_TRUE(rec.ParseFromString(**lease));
  EXPECT_EQ(rec.ttl(), 600);
  auto cs = (*store)->GetMeta(server::kConfStateMetaKey);
  ASSERT_TRUE(cs.ok() && cs->has_value());
  raftpb::ConfState conf;
  ASSERT_TRUE(conf.ParseFromString(**cs));
  EXPECT_EQ(conf.voters_size(), 2);
  ASSERT_EQ(conf.learners_size(), 1);
  EXPECT_EQ(conf.learners(0), r->members.members(2).id());
  EXPECT_TRUE(wal::Wal::Exists(r->wal_dir));
}

TEST_F(RestoreTest, AnEtcd35SnapshotWithoutCompactionRestores) {
  Db db = Etcd36();
  db.erase("authRoles");
  db["meta"] = {{"confState", "{\"voters\":[1],\"auto_leave\":false}"},
                {"consistent_index", Big64(9)},
                {"term", Big64(2)}};
  db["cluster"] = {{"clusterVersion", "3.5.0"}};
  const std::string snap = testing::WriteSnapshot(dir_ + "/s.db", db);
  auto r = RestoreEtcdSnapshot(Options(snap), *log_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->revision, 6);
  EXPECT_EQ(r->compact_revision, 0);
}

TEST_F(RestoreTest, AnUndecodableLeaseIsNamedAndNothingIsLeft) {
  Db db = Etcd36();
  db["lease"] = {{schema::LeaseKey(7), "\xff\xff"}};
  const std::string snap = testing::WriteSnapshot(dir_ + "/s.db", db);
  RestoreOptions o = Options(snap);
  auto r = RestoreEtcdSnapshot(o, *log_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("bucket lease"), std::string::npos) << r.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(o.data_dir));
  EXPECT_FALSE(std::filesystem::exists(o.data_dir + ".restore-tmp"));
}

TEST_F(RestoreTest, EveryMemberALearnerIsRefused) {
  Db db = Etcd36();
  db["members"] = {{schema::MemberKey(1), schema::EncodeMember(Member(1, "a", true))}};
  const std::string snap = testing::WriteSnapshot(dir_ + "/s.db", db);
  RestoreOptions o = Options(snap);
  ASSERT_TRUE(ParseRestoreUrls("a=http://127.0.0.1:2380", "http://127.0.0.1:2380", &o).ok());
  auto r = RestoreEtcdSnapshot(o, *log_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("learner"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(o.data_dir));
}

}  // namespace
}  // namespace etcdd::backup
