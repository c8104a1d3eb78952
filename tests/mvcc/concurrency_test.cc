// Readers (Range, ReadTxn) running while the writer applies batches and
// compacts.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "mvcc/errors.h"
#include "mvcc_test_util.h"

namespace etcdd::mvcc {
namespace {

using etcdserverpb::TxnRequest;
using testing::PutReq;
using testing::RangeReq;
using testing::StoreTest;

class ConcurrencyTest : public StoreTest {};

TEST_F(ConcurrencyTest, ReadersNeverSeePartOfABatch) {
  constexpr int kBatches = 300;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  auto reader = [&] {
    int64_t last = 0;
    while (!done.load()) {
      auto r = store_->Range(RangeReq("a", "d"));
      if (!r.ok()) {
        ++failures;
        continue;
      }
      if (r->kvs_size() == 0) continue;
      // a and b come from one txn, c from the next request of the batch.
      bool consistent = r->kvs_size() == 3 && r->kvs(0).value() == r->kvs(1).value() &&
                        r->kvs(1).value() == r->kvs(2).value() &&
                        r->kvs(0).mod_revision() == r->kvs(1).mod_revision() &&
                        r->kvs(2).mod_revision() <= r->header().revision();
      const int64_t v = consistent ? std::stoll(r->kvs(0).value()) : -1;
      if (!consistent || v < last) ++failures;
      last = v;
    }
  };
  std::thread r1(reader), r2(reader);
  for (int i = 1; i <= kBatches; ++i) {
    auto txn = Begin();
    ASSERT_NE(txn, nullptr);
    TxnRequest t;
    *t.add_success()->mutable_request_put() = PutReq("a", std::to_string(i));
    *t.add_success()->mutable_request_put() = PutReq("b", std::to_string(i));
    ASSERT_TRUE(txn->Txn(t).ok());
    ASSERT_TRUE(txn->Put(PutReq("c", std::to_string(i))).ok());
    ASSERT_TRUE(txn->Put(PutReq("other" + std::to_string(i % 7), "x")).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  done = true;
  r1.join();
  r2.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->CurrentRevision(), 1 + 3 * kBatches);
}

TEST_F(ConcurrencyTest, HistoricalReadsRaceCompaction) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  constexpr int kRevisions = 5000;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<int> compacted{0};
  auto reader = [&](unsigned s) {
    std::mt19937 rng(s);
    while (!done.load()) {
      // The compact revision first: read after, the current revision is at
      // least as new, so low <= current even if the writer runs in between.
      const int64_t low = std::max<int64_t>(2, store_->CompactRevision() - 3);
      const int64_t current = store_->CurrentRevision();
      if (current < low) continue;
      const int64_t rev = std::uniform_int_distribution<int64_t>(low, current)(rng);
      auto r = store_->Range(RangeReq("k", "", rev));
      if (!r.ok()) {
        if (r.status().message() == ErrCompacted().message()) {
          ++compacted;
        } else {
          ++bad;
        }
        continue;
      }
      // "k" is written at every revision, with its revision as value.
      if (r->kvs_size() != 1 || r->kvs(0).mod_revision() != rev ||
          r->kvs(0).value() != std::to_string(rev)) {
        ++bad;
      }
    }
  };
  std::thread r1(reader, seed), r2(reader, seed + 1);
  for (int64_t rev = 2, batch = 1; rev <= kRevisions; ++batch) {
    auto txn = Begin();
    ASSERT_NE(txn, nullptr);
    for (int i = 0; i < 5; ++i, ++rev) {
      ASSERT_TRUE(txn->Put(PutReq("k", std::to_string(rev))).ok());
    }
    if (batch % 4 == 0) {
      etcdserverpb::CompactionRequest c;
      c.set_revision(rev - 10);
      ASSERT_TRUE(txn->Compact(c).ok());
    }
    ASSERT_TRUE(txn->Commit().ok());
  }
  done = true;
  r1.join();
  r2.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(store_->CompactRevision(), 0);
}

// A reader's compares and ranges must read one snapshot. "a" and "b" change
// together at every revision, and compactions at the newest revision keep
// removing what older snapshots read; the compares guess the revision (the
// latest one seen), so a commit between compares and ranges would show as a
// branch that disagrees with the values read.
TEST_F(ConcurrencyTest, ReadTxnSeesOneSnapshot) {
  constexpr int kRevisions = 3000;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<int> guessed{0};
  auto mod_is = [](const std::string& key, int64_t rev) {
    etcdserverpb::Compare c;
    c.set_key(key);
    c.set_target(etcdserverpb::Compare::MOD);
    c.set_result(etcdserverpb::Compare::EQUAL);
    c.set_mod_revision(rev);
    return c;
  };
  auto reader = [&] {
    while (!done.load()) {
      const int64_t guess = store_->CurrentRevision() + (guessed.load() % 2);
      TxnRequest inner;
      *inner.add_compare() = mod_is("b", guess);
      *inner.add_success()->mutable_request_range() = RangeReq("b");
      *inner.add_failure()->mutable_request_range() = RangeReq("a", "c");
      TxnRequest t;
      *t.add_compare() = mod_is("a", guess);
      for (auto* branch : {t.mutable_success(), t.mutable_failure()}) {
        *branch->Add()->mutable_request_range() = RangeReq("a");
        *branch->Add()->mutable_request_txn() = inner;
      }
      auto r = store_->ReadTxn(t);
      if (!r.ok()) {
        ++bad;  // every read is at the latest revision: no error may escape
        continue;
      }
      const int64_t rev = r->header().revision();
      const auto& a = r->responses(0).response_range();
      const auto& nested = r->responses(1).response_txn();
      const auto& b = nested.responses(0).response_range();
      if (rev < 2) continue;  // nothing written yet
      const bool ok = a.kvs_size() == 1 && a.kvs(0).mod_revision() == rev &&
                      a.header().revision() == rev && r->succeeded() == (rev == guess) &&
                      nested.succeeded() == (rev == guess) && b.kvs_size() >= 1 &&
                      b.kvs(b.kvs_size() - 1).key() == "b" &&
                      b.kvs(b.kvs_size() - 1).mod_revision() == rev &&
                      b.kvs(b.kvs_size() - 1).value() == a.kvs(0).value();
      if (!ok) ++bad;
      if (rev == guess) ++guessed;
    }
  };
  std::thread r1(reader), r2(reader);
  for (int64_t rev = 2; rev <= kRevisions; ++rev) {
    auto txn = Begin();
    ASSERT_NE(txn, nullptr);
    TxnRequest t;
    *t.add_success()->mutable_request_put() = PutReq("a", std::to_string(rev));
    *t.add_success()->mutable_request_put() = PutReq("b", std::to_string(rev));
    ASSERT_TRUE(txn->Txn(t).ok());
    if (rev % 3 == 0) {
      etcdserverpb::CompactionRequest c;
      c.set_revision(rev);
      ASSERT_TRUE(txn->Compact(c).ok());
    }
    ASSERT_TRUE(txn->Commit().ok());
  }
  done = true;
  r1.join();
  r2.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(store_->CompactRevision(), kRevisions);
}

}  // namespace
}  // namespace etcdd::mvcc
