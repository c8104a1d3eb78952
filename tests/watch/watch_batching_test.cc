// The hub's batching rule (watch_hub.h, "Batching"): a watcher whose last
// event message is still queued gets later batches appended to it, within
// bounds, never across a progress notification; deterministic cases and a
// randomized check (partial drains between batches) that every watcher still
// gets each event once, in order, each revision whole in one response.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "watch/watch_hub.h"
#include "watch_test_util.h"

namespace etcdd::watch {
namespace {

using testing::Describe;
using testing::PutReq;
using testing::TestClient;
using testing::W;
using Strings = std::vector<std::string>;
namespace pb = etcdserverpb;

class WatchBatchingTest : public testing::WatchFixture {
 protected:
  // Pops at most `n` messages.
  static std::vector<pb::WatchResponse> PopSome(TestClient& c, size_t n) {
    std::vector<pb::WatchResponse> out;
    WatchMessage m;
    for (size_t i = 0; i < n && c->Pop(&m); ++i) {
      for (auto& r : testing::Decode(m)) out.push_back(std::move(r));
    }
    return out;
  }
  // Two puts at one revision.
  int64_t PutTwo(const std::string& a, const std::string& b, const std::string& v) {
    return Apply([&](mvcc::Store::WriteTxn& t) {
      pb::TxnRequest txn;
      *txn.add_success()->mutable_request_put() = PutReq(a, v);
      *txn.add_success()->mutable_request_put() = PutReq(b, v);
      EXPECT_TRUE(t.Txn(txn).ok());
    });
  }
};

TEST_F(WatchBatchingTest, QueuedMessageTakesLaterBatchesUntilPopped) {
  MakeHub();
  TestClient c(*hub_);
  c->Create(W("a"));  // 0
  c->Create(W("b"));  // 1
  ASSERT_EQ(c.Drain().size(), 2u);
  Put("a", "1");  // 2
  Put("b", "1");  // 3
  Put("a", "2");  // 4
  Put("a", "3");  // 5
  auto rs = PopSome(c, 1);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].watch_id(), 0);
  EXPECT_EQ(Describe(rs[0]), (Strings{"2:PUT:a=1", "4:PUT:a=2", "5:PUT:a=3"}));
  EXPECT_EQ(rs[0].header().revision(), 5);
  Put("a", "4");  // 6: its message went out; 1's is still queued
  Put("b", "2");  // 7
  rs = c.Drain();
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].watch_id(), 1);
  EXPECT_EQ(Describe(rs[0]), (Strings{"3:PUT:b=1", "7:PUT:b=2"}));
  EXPECT_EQ(rs[0].header().revision(), 7);
  EXPECT_EQ(rs[1].watch_id(), 0);
  EXPECT_EQ(Describe(rs[1]), (Strings{"6:PUT:a=4"}));
  EXPECT_EQ(rs[1].header().revision(), 6);
}

TEST_F(WatchBatchingTest, BoundsKeepRevisionsWhole) {
  WatchHubOptions o;
  o.max_events_per_sync = 2;
  MakeHub(o);
  TestClient c(*hub_);
  c->Create(W("a").End("c"));
  ASSERT_EQ(c.Drain().size(), 1u);
  Put("a", "1");          // 2
  PutTwo("a", "b", "2");  // 3, 3: would make 3 events, so a new message
  Put("b", "3");          // 4: 3 events again
  PutTwo("a", "b", "4");  // 5, 5
  auto rs = c.Drain();
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(Describe(rs[0]), (Strings{"2:PUT:a=1"}));
  EXPECT_EQ(Describe(rs[1]), (Strings{"3:PUT:a=2", "3:PUT:b=2"}));
  EXPECT_EQ(Describe(rs[2]), (Strings{"4:PUT:b=3"}));
  EXPECT_EQ(Describe(rs[3]), (Strings{"5:PUT:a=4", "5:PUT:b=4"}));
}

TEST_F(WatchBatchingTest, ZeroMergedBytesNeverAppends) {
  WatchHubOptions o;
  o.max_merged_bytes = 0;
  MakeHub(o);
  TestClient c(*hub_);
  c->Create(W("a"));
  ASSERT_EQ(c.Drain().size(), 1u);
  Put("a", "1");
  Put("a", "2");
  EXPECT_EQ(c.Drain().size(), 2u);
}

TEST_F(WatchBatchingTest, NothingIsAppendedAcrossAProgressNotification) {
  WatchHubOptions o;
  o.progress_notify_interval = std::chrono::milliseconds(200);
  MakeHub(o);
  TestClient c(*hub_);
  c->Create(W("p").Progress());  // 0
  c->Create(W("q"));             // 1
  ASSERT_EQ(c.Drain().size(), 2u);
  auto later = std::chrono::steady_clock::now();
  Put("p", "1");  // 2: queued
  Put("q", "1");  // 3: queued
  later += std::chrono::hours(1);
  hub_->ProgressTick(later);  // p's watcher was not idle: nothing
  later += std::chrono::hours(1);
  hub_->ProgressTick(later);  // {0, revision 3}
  c->RequestProgress();       // {-1, revision 3}
  Put("p", "2");              // 4
  Put("q", "2");              // 5
  auto rs = c.Drain();
  ASSERT_EQ(rs.size(), 6u);
  EXPECT_EQ(rs[0].watch_id(), 0);
  EXPECT_EQ(Describe(rs[0]), (Strings{"2:PUT:p=1"}));
  EXPECT_EQ(rs[1].watch_id(), 1);
  EXPECT_EQ(Describe(rs[1]), (Strings{"3:PUT:q=1"}));
  EXPECT_EQ(rs[2].watch_id(), 0);
  EXPECT_EQ(rs[2].events_size(), 0);
  EXPECT_EQ(rs[2].header().revision(), 3);
  EXPECT_EQ(rs[3].watch_id(), -1);
  EXPECT_EQ(rs[3].header().revision(), 3);
  EXPECT_EQ(Describe(rs[4]), (Strings{"4:PUT:p=2"}));
  EXPECT_EQ(Describe(rs[5]), (Strings{"5:PUT:q=2"}));
}

// Watchers on keys, ranges and everything, some from the past (caught up by
// history reads, whose messages take later batches too), batches of one to
// three operations, and between batches a random number of messages popped
// (so queued messages are appended to at every position of the queue).
TEST_F(WatchBatchingTest, RandomBatchesAndPartialDrainsDeliverEachEventOnce) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  WatchHubOptions o;
  o.max_events_per_sync = 4;
  o.max_merged_bytes = 200 + rng() % 400;
  MakeHub(o);
  for (int i = 0; i < 20; ++i) Put("k" + std::to_string(i % 5), "h" + std::to_string(i));

  struct Spec {
    std::string key, end;
    int64_t start;
  };
  const std::vector<Spec> specs = {{"k1", "", 0}, {"k1", "k4", 0}, {"", std::string(1, '\0'), 0},
                                   {"k2", "", 5}, {"k0", "k9", 1}, {"k3", std::string(1, '\0'), 12},
                                   {"k4", "", 0}, {"k1", "", 0}};
  TestClient c(*hub_);
  std::vector<pb::WatchResponse> rs;
  std::vector<int64_t> created_rev;
  for (const Spec& s : specs) {
    W w(s.key);
    c->Create(w.End(s.end).From(s.start));
    auto got = c.Drain();
    ASSERT_EQ(got.size(), 1u);
    created_rev.push_back(got[0].header().revision());
  }
  for (int b = 0; b < 300; ++b) {
    auto key = [&] { return "k" + std::to_string(rng() % 5); };
    const int ops = 1 + static_cast<int>(rng() % 3);
    Apply([&](mvcc::Store::WriteTxn& t) {
      for (int i = 0; i < ops; ++i) {
        if (rng() % 4 == 0) {
          EXPECT_TRUE(t.DeleteRange(testing::DelReq(key())).ok());
        } else {
          EXPECT_TRUE(t.Put(PutReq(key(), "v" + std::to_string(b))).ok());
        }
      }
    });
    if (rng() % 3 == 0) {
      ASSERT_TRUE(hub_->SyncNow());
    }
    for (auto& r : PopSome(c, rng() % 12)) rs.push_back(std::move(r));
  }
  ASSERT_TRUE(hub_->SyncNow());
  for (auto& r : c.Drain()) rs.push_back(std::move(r));
  const int64_t last = store_->CurrentRevision();

  for (size_t id = 0; id < specs.size(); ++id) {
    const Spec& s = specs[id];
    const int64_t from = s.start == 0 ? created_rev[id] + 1 : s.start;
    auto want = store_->ReadEvents(s.key.empty() ? std::string(1, '\0') : s.key, s.end, from, last,
                                   0, false);
    ASSERT_TRUE(want.ok());
    pb::WatchResponse all;
    for (const auto& ev : want->events) *all.add_events() = ev;
    Strings got;
    int64_t prev_last = 0;
    for (const auto& r : rs) {
      if (r.watch_id() != static_cast<int64_t>(id)) continue;
      ASSERT_GT(r.events_size(), 0);
      // Whole revisions: the next response starts past the previous one's last.
      EXPECT_GT(r.events(0).kv().mod_revision(), prev_last) << "watch " << id;
      prev_last = r.events(r.events_size() - 1).kv().mod_revision();
      EXPECT_GE(r.header().revision(), prev_last) << "watch " << id;
      for (auto& d : Describe(r)) got.push_back(d);
    }
    EXPECT_EQ(got, Describe(all)) << "watch " << id;
  }
}

}  // namespace
}  // namespace etcdd::watch
