// Store::Defragment: the file shrinks to the pages in use, nothing changes in
// content, and writes and reads go on while it runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "mvcc_test_util.h"

namespace etcdd::mvcc {
namespace {

using testing::StoreTest;

class DefragTest : public StoreTest {
 protected:
  // `n` keys of `size` bytes, each written `times` times, then everything
  // but the last writes compacted away: most pages become free.
  void FillAndCompact(int n, size_t size, int times) {
    for (int t = 0; t < times; ++t) {
      auto txn = Begin();
      for (int i = 0; i < n; ++i) {
        ASSERT_TRUE(txn->Put(testing::PutReq(Key(i), std::string(size, 'a' + t))).ok());
      }
      ASSERT_TRUE(txn->Commit().ok());
    }
    ASSERT_TRUE(Compact(store_->CurrentRevision()).ok());
  }
  static std::string Key(int i) { return "key/" + std::to_string(i); }

  uint32_t Hash() {
    auto h = store_->HashKV(0);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? h->first : 0;
  }

  std::vector<std::string> DirEntries() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(DefragTest, ShrinksToThePagesInUseAndKeepsEverything) {
  FillAndCompact(200, 8 << 10, 5);
  {
    auto txn = Begin();
    ASSERT_TRUE(txn->PutMeta("server/x", "y").ok());
    txn->SetConsistentIndex(42, 7);
    ASSERT_TRUE(txn->Commit().ok());
  }
  const uint32_t hash = Hash();
  const int64_t rev = store_->CurrentRevision();
  const uint64_t before = store_->DbSizeBytes();
  const uint64_t in_use = store_->DbSizeInUseBytes();
  ASSERT_LT(in_use * 2, before) << "the fill must leave most pages free";

  auto stats = store_->Defragment();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->db_size_before, before);
  EXPECT_EQ(stats->db_size_after, store_->DbSizeBytes());
  EXPECT_LE(stats->db_size_after, in_use);
  EXPECT_EQ(stats->replayed_writes, 0u);
  EXPECT_LE(store_->DbSizeInUseBytes(), in_use);  // the free list is gone too

  EXPECT_EQ(Hash(), hash);
  EXPECT_EQ(store_->CurrentRevision(), rev);
  EXPECT_EQ(store_->ConsistentIndex(), 42u);
  EXPECT_EQ(Get(Key(7)).kvs(0).value(), std::string(8 << 10, 'e'));
  // Writes go to the new file, and the whole survives a reopen.
  Put("after", "defrag");
  const uint32_t hash_after = Hash();
  Reopen();
  EXPECT_EQ(Hash(), hash_after);
  EXPECT_EQ(store_->ConsistentIndex(), 42u);
  EXPECT_EQ(store_->CompactRevision(), rev);
  auto meta = store_->GetMeta("server/x");
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_EQ(**meta, "y");
  EXPECT_EQ(DirEntries(), (std::vector<std::string>{"data.mdb", "lock.mdb"}));
}

TEST_F(DefragTest, RepeatsAndCleansUpTheSwappedOutLockFiles) {
  FillAndCompact(50, 4 << 10, 3);
  for (int i = 0; i < 3; ++i) {
    Put("round", std::to_string(i));
    auto stats = store_->Defragment();
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  }
  // The live environment's lock file is in the last copy's directory; the
  // earlier ones are gone.
  auto entries = DirEntries();
  EXPECT_EQ(entries, (std::vector<std::string>{"data.mdb", "defrag-3", "lock.mdb"}));
  const uint32_t hash = Hash();
  Reopen();
  EXPECT_EQ(Hash(), hash);
  EXPECT_EQ(Get("round").kvs(0).value(), "2");
  EXPECT_EQ(DirEntries(), (std::vector<std::string>{"data.mdb", "lock.mdb"}));
}

TEST_F(DefragTest, OpenRemovesAnUnfinishedCopy) {
  Put("a", "1");
  std::filesystem::create_directory(dir_ + "/defrag-9");
  std::ofstream(dir_ + "/defrag-9/data.mdb") << "half a copy";
  Reopen();
  EXPECT_EQ(DirEntries(), (std::vector<std::string>{"data.mdb", "lock.mdb"}));
  EXPECT_EQ(Get("a").kvs(0).value(), "1");
}

// A writer and readers run throughout; every committed write is in the
// defragmented store, readers never fail and never see a revision go back.
TEST_F(DefragTest, WritesAndReadsGoOnDuringTheCopy) {
  FillAndCompact(2000, 1 << 10, 4);
  std::atomic<bool> done{false};
  std::atomic<int> committed{0};
  std::atomic<int> read_errors{0};
  std::thread writer([&] {
    // Bounded: stops when the defrag is over or after 20000 writes.
    for (int i = 0; i < 20000 && !done.load(); ++i) {
      auto txn = store_->BeginWrite();
      if (!txn.ok()) break;
      auto& t = *txn.value();
      if (!t.Put(testing::PutReq("live/" + std::to_string(i), std::to_string(i))).ok()) break;
      if (i % 7 == 0) {
        if (!t.DeleteRange(testing::DelReq(Key(i % 2000))).ok()) break;
      }
      if (i == 500) {
        etcdserverpb::CompactionRequest c;
        c.set_revision(t.Revision() - 10);
        if (!t.Compact(c).ok()) break;
      }
      t.SetConsistentIndex(1000 + i, 1);
      if (!t.Commit().ok()) break;
      committed.store(i + 1);
    }
  });
  std::thread reader([&] {
    int64_t last = 0;
    for (int i = 0; i < 200000 && !done.load(); ++i) {
      auto r = store_->Range(testing::RangeReq("key/1"));
      if (!r.ok() || r->header().revision() < last) {
        read_errors.fetch_add(1);
        continue;
      }
      last = r->header().revision();
    }
  });
  // Let the writer get going before the copy starts.
  while (committed.load() < 50) std::this_thread::yield();
  auto stats = store_->Defragment();
  done.store(true);
  writer.join();
  reader.join();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_GT(stats->replayed_writes, 0u);
  EXPECT_EQ(read_errors.load(), 0);

  const int n = committed.load();
  const uint32_t hash = Hash();
  const int64_t rev = store_->CurrentRevision();
  Reopen();
  EXPECT_EQ(Hash(), hash);
  EXPECT_EQ(store_->CurrentRevision(), rev);
  EXPECT_EQ(store_->ConsistentIndex(), static_cast<uint64_t>(1000 + n - 1));
  auto live = Get("live/", "live0");
  EXPECT_EQ(live.count(), n);
  for (int i = 0; i < n; i += 7) EXPECT_EQ(Get(Key(i % 2000)).count(), 0) << i;
}

}  // namespace
}  // namespace etcdd::mvcc
