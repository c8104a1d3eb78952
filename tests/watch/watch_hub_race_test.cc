// The hub's guarantees under concurrency, with its threads running: while a
// writer applies batches (some without prev_kv, as when a prev_kv watcher
// registers mid-batch), watchers are created from past, current and future
// revisions on fast and slow streams (slow ones are not read until the end,
// so they fill their buffer and get parked), some are canceled and one
// stream is closed. Every watcher must then have received exactly the
// events the store's history holds for its range from its start revision,
// in order, none twice, each revision in one response. Randomized; prints
// its seed on failure.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "watch/watch_hub.h"
#include "watch_test_util.h"

namespace etcdd::watch {
namespace {

using testing::PutReq;
using testing::TestClient;
using testing::W;
namespace pb = etcdserverpb;

struct Spec {
  std::string key, end;
  int64_t start = 0;
  bool prev_kv = false, no_put = false, no_delete = false;
  bool canceled = false;
};

// A client whose responses a thread collects.
struct Collected {
  explicit Collected(WatchHub& hub) : client(hub) {}
  TestClient client;
  std::vector<Spec> specs;                   // by watch id (auto ids count from 0)
  std::vector<pb::WatchResponse> responses;  // guarded by the test's mutex
  std::thread reader;
  bool closed = false;
};

class WatchHubRaceTest : public testing::WatchFixture {
 protected:
  std::mutex mu_;
  std::condition_variable cv_;

  void StartReader(Collected& c) {
    c.reader = std::thread([this, &c] {
      while (auto r = c.client.NextUnlessStopped()) {
        std::lock_guard lock(mu_);
        c.responses.push_back(std::move(*r));
        cv_.notify_all();
      }
    });
  }

  // The events the store's history holds for `s` from `start` to `last`.
  std::vector<std::string> Expected(const Spec& s, int64_t start, int64_t last) {
    auto b = store_->ReadEvents(s.key, s.end, start, last, 0, s.prev_kv);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    pb::WatchResponse r;
    for (const auto& ev : b->events) {
      const bool is_put = ev.type() == mvccpb::Event::PUT;
      if ((is_put && s.no_put) || (!is_put && s.no_delete)) continue;
      *r.add_events() = ev;
    }
    return testing::Describe(r);
  }
};

TEST_F(WatchHubRaceTest, ExactlyOnceInOrderWhileWritingCreatingCancelingAndClosing) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  WatchHubOptions o;
  o.stream_buffer_bytes = 2048;
  o.max_events_per_sync = 5;
  o.max_watchers_per_sync = 3;
  MakeHub(o);
  hub_->Start();

  std::vector<std::unique_ptr<Collected>> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(std::make_unique<Collected>(*hub_));
  // 0, 1, 4: read all along (4 gets closed); 2, 3: read only at the end.
  for (int i : {0, 1, 4}) StartReader(*clients[i]);

  // Sure cases: a slow stream with a watcher on everything from the start
  // (it must be parked), a prev_kv watcher from the past on a fast one.
  clients[2]->client->Create(W("").FromKey().From(1));
  clients[2]->specs.push_back(Spec{"", std::string(1, '\0'), 1});
  clients[0]->client->Create(W("k2").End("k6").From(1).PrevKv());
  clients[0]->specs.push_back(Spec{"k2", "k6", 1, true});

  constexpr int kBatches = 300;
  std::atomic<int> applied{0};
  std::mutex progress_mu;
  std::condition_variable progress_cv;
  std::thread writer([&, wseed = rng()] {
    std::mt19937 wr(wseed);
    for (int b = 0; b < kBatches; ++b) {
      auto key = [&] { return "k" + std::to_string(wr() % 8); };
      const int ops = 1 + static_cast<int>(wr() % 3);
      std::optional<bool> prev;
      if (wr() % 10 == 0) prev = false;  // a batch that began before a prev_kv watcher
      Apply(
          [&](mvcc::Store::WriteTxn& t) {
            for (int i = 0; i < ops; ++i) {
              switch (wr() % 4) {
                case 0:
                case 1:
                  EXPECT_TRUE(t.Put(PutReq(key(), "v" + std::to_string(b))).ok());
                  break;
                case 2:
                  EXPECT_TRUE(t.DeleteRange(testing::DelReq(key())).ok());
                  break;
                default: {
                  pb::TxnRequest txn;
                  *txn.add_success()->mutable_request_put() = PutReq("k2", "t" + std::to_string(b));
                  *txn.add_success()->mutable_request_put() = PutReq("k5", "t" + std::to_string(b));
                  EXPECT_TRUE(t.Txn(txn).ok());
                }
              }
            }
          },
          prev);
      {
        std::lock_guard lock(progress_mu);
        applied = b + 1;
      }
      progress_cv.notify_all();
    }
  });

  constexpr int kCreates = 40;
  for (int i = 0; i < kCreates; ++i) {
    {
      std::unique_lock lock(progress_mu);
      progress_cv.wait(lock, [&] { return applied >= i * kBatches / (kCreates + 5); });
    }
    Collected& c = *clients[rng() % clients.size()];
    if (c.closed) continue;
    Spec s;
    switch (rng() % 4) {
      case 0:
        s.key = "k" + std::to_string(rng() % 8);
        break;
      case 1:
        s.key = "k2";
        s.end = "k6";
        break;
      case 2:
        s.key = "k4";
        s.end = std::string(1, '\0');
        break;
      default:
        s.end = std::string(1, '\0');
    }
    const int64_t current = store_->CurrentRevision();
    if (rng() % 2 == 0) s.start = 1 + static_cast<int64_t>(rng() % current);
    if (rng() % 10 == 0) s.start = current + 1 + static_cast<int64_t>(rng() % 5);  // future
    s.prev_kv = rng() % 3 == 0;
    s.no_put = rng() % 10 == 0;
    s.no_delete = !s.no_put && rng() % 10 == 0;
    W w(s.key);
    w.End(s.end).From(s.start);
    if (s.prev_kv) w.PrevKv();
    if (s.no_put) w.NoPut();
    if (s.no_delete) w.NoDelete();
    c.client->Create(w);
    c.specs.push_back(s);
    if (rng() % 8 == 0) {  // cancel one of this client's watchers
      const size_t id = rng() % c.specs.size();
      if (!c.specs[id].canceled) {
        c.specs[id].canceled = true;
        c.client->Cancel(static_cast<int64_t>(id));
      }
    }
    if (i == kCreates / 2) {
      clients[4]->closed = true;
      clients[4]->client.Close();
    }
  }
  writer.join();
  const int64_t last = store_->CurrentRevision();
  for (int i : {2, 3}) StartReader(*clients[i]);

  // Wait until every live watcher has its events up to `last`.
  std::map<std::pair<int, int64_t>, std::vector<std::string>> want;
  auto received = [&](const Collected& c, int64_t id) {
    std::vector<std::string> out;
    for (const auto& r : c.responses) {
      if (r.watch_id() == id && !r.created()) {
        for (auto& d : testing::Describe(r)) out.push_back(d);
      }
    }
    return out;
  };
  std::unique_lock lock(mu_);
  for (int ci = 0; ci < 4; ++ci) {
    Collected& c = *clients[ci];
    for (size_t id = 0; id < c.specs.size(); ++id) {
      const Spec& s = c.specs[id];
      int64_t start = s.start;
      if (start == 0) {
        // From the revision after the one the created response carries.
        for (const auto& r : c.responses) {
          if (r.created() && r.watch_id() == static_cast<int64_t>(id)) {
            start = r.header().revision() + 1;
          }
        }
        if (start == 0) {  // not read yet (a slow client): wait for it
          ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(60), [&] {
            for (const auto& r : c.responses) {
              if (r.created() && r.watch_id() == static_cast<int64_t>(id)) return true;
            }
            return false;
          }));
          for (const auto& r : c.responses) {
            if (r.created() && r.watch_id() == static_cast<int64_t>(id)) {
              start = r.header().revision() + 1;
            }
          }
        }
      }
      want[{ci, static_cast<int64_t>(id)}] = Expected(s, start, last);
    }
  }
  for (int ci = 0; ci < 4; ++ci) {
    Collected& c = *clients[ci];
    for (size_t id = 0; id < c.specs.size(); ++id) {
      const auto& w = want[{ci, static_cast<int64_t>(id)}];
      const bool done = cv_.wait_for(lock, std::chrono::seconds(60), [&] {
        if (!c.specs[id].canceled) return received(c, static_cast<int64_t>(id)).size() >= w.size();
        for (const auto& r : c.responses) {
          if (r.canceled() && r.watch_id() == static_cast<int64_t>(id)) return true;
        }
        return false;
      });
      ASSERT_TRUE(done) << "client " << ci << " watch " << id;
      auto got = received(c, static_cast<int64_t>(id));
      if (c.specs[id].canceled) {
        // A prefix of what it would have had, then nothing after the cancel.
        ASSERT_LE(got.size(), w.size()) << "client " << ci << " watch " << id;
        EXPECT_EQ(got, std::vector<std::string>(w.begin(), w.begin() + got.size()));
      } else {
        EXPECT_EQ(got, w) << "client " << ci << " watch " << id;
      }
      // Each revision in one response; the header at or past its events.
      int64_t prev_last = 0;
      for (const auto& r : c.responses) {
        if (r.watch_id() != static_cast<int64_t>(id) || r.events_size() == 0) continue;
        EXPECT_GT(r.events(0).kv().mod_revision(), prev_last);
        prev_last = r.events(r.events_size() - 1).kv().mod_revision();
        EXPECT_GE(r.header().revision(), prev_last);
      }
    }
  }
  lock.unlock();
  for (auto& c : clients) {
    c->client.Stop();
    if (c->reader.joinable()) c->reader.join();
  }
  const auto st = hub_->GetStats();
  EXPECT_EQ(st.parked, 0u);
  EXPECT_GT(st.parks_total, 0u);
  EXPECT_GT(st.history_reads_total, 0u);
  clients.clear();
  hub_->Stop();
}

}  // namespace
}  // namespace etcdd::watch
