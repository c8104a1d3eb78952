// Importer: bulk load of a new backend from etcd-encoded records, then
// Store::Open over it (the path of `kvbackup restore`).
#include "mvcc/import.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "mvcc/errors.h"
#include "mvcc/revision.h"
#include "mvcc_test_util.h"
#include "mvccpb/kv.pb.h"

namespace etcdd::mvcc {
namespace {

using testing::Keys;
using testing::MakeTempDir;
using testing::RangeReq;
using testing::Values;

std::string Put(const std::string& key, const std::string& value, int64_t create, int64_t mod,
                int64_t version) {
  mvccpb::KeyValue kv;
  kv.set_key(key);
  kv.set_value(value);
  kv.set_create_revision(create);
  kv.set_mod_revision(mod);
  kv.set_version(version);
  return kv.SerializeAsString();
}

std::string Tombstone(const std::string& key) {
  mvccpb::KeyValue kv;
  kv.set_key(key);
  return kv.SerializeAsString();
}

std::string Key(int64_t main, bool tombstone = false) {
  return std::string(RevKey({main, 0}, tombstone).view());
}

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // a@2, b@3, a@4 (version 2), b deleted @5.
  void ImportHistory(const ImportMeta& meta) {
    auto im = Importer::Create(dir_, {});
    ASSERT_TRUE(im.ok()) << im.status().ToString();
    ASSERT_TRUE((*im)->PutRevision(Key(2), Put("a", "1", 2, 2, 1)).ok());
    ASSERT_TRUE((*im)->PutRevision(Key(3), Put("b", "x", 3, 3, 1)).ok());
    ASSERT_TRUE((*im)->PutRevision(Key(4), Put("a", "2", 2, 4, 2)).ok());
    ASSERT_TRUE((*im)->PutRevision(Key(5, true), Tombstone("b")).ok());
    ASSERT_TRUE((*im)->PutServerMeta("lease/0000000000000007", "rec").ok());
    ASSERT_TRUE((*im)->Finish(meta).ok());
    EXPECT_EQ((*im)->revisions(), 4u);
  }

  std::string dir_;
};

TEST_F(ImportTest, OpenedBackendServesTheImportedHistory) {
  ImportHistory({.consistent_index = 3, .term = 1});
  auto store = Store::Open(dir_, {});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->CurrentRevision(), 5);
  EXPECT_EQ((*store)->ConsistentIndex(), 3u);
  EXPECT_EQ((*store)->ConsistentTerm(), 1u);
  auto now = (*store)->Range(RangeReq("a", "z"));
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(Keys(*now), std::vector<std::string>{"a"});
  EXPECT_EQ(now->kvs(0).version(), 2);
  auto before = (*store)->Range(RangeReq("a", "z", 3));
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(Values(*before), (std::vector<std::string>{"1", "x"}));
  auto lease = (*store)->GetMeta("lease/0000000000000007");
  ASSERT_TRUE(lease.ok() && lease->has_value());
  EXPECT_EQ(**lease, "rec");
}

TEST_F(ImportTest, ScheduledCompactionAboveTheLastRevisionBumpsIt) {
  // etcdutl restore --bump-revision 10 --mark-compacted.
  ImportHistory({.consistent_index = 1, .term = 1, .scheduled_compact_revision = 15});
  auto store = Store::Open(dir_, {});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->CurrentRevision(), 15);
  EXPECT_EQ((*store)->CompactRevision(), 15);
  auto now = (*store)->Range(RangeReq("a", "z"));
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(Values(*now), std::vector<std::string>{"2"});
  EXPECT_EQ((*store)->Range(RangeReq("a", "z", 14)).status().code(), ErrCompacted().code());
}

TEST_F(ImportTest, RefusesMalformedAndOutOfOrderKeys) {
  auto im = Importer::Create(dir_, {});
  ASSERT_TRUE(im.ok());
  EXPECT_EQ((*im)->PutRevision("short", "").code(), Code::kInvalidArgument);
  ASSERT_TRUE((*im)->PutRevision(Key(4), Put("a", "1", 4, 4, 1)).ok());
  EXPECT_EQ((*im)->PutRevision(Key(4), Put("a", "1", 4, 4, 1)).code(), Code::kInvalidArgument);
  EXPECT_EQ((*im)->PutRevision(Key(3), Put("a", "1", 3, 3, 1)).code(), Code::kInvalidArgument);
}

TEST_F(ImportTest, RefusesABackendThatHoldsData) {
  ImportHistory({.consistent_index = 3, .term = 1});
  auto again = Importer::Create(dir_, {});
  EXPECT_EQ(again.status().code(), Code::kFailedPrecondition);
}

TEST_F(ImportTest, ABadValueFailsTheOpenNamingTheFile) {
  auto im = Importer::Create(dir_, {});
  ASSERT_TRUE(im.ok());
  ASSERT_TRUE((*im)->PutRevision(Key(2), "\xff\xff\xff").ok());
  ASSERT_TRUE((*im)->Finish({.consistent_index = 1, .term = 1}).ok());
  im->reset();
  auto store = Store::Open(dir_, {});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().ToString().find("data.mdb"), std::string::npos)
      << store.status().ToString();
}

}  // namespace
}  // namespace etcdd::mvcc
