// Watch support in the store: WriteTxn::Events() with prev_kv
// (SetEventsPrevKv) checked against a model of the key space, and
// Store::ReadEvents checked against the events the write transactions
// reported: windows, key ranges, limits, compaction, tombstones, txns with
// several writes in one revision, reopening. Randomized tests print their
// seed on failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "mvcc/errors.h"
#include "mvcc_test_util.h"

namespace etcdd::mvcc {
namespace {

using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;
using mvccpb::Event;
using mvccpb::KeyValue;
using testing::DelReq;
using testing::PutReq;
using testing::StoreTest;

bool InRange(const std::string& key, const std::string& start, const std::string& end) {
  if (end.empty()) return key == start;
  if (end == std::string(1, '\0')) return key >= start;
  return key >= start && key < end;
}

std::string Dump(const std::vector<Event>& evs) {
  std::string out;
  for (const Event& ev : evs) out += ev.ShortDebugString() + "\n";
  return out;
}

void ExpectSameEvents(const std::vector<Event>& want, const std::vector<Event>& got) {
  bool same = want.size() == got.size();
  for (size_t i = 0; same && i < want.size(); ++i) {
    same = want[i].SerializeAsString() == got[i].SerializeAsString();
  }
  EXPECT_TRUE(same) << "want:\n" << Dump(want) << "got:\n" << Dump(got);
}

std::vector<Event> WithoutPrevKv(std::vector<Event> evs) {
  for (Event& ev : evs) ev.clear_prev_kv();
  return evs;
}

// The workload: requests applied in batches, each batch one WriteTxn with
// SetEventsPrevKv(true). Every reported event is checked against a model of
// the key space and kept in log_, the history ReadEvents must give back.
class EventsTest : public StoreTest {
 protected:
  using Request = std::variant<etcdserverpb::PutRequest, etcdserverpb::DeleteRangeRequest,
                               etcdserverpb::TxnRequest>;

  // Applies `req` in `txn` and checks the events it adds.
  void ApplyOne(Store::WriteTxn* txn, const Request& req) {
    const std::map<std::string, KeyValue> before = model_;
    const size_t seen = txn->Events().size();
    Status st;
    if (auto* p = std::get_if<etcdserverpb::PutRequest>(&req)) {
      st = txn->Put(*p).status();
    } else if (auto* d = std::get_if<etcdserverpb::DeleteRangeRequest>(&req)) {
      st = txn->DeleteRange(*d).status();
    } else {
      st = txn->Txn(std::get<TxnRequest>(req)).status();
    }
    ASSERT_TRUE(st.ok()) << st.ToString();
    const std::vector<Event>& evs = txn->Events();
    for (size_t i = seen; i < evs.size(); ++i) CheckAgainstModel(before, evs[i]);
  }

  // `ev` is one change of a request applied on `before`: check it and its
  // prev_kv, then apply it to the model.
  void CheckAgainstModel(const std::map<std::string, KeyValue>& before, const Event& ev) {
    const std::string& key = ev.kv().key();
    auto prev = before.find(key);
    auto cur = model_.find(key);
    if (ev.type() == Event::PUT) {
      EXPECT_EQ(ev.kv().version(), cur == model_.end() ? 1 : cur->second.version() + 1);
      if (cur == model_.end()) {
        EXPECT_EQ(ev.kv().create_revision(), ev.kv().mod_revision());
      } else {
        EXPECT_EQ(ev.kv().create_revision(), cur->second.create_revision());
      }
    } else {
      EXPECT_NE(cur, model_.end()) << "delete of a missing key " << key;
      EXPECT_EQ(ev.kv().value(), "");
      EXPECT_EQ(ev.kv().create_revision(), 0);
      EXPECT_EQ(ev.kv().version(), 0);
    }
    const bool create =
        ev.type() == Event::PUT && ev.kv().create_revision() == ev.kv().mod_revision();
    if (create || prev == before.end()) {
      EXPECT_FALSE(ev.has_prev_kv()) << ev.ShortDebugString();
    } else {
      EXPECT_TRUE(ev.has_prev_kv()) << ev.ShortDebugString();
      EXPECT_EQ(ev.prev_kv().SerializeAsString(), prev->second.SerializeAsString())
          << ev.ShortDebugString();
    }
    if (ev.type() == Event::PUT) {
      model_[key] = ev.kv();
    } else {
      model_.erase(key);
    }
  }

  // The log's events on [start, end) with revisions in [from, to].
  std::vector<Event> Expected(const std::string& start, const std::string& end, int64_t from,
                              int64_t to) const {
    std::vector<Event> out;
    for (const Event& ev : log_) {
      const int64_t r = ev.kv().mod_revision();
      if (r >= from && r <= to && InRange(ev.kv().key(), start, end)) out.push_back(ev);
    }
    return out;
  }

  Store::EventBatch Read(const std::string& start, const std::string& end, int64_t from,
                         int64_t to = 0, size_t limit = 0, bool prev = true) {
    auto r = store_->ReadEvents(start, end, from, to, limit, prev);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Store::EventBatch();
  }

  // A random request over keys k0..k9: a put (sometimes asking prev_kv or
  // ignore_value), a single or range delete, or a txn writing several
  // distinct keys in one revision.
  Request RandomRequest(std::mt19937* rng) {
    auto key = [&] { return "k" + std::to_string((*rng)() % 10); };
    const unsigned kind = (*rng)() % 10;
    if (kind < 5) {
      etcdserverpb::PutRequest p = PutReq(key(), "v" + std::to_string((*rng)()));
      p.set_prev_kv((*rng)() % 3 == 0);
      if ((*rng)() % 5 == 0 && model_.count(p.key()) != 0) {
        p.clear_value();
        p.set_ignore_value(true);
      }
      return p;
    }
    if (kind < 7) {
      std::string a = key(), b = key();
      if (b < a) std::swap(a, b);
      etcdserverpb::DeleteRangeRequest d = DelReq(a, kind == 5 ? "" : b + "\x01");
      d.set_prev_kv((*rng)() % 2 == 0);
      return d;
    }
    // Distinct keys: puts on some, deletes of single others (valid etcd txn).
    TxnRequest t;
    std::vector<int> keys = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    std::shuffle(keys.begin(), keys.end(), *rng);
    const int n = 1 + static_cast<int>((*rng)() % 4);
    for (int i = 0; i < n; ++i) {
      RequestOp* op = t.add_success();
      const std::string k = "k" + std::to_string(keys[static_cast<size_t>(i)]);
      if ((*rng)() % 3 == 0) {
        *op->mutable_request_delete_range() = DelReq(k);
      } else {
        *op->mutable_request_put() = PutReq(k, "t" + std::to_string((*rng)()));
      }
    }
    return t;
  }

  void RandomBatches(std::mt19937* rng, int batches) {
    for (int b = 0; b < batches; ++b) {
      auto txn = Begin();
      ASSERT_NE(txn, nullptr);
      txn->SetEventsPrevKv(true);
      const int n = 1 + static_cast<int>((*rng)() % 4);
      for (int i = 0; i < n; ++i) {
        ApplyOne(txn.get(), RandomRequest(rng));
        if (::testing::Test::HasFatalFailure()) return;
      }
      ASSERT_TRUE(txn->Commit().ok());
      log_.insert(log_.end(), txn->Events().begin(), txn->Events().end());
    }
  }

  // ReadEvents equals the log for every key range and many windows.
  void CheckHistory(std::mt19937* rng, int64_t lowest) {
    const int64_t cur = store_->CurrentRevision();
    const std::vector<std::pair<std::string, std::string>> ranges = {
        {"k3", ""},
        {"k2", "k6"},
        {"k7", std::string(1, '\0')},
        {"", std::string(1, '\0')},
        {std::string(1, '\0'), std::string(1, '\0')},
        {"zz", ""}};
    for (const auto& [start, end] : ranges) {
      SCOPED_TRACE("range [" + start + ", " + end + ")");
      ExpectSameEvents(Expected(start, end, lowest, cur), Read(start, end, lowest).events);
      for (int i = 0; i < 20; ++i) {
        const int64_t from = lowest + static_cast<int64_t>((*rng)() % (cur - lowest + 1));
        const int64_t to = from + static_cast<int64_t>((*rng)() % 10);
        Store::EventBatch b = Read(start, end, from, to);
        ExpectSameEvents(Expected(start, end, from, to), b.events);
        EXPECT_EQ(b.next_revision, std::min(to, cur) + 1);
        EXPECT_EQ(b.current_revision, cur);
        ExpectSameEvents(WithoutPrevKv(Expected(start, end, from, to)),
                         Read(start, end, from, to, 0, /*prev=*/false).events);
      }
    }
  }

  std::map<std::string, KeyValue> model_;
  std::vector<Event> log_;
};

TEST_F(EventsTest, RandomHistoryMatchesReportedEvents) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  RandomBatches(&rng, 60);
  ASSERT_FALSE(HasFatalFailure());
  CheckHistory(&rng, 1);
  Reopen();  // the history and the index lookups for prev_kv survive a restart
  CheckHistory(&rng, 1);
}

TEST_F(EventsTest, LimitNeverSplitsARevisionAndBatchesChain) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  RandomBatches(&rng, 40);
  ASSERT_FALSE(HasFatalFailure());
  const std::vector<Event> want = Expected("", std::string(1, '\0'), 1, INT64_MAX);
  for (size_t limit : {1, 2, 3, 7}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    std::vector<Event> got;
    int64_t from = 1;
    while (from <= store_->CurrentRevision()) {
      Store::EventBatch b = Read("", std::string(1, '\0'), from, 0, limit);
      ASSERT_GT(b.next_revision, from);
      ASSERT_FALSE(b.events.empty());
      if (b.events.size() > limit) {
        for (const Event& ev : b.events) {
          EXPECT_EQ(ev.kv().mod_revision(), b.events[0].kv().mod_revision());
        }
      }
      for (const Event& ev : b.events) EXPECT_LT(ev.kv().mod_revision(), b.next_revision);
      got.insert(got.end(), b.events.begin(), b.events.end());
      from = b.next_revision;
    }
    ExpectSameEvents(want, got);
  }
}

TEST_F(EventsTest, SeveralWritesInOneRevisionKeepSubRevisionOrder) {
  Put("a", "1");
  Put("c", "1");
  TxnRequest t;
  *t.add_success()->mutable_request_put() = PutReq("c", "2");
  *t.add_success()->mutable_request_put() = PutReq("b", "2");
  *t.add_success()->mutable_request_delete_range() = DelReq("a");
  auto txn = Begin();
  txn->SetEventsPrevKv(true);
  ASSERT_TRUE(txn->Txn(t).ok());
  ASSERT_TRUE(txn->Commit().ok());
  const std::vector<Event>& evs = txn->Events();
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[0].kv().key(), "c");
  EXPECT_EQ(evs[0].prev_kv().value(), "1");
  EXPECT_EQ(evs[1].kv().key(), "b");
  EXPECT_FALSE(evs[1].has_prev_kv());  // a creation
  EXPECT_EQ(evs[2].type(), Event::DELETE);
  EXPECT_EQ(evs[2].kv().key(), "a");
  EXPECT_EQ(evs[2].kv().mod_revision(), 4);
  EXPECT_EQ(evs[2].prev_kv().mod_revision(), 2);
  EXPECT_EQ(evs[2].prev_kv().value(), "1");
  std::vector<Event> want(evs.begin(), evs.end());
  ExpectSameEvents(want, Read("", std::string(1, '\0'), 4).events);
  // Limit 1 still returns the whole revision.
  Store::EventBatch b = Read("", std::string(1, '\0'), 4, 0, 1);
  EXPECT_EQ(b.events.size(), 3u);
  EXPECT_EQ(b.next_revision, 5);
}

TEST_F(EventsTest, PrevKvIsOffByDefaultAndAppliesFromWhenSet) {
  Put("a", "1");
  auto txn = Begin();
  ASSERT_TRUE(txn->Put(PutReq("a", "2")).ok());
  txn->SetEventsPrevKv(true);
  ASSERT_TRUE(txn->Put(PutReq("a", "3")).ok());
  ASSERT_TRUE(txn->Commit().ok());
  ASSERT_EQ(txn->Events().size(), 2u);
  EXPECT_FALSE(txn->Events()[0].has_prev_kv());
  EXPECT_EQ(txn->Events()[1].prev_kv().value(), "2");
  // The history fills prev_kv whatever the flag was.
  Store::EventBatch b = Read("a", "", 3);
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.events[0].prev_kv().value(), "1");
  EXPECT_EQ(b.events[1].prev_kv().value(), "2");
}

TEST_F(EventsTest, PrevKvSharedWithResponsePrevKvAndIgnoreValue) {
  Put("a", "1", 7);
  Put("b", "1");
  auto txn = Begin();
  txn->SetEventsPrevKv(true);
  etcdserverpb::PutRequest p = PutReq("a", "");
  p.set_ignore_value(true);
  p.set_ignore_lease(true);
  p.set_prev_kv(true);
  auto put = txn->Put(p);
  ASSERT_TRUE(put.ok());
  etcdserverpb::DeleteRangeRequest d = DelReq("a", "c");
  d.set_prev_kv(true);
  auto del = txn->DeleteRange(d);
  ASSERT_TRUE(del.ok());
  ASSERT_TRUE(txn->Commit().ok());
  const std::vector<Event>& evs = txn->Events();
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[0].prev_kv().SerializeAsString(), put->prev_kv().SerializeAsString());
  EXPECT_EQ(evs[0].kv().value(), "1");
  EXPECT_EQ(evs[0].kv().lease(), 7);
  ASSERT_EQ(del->prev_kvs_size(), 2);
  EXPECT_EQ(evs[1].prev_kv().SerializeAsString(), del->prev_kvs(0).SerializeAsString());
  EXPECT_EQ(evs[1].prev_kv().mod_revision(), 4);
  EXPECT_EQ(evs[2].prev_kv().SerializeAsString(), del->prev_kvs(1).SerializeAsString());
  std::vector<Event> want(evs.begin(), evs.end());
  ExpectSameEvents(want, Read("a", "c", 4).events);
}

TEST_F(EventsTest, FailedRequestLeavesNoEvents) {
  Put("a", "1");
  auto txn = Begin();
  txn->SetEventsPrevKv(true);
  ASSERT_TRUE(txn->Put(PutReq("a", "2")).ok());
  etcdserverpb::PutRequest bad = PutReq("missing", "");
  bad.set_ignore_value(true);
  EXPECT_FALSE(txn->Put(bad).ok());
  ASSERT_TRUE(txn->Commit().ok());
  ASSERT_EQ(txn->Events().size(), 1u);
  ExpectSameEvents(txn->Events(), Read("", std::string(1, '\0'), 3).events);
}

TEST_F(EventsTest, WindowBoundsAndClamping) {
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  Store::EventBatch b = Read("a", "", 10);
  EXPECT_TRUE(b.events.empty());
  EXPECT_EQ(b.next_revision, 10);
  EXPECT_EQ(b.current_revision, 3);
  EXPECT_EQ(b.compact_revision, 0);
  b = Read("a", "", 0, 100);
  EXPECT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.next_revision, 4);
  b = Read("a", "", 3, 2);
  EXPECT_TRUE(b.events.empty());
  EXPECT_EQ(b.next_revision, 3);
  b = Read("a", "", 2, 2);
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].kv().value(), "1");
  EXPECT_EQ(b.next_revision, 3);
  // A limit that cuts: next_revision is the first revision left out.
  b = Read("a", "", 1, 0, 1);
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.next_revision, 3);
  EXPECT_TRUE(Read("b", "", 1).events.empty());
}

TEST_F(EventsTest, CompactionFollowsEtcdRule) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  RandomBatches(&rng, 50);
  ASSERT_FALSE(HasFatalFailure());
  const int64_t cur = store_->CurrentRevision();
  const int64_t c = cur / 2;
  ASSERT_TRUE(Compact(c).ok());
  const std::string all(1, '\0');
  // etcd (watcher_group.go chooseAll): compacted only when from < compact rev.
  auto r = store_->ReadEvents("", all, c - 1, 0, 0, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrCompacted().code());
  EXPECT_EQ(r.status().message(), ErrCompacted().message());
  EXPECT_FALSE(store_->ReadEvents("k1", "", 0, 0, 0, false).ok());
  // From the compact revision: its DELETE events are gone (as in etcd) and its
  // changes get no prev_kv (revision c - 1 is compacted).
  std::vector<Event> want;
  for (Event ev : Expected("", all, c, cur)) {
    if (ev.kv().mod_revision() == c) {
      if (ev.type() == Event::DELETE) continue;
      ev.clear_prev_kv();
    }
    want.push_back(ev);
  }
  Store::EventBatch b = Read("", all, c);
  ExpectSameEvents(want, b.events);
  EXPECT_EQ(b.compact_revision, c);
  // Above it the history is whole.
  CheckHistory(&rng, c + 1);
  Reopen();
  CheckHistory(&rng, c + 1);
  // More writes, then compact at the top: only the future remains readable.
  RandomBatches(&rng, 10);
  ASSERT_FALSE(HasFatalFailure());
  const int64_t top = store_->CurrentRevision();
  ASSERT_TRUE(Compact(top).ok());
  EXPECT_TRUE(Read("", all, top).events.size() <= Expected("", all, top, top).size());
  b = Read("", all, top + 1);
  EXPECT_TRUE(b.events.empty());
  EXPECT_EQ(b.next_revision, top + 1);
  RandomBatches(&rng, 10);
  ASSERT_FALSE(HasFatalFailure());
  CheckHistory(&rng, top + 1);
}

// Readers racing with writes and compactions: every read either succeeds with
// a gap-free history from its start or reports ErrCompacted.
TEST_F(EventsTest, ConcurrentCompactionNeverBreaksARead) {
  Put("k", "2");
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) {
      const int64_t from = store_->CompactRevision() + 1;
      auto r = store_->ReadEvents("k", "", from, 0, 0, true);
      if (!r.ok()) {
        EXPECT_EQ(r.status().message(), ErrCompacted().message());
        continue;
      }
      int64_t expect = std::max<int64_t>(from, 2);  // revision 2 is the first put
      for (const Event& ev : r->events) {
        EXPECT_EQ(ev.kv().mod_revision(), expect) << "gap in history";
        EXPECT_EQ(ev.kv().value(), std::to_string(expect));
        if (expect - 1 >= std::max<int64_t>(r->compact_revision, 2)) {
          EXPECT_EQ(ev.prev_kv().value(), std::to_string(expect - 1));
        }
        ++expect;
      }
    }
  });
  for (int i = 3; i < 300; ++i) {
    auto txn = Begin();
    ASSERT_TRUE(txn->Put(PutReq("k", std::to_string(i))).ok());
    if (i % 10 == 0) {
      etcdserverpb::CompactionRequest c;
      c.set_revision(i - 5);
      ASSERT_TRUE(txn->Compact(c).ok());
    }
    ASSERT_TRUE(txn->Commit().ok());
  }
  stop.store(true);
  reader.join();
}

}  // namespace
}  // namespace etcdd::mvcc
