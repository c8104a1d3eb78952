// A stream's progress reply (WatchProgressRequest) promises that every event
// at or below its revision has been sent. It must never overtake an event a
// watcher of the stream has not been given yet: not while a watcher catches
// up from history, not while one is parked, not after the backend is
// replaced by a snapshot (etcd #15220, which Kubernetes' consistent reads
// from its watch cache depend on).
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "watch/watch_hub.h"
#include "watch_test_util.h"

namespace etcdd::watch {
namespace {

namespace pb = etcdserverpb;
using testing::PutReq;
using testing::TestClient;
using testing::W;

class WatchProgressTest : public testing::WatchFixture {};

bool IsProgressReply(const pb::WatchResponse& r) {
  return r.watch_id() == kInvalidWatchId && !r.created() && !r.canceled() && r.events().empty();
}

TEST_F(WatchProgressTest, WaitsForAWatcherCatchingUp) {
  MakeHub();
  for (int i = 0; i < 10; ++i) Put("k", std::to_string(i));  // revisions 2..11
  TestClient c(*hub_);
  c->Create(W("k").From(2));  // unsynced: its history is read by SyncNow
  c->RequestProgress();
  for (const auto& r : c.Drain()) EXPECT_FALSE(IsProgressReply(r)) << "reply before history";
  ASSERT_TRUE(hub_->SyncNow());
  const auto got = c.Drain();
  ASSERT_FALSE(got.empty());
  EXPECT_TRUE(IsProgressReply(got.back()));
  EXPECT_EQ(got.back().header().revision(), 11);
  int64_t last_event = 0;
  for (const auto& r : got) {
    for (const auto& ev : r.events()) last_event = ev.kv().mod_revision();
  }
  EXPECT_EQ(last_event, 11);
}

TEST_F(WatchProgressTest, AnswersAtOnceWhenEveryWatcherIsSynced) {
  MakeHub();
  Put("k", "1");
  TestClient c(*hub_);
  c->Create(W("k"));
  c.Drain();
  c->RequestProgress();
  const auto got = c.Drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(IsProgressReply(got[0]));
  EXPECT_EQ(got[0].header().revision(), 2);
}

TEST_F(WatchProgressTest, CancellingTheLaggingWatcherReleasesTheReply) {
  MakeHub();
  for (int i = 0; i < 5; ++i) Put("k", std::to_string(i));
  TestClient c(*hub_);
  c->Create(W("k").From(2).Id(7));
  c->RequestProgress();
  c.Drain();
  c->Cancel(7);
  bool replied = false;
  for (const auto& r : c.Drain()) replied = replied || IsProgressReply(r);
  EXPECT_TRUE(replied);
}

// Random writes, watchers from random past revisions, tiny stream buffers
// (so watchers park), progress requests, partial reads, snapshot restores and
// history syncs in random order. Checked on every stream: after a progress
// reply at R, no event at or below R arrives for any of its watchers; every
// watcher gets each of its events exactly once, in order; every request is
// answered once the stream is read dry and the hub synced.
TEST_F(WatchProgressTest, NeverOvertakesAnEventUnderLoadAndFaults) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  WatchHubOptions o;
  o.stream_buffer_bytes = 600;  // a few messages: watchers park often
  o.max_events_per_sync = 7;
  MakeHub(o);
  const std::vector<std::string> keys = {"a", "b", "c"};
  std::map<std::string, std::vector<int64_t>> history;  // key -> revisions written
  auto put = [&] {
    const std::string& k = keys[rng() % keys.size()];
    history[k].push_back(Put(k, std::string(rng() % 40, 'v')));
  };
  for (int i = 0; i < 20; ++i) put();

  struct Watched {
    std::string key;
    int64_t from;
    std::vector<int64_t> got;
  };
  struct Stream {
    std::unique_ptr<TestClient> client;
    std::map<int64_t, Watched> watchers;  // by watch id
    int64_t progress = 0;                 // last progress reply's revision
    bool asked = false;                   // a request awaits its reply
  };
  std::vector<Stream> streams(3);
  int64_t next_id = 1;
  for (auto& s : streams) {
    s.client = std::make_unique<TestClient>(*hub_);
    for (int i = 0; i < 2; ++i) {
      const std::string& k = keys[rng() % keys.size()];
      const int64_t from = 1 + static_cast<int64_t>(rng() % store_->CurrentRevision());
      (*s.client)->Create(W(k).From(from).Id(next_id));
      s.watchers[next_id++] = Watched{k, from, {}};
    }
  }
  auto read = [&](Stream& s) {
    for (const auto& r : s.client->Drain()) {
      if (IsProgressReply(r)) {
        ASSERT_TRUE(s.asked) << "a reply nobody asked for";
        ASSERT_GE(r.header().revision(), s.progress);
        s.progress = r.header().revision();
        s.asked = false;
        continue;
      }
      auto it = s.watchers.find(r.watch_id());
      if (it == s.watchers.end()) continue;  // created replies
      for (const auto& ev : r.events()) {
        ASSERT_GT(ev.kv().mod_revision(), s.progress)
            << "event at " << ev.kv().mod_revision() << " after a progress reply at " << s.progress;
        it->second.got.push_back(ev.kv().mod_revision());
      }
    }
  };

  for (int step = 0; step < 400; ++step) {
    const unsigned op = rng() % 10;
    Stream& s = streams[rng() % streams.size()];
    if (op < 4) {
      put();
    } else if (op < 6) {
      // Read first, so that a reply read later answers this request (or one
      // still pending, which it joins).
      read(s);
      (*s.client)->RequestProgress();
      s.asked = true;
    } else if (op < 8) {
      read(s);
    } else if (op < 9) {
      hub_->SyncNow();
    } else {
      hub_->Restored();  // as after installing a snapshot: every watcher re-syncs
    }
  }
  // Quiesce: sync and read until no watcher lags; then every request is
  // answered.
  for (int round = 0; round < 100; ++round) {
    ASSERT_TRUE(hub_->SyncNow());
    for (auto& s : streams) read(s);
    const auto st = hub_->GetStats();
    if (st.unsynced == 0 && st.parked == 0) break;
  }
  for (auto& s : streams) read(s);
  for (auto& s : streams) {
    EXPECT_FALSE(s.asked) << "a progress request was never answered";
    for (const auto& [id, w] : s.watchers) {
      std::vector<int64_t> want;
      for (int64_t rev : history[w.key]) {
        if (rev >= w.from) want.push_back(rev);
      }
      EXPECT_EQ(w.got, want) << "watch " << id << " on " << w.key << " from " << w.from;
    }
  }
}

}  // namespace
}  // namespace etcdd::watch
