// Helpers for the snapshot and HashKV tests: stores in temporary directories,
// a seeded random workload, and a comparison of two stores' whole state.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "mvcc/store.h"
#include "mvcc_test_util.h"

namespace etcdd::mvcc::testing {

// A Store in its own temporary directory, removed on destruction.
class TempStore {
 public:
  explicit TempStore(Options opts = Options()) : dir_(MakeTempDir()), opts_(std::move(opts)) {
    Reopen();
  }
  ~TempStore() {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

  // Closes the store (Reopen opens it again).
  void Close() { store_.reset(); }

  void Reopen() {
    store_.reset();
    auto r = Store::Open(dir_, opts_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    store_ = std::move(r).value();
  }

  Store* operator->() { return store_.get(); }
  Store& operator*() { return *store_; }
  const std::string& dir() const { return dir_; }

  // Runs `f(WriteTxn&)` in one committed WriteTxn.
  template <typename F>
  void Write(F&& f) {
    auto txn = store_->BeginWrite();
    ASSERT_TRUE(txn.ok()) << txn.status().ToString();
    f(**txn);
    Status st = (*txn)->Commit();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void Put(const std::string& key, const std::string& value) {
    Write([&](Store::WriteTxn& t) { ASSERT_TRUE(t.Put(PutReq(key, value)).ok()); });
  }
  void Del(const std::string& key, const std::string& end = "") {
    Write([&](Store::WriteTxn& t) { ASSERT_TRUE(t.DeleteRange(DelReq(key, end)).ok()); });
  }
  void Compact(int64_t rev) {
    Write([&](Store::WriteTxn& t) {
      etcdserverpb::CompactionRequest req;
      req.set_revision(rev);
      auto r = t.Compact(req);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    });
  }

 private:
  std::string dir_;
  Options opts_;
  std::unique_ptr<Store> store_;
};

// Every key (from-key "\0").
inline etcdserverpb::RangeRequest AllKeys(int64_t rev = 0) {
  return RangeReq(std::string(1, '\0'), std::string(1, '\0'), rev);
}

// Applies `n` requests drawn from `seed`, `batch` of them per WriteTxn: puts,
// deletes, range deletes, txns, compactions, server metadata writes; each
// WriteTxn records the next consistent index with term `term`. The same seed
// gives the same requests whatever the batch size.
inline void ApplyRandom(TempStore* s, unsigned seed, int n, int batch, uint64_t term = 1) {
  std::mt19937 rng(seed);
  auto key = [&] { return "key" + std::to_string(rng() % 6); };
  int64_t compacted = (*s)->CompactRevision();
  uint64_t index = (*s)->ConsistentIndex();
  for (int done = 0; done < n;) {
    s->Write([&](Store::WriteTxn& t) {
      for (int i = 0; i < batch && done < n; ++i, ++done) {
        const unsigned r = rng() % 100;
        if (r < 50) {
          ASSERT_TRUE(t.Put(PutReq(key(), "v" + std::to_string(rng()))).ok());
        } else if (r < 65) {
          ASSERT_TRUE(t.DeleteRange(DelReq(key())).ok());
        } else if (r < 72) {
          std::string a = key();
          std::string b = key();
          ASSERT_TRUE(t.DeleteRange(DelReq(std::min(a, b), std::max(a, b))).ok());
        } else if (r < 85) {
          etcdserverpb::TxnRequest req;
          *req.add_compare() =
              Cmp(key(), etcdserverpb::Compare::VERSION, etcdserverpb::Compare::GREATER, 0);
          *req.add_success()->mutable_request_put() = PutReq(key(), "t" + std::to_string(rng()));
          *req.add_failure()->mutable_request_delete_range() = DelReq(key());
          ASSERT_TRUE(t.Txn(req).ok());
        } else if (r < 90) {
          const int64_t rev = t.Revision();
          if (compacted >= rev) continue;
          etcdserverpb::CompactionRequest req;
          req.set_revision(compacted + 1 + static_cast<int64_t>(rng() % (rev - compacted)));
          ASSERT_TRUE(t.Compact(req).ok());
          compacted = req.revision();
        } else if (r < 96) {
          ASSERT_TRUE(t.PutMeta("m/" + key(), std::to_string(rng())).ok());
        } else {
          ASSERT_TRUE(t.DeleteMeta("m/" + key()).ok());
        }
      }
      t.SetConsistentIndex(++index, term);
    });
  }
}

// The store's server metadata, all of it.
inline std::vector<std::pair<std::string, std::string>> AllMeta(Store& s) {
  auto r = s.ListMeta("");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<std::pair<std::string, std::string>>();
}

// ExpectSameState for large stores, where reading every revision would take
// minutes: revisions, consistent index and term, metadata, the current key
// space and HashKV of the whole history.
inline void ExpectSameLatestState(Store& a, Store& b) {
  ASSERT_EQ(a.CurrentRevision(), b.CurrentRevision());
  EXPECT_EQ(a.CompactRevision(), b.CompactRevision());
  EXPECT_EQ(a.ConsistentIndex(), b.ConsistentIndex());
  EXPECT_EQ(a.ConsistentTerm(), b.ConsistentTerm());
  EXPECT_EQ(AllMeta(a), AllMeta(b));
  auto ra = a.Range(AllKeys());
  auto rb = b.Range(AllKeys());
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_TRUE(ra->SerializeAsString() == rb->SerializeAsString()) << "key spaces differ";
  auto ha = a.HashKV(0);
  auto hb = b.HashKV(0);
  ASSERT_TRUE(ha.ok() && hb.ok());
  EXPECT_EQ(*ha, *hb);
}

// Expects `a` and `b` to hold the same state: revisions, consistent index,
// metadata, every key at every revision, and HashKV at every revision.
inline void ExpectSameState(Store& a, Store& b) {
  ASSERT_EQ(a.CurrentRevision(), b.CurrentRevision());
  EXPECT_EQ(a.CompactRevision(), b.CompactRevision());
  EXPECT_EQ(a.ConsistentIndex(), b.ConsistentIndex());
  EXPECT_EQ(a.ConsistentTerm(), b.ConsistentTerm());
  EXPECT_EQ(AllMeta(a), AllMeta(b));
  for (int64_t rev = 0; rev <= a.CurrentRevision() + 1; ++rev) {
    SCOPED_TRACE("revision " + std::to_string(rev));
    auto ra = a.Range(AllKeys(rev));
    auto rb = b.Range(AllKeys(rev));
    ASSERT_EQ(ra.ok(), rb.ok());
    if (ra.ok()) {
      EXPECT_EQ(ra->DebugString(), rb->DebugString());
    } else {
      EXPECT_EQ(ra.status().ToString(), rb.status().ToString());
    }
    auto ha = a.HashKV(rev);
    auto hb = b.HashKV(rev);
    ASSERT_EQ(ha.ok(), hb.ok());
    if (ha.ok()) {
      EXPECT_EQ(*ha, *hb);
    } else {
      EXPECT_EQ(ha.status().ToString(), hb.status().ToString());
    }
  }
}

}  // namespace etcdd::mvcc::testing
