// etcd's buckets from an etcdd backend: the snapshot file (bbolt + SHA-256)
// read back with lib/snap's reader, and the backend hash equal to the CRC of
// that file's buckets without the ignored keys.
#include "server/etcd_snapshot.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include "../mvcc/mvcc_test_util.h"
#include "base/crc32c.h"
#include "base/file.h"
#include "server/applier.h"
#include "server/etcd_schema.h"
#include "server/leases.h"
#include "snap/bbolt_reader.h"

namespace etcdd::server {
namespace {

namespace es = etcd_schema;
using Bucket = std::vector<std::pair<std::string, std::string>>;
using mvcc::testing::PutReq;

class EtcdSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = mvcc::testing::MakeTempDir();
    mvcc::Options opts;
    opts.lease_exists = [](int64_t id) { return id == 0x77; };
    auto s = mvcc::Store::Open(dir_ + "/db", opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Puts, a delete, a compaction, members, a ConfState and a lease record.
  void Populate() {
    auto txn = store_->BeginWrite().value();
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(txn->Put(PutReq("k" + std::to_string(i), std::string(100, 'v'))).ok());
    }
    auto leased = PutReq("leased", "x");
    leased.set_lease(0x77);
    ASSERT_TRUE(txn->Put(leased).ok());
    etcdserverpb::DeleteRangeRequest del;
    del.set_key("k5");
    ASSERT_TRUE(txn->DeleteRange(del).ok());
    etcdserverpb::CompactionRequest compact;
    compact.set_revision(10);
    ASSERT_TRUE(txn->Compact(compact).ok());
    serverpb::Members members;
    auto* m = members.add_members();
    m->set_id(0x8e9e05c52164694d);
    m->set_name("default");
    m->add_peer_urls("http://localhost:2380");
    m->add_client_urls("http://localhost:2379");
    members.add_removed(0x1234);
    ASSERT_TRUE(txn->PutMeta(kMembersMetaKey, members.SerializeAsString()).ok());
    raftpb::ConfState cs;
    cs.add_voters(0x8e9e05c52164694d);
    ASSERT_TRUE(txn->PutMeta(kConfStateMetaKey, cs.SerializeAsString()).ok());
    serverpb::LeaseRecord lease;
    lease.set_id(0x77);
    lease.set_ttl(60);
    ASSERT_TRUE(
        txn->PutMeta(std::string(kLeaseMetaPrefix) + "0000000000000077", lease.SerializeAsString())
            .ok());
    txn->SetConsistentIndex(42, 3);
    ASSERT_TRUE(txn->Commit().ok());
  }

  std::map<std::string, Bucket> ReadBuckets(const std::string& path, uint64_t db_bytes) {
    std::map<std::string, Bucket> out;
    auto r = snap::BboltReader::Open(path, db_bytes);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return out;
    EXPECT_TRUE(r.value().Check().ok());
    auto names = r.value().Buckets();
    EXPECT_TRUE(names.ok());
    if (!names.ok()) return out;
    const std::vector<std::string> list = std::move(names).value();
    for (const auto& name : list) {
      Bucket& b = out[name];
      EXPECT_TRUE(r.value()
                      .ForEach(name,
                               [&](std::string_view k, std::string_view v) {
                                 b.emplace_back(std::string(k), std::string(v));
                                 return Status::Ok();
                               })
                      .ok());
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<mvcc::Store> store_;
};

TEST_F(EtcdSnapshotTest, FileHoldsEtcdBucketsAndSha256) {
  Populate();
  auto view = store_->OpenRawView().value();
  EXPECT_EQ(view->revision(), store_->CurrentRevision());
  const std::string path = dir_ + "/export.snap.db";
  auto info = WriteEtcdSnapshot(*view, path);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info.value().revision, store_->CurrentRevision());
  EXPECT_EQ(info.value().db_bytes % 4096, 0u);

  auto bytes = ReadFile(path).value();
  ASSERT_EQ(bytes.size(), info.value().db_bytes + 32);
  unsigned char sha[32];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), info.value().db_bytes, sha);
  EXPECT_EQ(bytes.substr(info.value().db_bytes), std::string(reinterpret_cast<char*>(sha), 32));

  auto buckets = ReadBuckets(path, info.value().db_bytes);
  std::vector<std::string> names;
  uint64_t total = 0;
  for (const auto& [name, b] : buckets) {
    names.push_back(name);
    total += b.size();
  }
  EXPECT_EQ(names, std::vector<std::string>(es::kAllBuckets.begin(), es::kAllBuckets.end()));
  EXPECT_EQ(total, info.value().total_keys);
  EXPECT_TRUE(buckets["alarm"].empty());
  EXPECT_EQ(buckets["auth"], (Bucket{{"authRevision", es::EncodeUint64(1)}}));
  EXPECT_EQ(buckets["cluster"], (Bucket{{"clusterVersion", "3.4.0"}}));
  EXPECT_EQ(buckets["members"],
            (Bucket{{"8e9e05c52164694d",
                     R"({"id":10276657743932975437,"peerURLs":["http://localhost:2380"],)"
                     R"("name":"default","clientURLs":["http://localhost:2379"]})"}}));
  EXPECT_EQ(buckets["members_removed"], (Bucket{{"1234", "removed"}}));
  serverpb::LeaseRecord lease;
  lease.set_id(0x77);
  lease.set_ttl(60);
  EXPECT_EQ(buckets["lease"], (Bucket{{es::LeaseKey(0x77), es::EncodeLease(lease)}}));
  EXPECT_EQ(buckets["meta"],
            (Bucket{{"confState", R"({"voters":[10276657743932975437],"auto_leave":false})"},
                    {"consistent_index", es::EncodeUint64(42)},
                    {"finishedCompactRev", es::EncodeCompactRevision(10)},
                    {"scheduledCompactRev", es::EncodeCompactRevision(10)},
                    {"term", es::EncodeUint64(3)}}));
  // `key` is the key database entry for entry: what survived the compaction.
  size_t n = 0;
  auto s = view->ForEach(mvcc::RawDb::kKey, "", [&](std::string_view k, std::string_view v) {
    EXPECT_LT(n, buckets["key"].size());
    if (n < buckets["key"].size()) {
      EXPECT_EQ(buckets["key"][n].first, k);
      EXPECT_EQ(buckets["key"][n].second, v);
    }
    ++n;
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(n, buckets["key"].size());
  EXPECT_GT(n, 250u);
}

TEST_F(EtcdSnapshotTest, HashIsCrcOfTheFileBucketsWithoutIgnoredKeys) {
  Populate();
  auto view = store_->OpenRawView().value();
  const std::string path = dir_ + "/export.snap.db";
  auto info = WriteEtcdSnapshot(*view, path);
  ASSERT_TRUE(info.ok());
  uint32_t crc = 0;
  for (const auto& [name, bucket] : ReadBuckets(path, info.value().db_bytes)) {
    crc = Crc32c(crc, name);
    for (const auto& [k, v] : bucket) {
      if (name == "meta" && (k == "consistent_index" || k == "term")) continue;
      crc = Crc32c(Crc32c(crc, k), v);
    }
  }
  auto hash = EtcdBackendHash(*view);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash.value(), crc);

  // Only the consistent index and term moving leaves the hash as it is.
  auto txn = store_->BeginWrite().value();
  txn->SetConsistentIndex(50, 4);
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(EtcdBackendHash(*store_->OpenRawView().value()).value(), crc);
  // The old view still sees its own state.
  EXPECT_EQ(view->Get(mvcc::RawDb::kMeta, "consistent_index").value(), es::EncodeUint64(42));
}

TEST_F(EtcdSnapshotTest, EmptyStore) {
  auto view = store_->OpenRawView().value();
  EXPECT_EQ(view->revision(), 1);
  const std::string path = dir_ + "/export.snap.db";
  auto info = WriteEtcdSnapshot(*view, path);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info.value().revision, 0);
  EXPECT_EQ(info.value().total_keys, 2u);  // authRevision, clusterVersion
  EXPECT_EQ(ReadBuckets(path, info.value().db_bytes).size(), es::kAllBuckets.size());
}

TEST_F(EtcdSnapshotTest, WritesContinueDuringTheCopy) {
  Populate();
  auto view = store_->OpenRawView().value();
  const int64_t rev = view->revision();
  auto txn = store_->BeginWrite().value();
  ASSERT_TRUE(txn->Put(PutReq("later", "y")).ok());
  ASSERT_TRUE(txn->Commit().ok());
  auto info = WriteEtcdSnapshot(*view, dir_ + "/export.snap.db");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info.value().revision, rev);
  EXPECT_EQ(store_->CurrentRevision(), rev + 1);
}

TEST_F(EtcdSnapshotTest, CancelStopsTheWrite) {
  auto txn = store_->BeginWrite().value();
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(txn->Put(PutReq("k" + std::to_string(i), "v")).ok());
  ASSERT_TRUE(txn->Commit().ok());
  auto view = store_->OpenRawView().value();
  int polls = 0;
  auto info = WriteEtcdSnapshot(*view, dir_ + "/export.snap.db", *Env::Default(), [&] {
    ++polls;
    return true;
  });
  EXPECT_EQ(info.status().code(), Code::kCancelled);
  EXPECT_EQ(polls, 1);
}

}  // namespace
}  // namespace etcdd::server
