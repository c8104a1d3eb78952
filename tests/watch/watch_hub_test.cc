// The watch hub against a real store, driven as the applier drives it
// (commit, then Notify). Without Start(), history reads and progress ticks
// run on the test's thread (SyncNow, ProgressTick), so these tests are
// deterministic; the threaded, randomized ones are in watch_hub_race_test.cc.
#include "watch/watch_hub.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "watch_test_util.h"

namespace etcdd::watch {
namespace {

using testing::Describe;
using testing::PutReq;
using testing::TestClient;
using testing::W;
using Strings = std::vector<std::string>;
namespace pb = etcdserverpb;

class WatchHubTest : public testing::WatchFixture {};

TEST_F(WatchHubTest, CreateCancelAndProgressRepliesMatchEtcd) {
  MakeHub();
  Put("x", "1");  // revision 2
  TestClient c(*hub_);
  c->Create(W("x"));
  c->Create(W("x").Id(7));
  c->Create(W("x").Id(7));
  c->Create(W("z").End("a"));
  c->Create(W("x"));
  c->Create(W("x").Id(2));
  c->Create(W("x"));  // auto ids skip the ones in use
  auto rs = c.Drain();
  ASSERT_EQ(rs.size(), 7u);
  for (const auto& r : rs) {
    EXPECT_TRUE(r.created());
    EXPECT_EQ(r.header().revision(), 2);
    EXPECT_EQ(r.header().cluster_id(), 11u);
    EXPECT_EQ(r.header().member_id(), 22u);
    EXPECT_EQ(r.header().raft_term(), 3u);
  }
  std::vector<int64_t> ids;
  for (const auto& r : rs) ids.push_back(r.watch_id());
  EXPECT_EQ(ids, (std::vector<int64_t>{0, 7, -1, -1, 1, 2, 3}));
  EXPECT_TRUE(rs[2].canceled());
  EXPECT_EQ(rs[2].cancel_reason(), "mvcc: duplicate watch ID provided on the WatchStream");
  EXPECT_TRUE(rs[3].canceled());
  EXPECT_EQ(rs[3].cancel_reason(), "mvcc: watcher range is empty");
  EXPECT_FALSE(rs[0].canceled());

  c->Cancel(7);
  c->Cancel(99);  // unknown: no reply
  c->RequestProgress();
  rs = c.Drain();
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].watch_id(), 7);
  EXPECT_TRUE(rs[0].canceled());
  EXPECT_FALSE(rs[0].created());
  EXPECT_EQ(rs[0].header().revision(), 2);
  EXPECT_EQ(rs[1].watch_id(), -1);
  EXPECT_FALSE(rs[1].created() || rs[1].canceled());
  EXPECT_EQ(rs[1].header().revision(), 2);
  EXPECT_EQ(hub_->GetStats().watchers, 4u);
}

TEST_F(WatchHubTest, SyncedWatchersGetEachBatchInOrder) {
  MakeHub();
  TestClient c(*hub_);
  c->Create(W("a"));            // 0: key
  c->Create(W("a").End("b"));   // 1: prefix "a"
  c->Create(W("b").FromKey());  // 2: keys >= "b"
  c->Create(W("").FromKey());   // 3: every key
  ASSERT_EQ(c.Drain().size(), 4u);
  const int64_t rev = testing::WatchFixture::Apply([](mvcc::Store::WriteTxn& t) {
    EXPECT_TRUE(t.Put(PutReq("a", "1")).ok());
    EXPECT_TRUE(t.Put(PutReq("ab", "2")).ok());
    EXPECT_TRUE(t.Put(PutReq("b", "3")).ok());
  });
  EXPECT_EQ(rev, 4);
  auto rs = c.Drain();
  ASSERT_EQ(rs.size(), 4u);  // one response per watcher per batch
  std::map<int64_t, Strings> got;
  for (const auto& r : rs) {
    EXPECT_EQ(r.header().revision(), 4);
    got[r.watch_id()] = Describe(r);
  }
  EXPECT_EQ(got[0], (Strings{"2:PUT:a=1"}));
  EXPECT_EQ(got[1], (Strings{"2:PUT:a=1", "3:PUT:ab=2"}));
  EXPECT_EQ(got[2], (Strings{"4:PUT:b=3"}));
  EXPECT_EQ(got[3], (Strings{"2:PUT:a=1", "3:PUT:ab=2", "4:PUT:b=3"}));

  Delete("a", "c");  // one revision, two deletes
  rs = c.Drain();
  got.clear();
  for (const auto& r : rs) got[r.watch_id()] = Describe(r);
  EXPECT_EQ(got[1], (Strings{"5:DELETE:a=", "5:DELETE:ab="}));
  EXPECT_EQ(got[2], (Strings{"5:DELETE:b="}));
  EXPECT_EQ(got[3], (Strings{"5:DELETE:a=", "5:DELETE:ab=", "5:DELETE:b="}));
}

TEST_F(WatchHubTest, FiltersDropEventsAndEmptyResponses) {
  MakeHub();
  TestClient c(*hub_);
  c->Create(W("k").NoPut());
  c->Create(W("k").NoDelete());
  ASSERT_EQ(c.Drain().size(), 2u);
  Put("k", "1");
  auto rs = c.Drain();
  ASSERT_EQ(rs.size(), 1u);  // nothing at all for the NOPUT watcher
  EXPECT_EQ(rs[0].watch_id(), 1);
  Delete("k");
  rs = c.Drain();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].watch_id(), 0);
  EXPECT_EQ(Describe(rs[0]), (Strings{"3:DELETE:k="}));
}

TEST_F(WatchHubTest, PrevKvWithAndWithoutItInTheBatch) {
  MakeHub();
  Put("k", "1");
  TestClient c(*hub_);
  EXPECT_FALSE(hub_->WantsPrevKv());
  c->Create(W("k").PrevKv());  // 0
  c->Create(W("k"));           // 1
  ASSERT_EQ(c.Drain().size(), 2u);
  EXPECT_TRUE(hub_->WantsPrevKv());

  Put("k", "2");  // the applier asks for prev_kv
  auto rs = c.Drain();
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(Describe(rs[0]), (Strings{"3:PUT:k=2<1"}));
  EXPECT_EQ(Describe(rs[1]), (Strings{"3:PUT:k=2"}));  // prev_kv stripped

  // A batch applied without prev_kv (the watcher came too late for it): the
  // prev_kv watcher gets it from the backend, with prev_kv.
  Put("k", "3", /*prev_kv=*/false);
  rs = c.Drain();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].watch_id(), 1);
  EXPECT_EQ(hub_->GetStats().unsynced, 1u);
  ASSERT_TRUE(hub_->SyncNow());
  rs = c.Drain();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].watch_id(), 0);
  EXPECT_EQ(Describe(rs[0]), (Strings{"4:PUT:k=3<2"}));
  EXPECT_EQ(hub_->GetStats().synced, 2u);

  Delete("k");
  rs = c.Drain();
  ASSERT_EQ(rs.size(), 2u);
  std::map<int64_t, Strings> got;
  for (const auto& r : rs) got[r.watch_id()] = Describe(r);
  EXPECT_EQ(got[0], (Strings{"5:DELETE:k=<3"}));
  EXPECT_EQ(got[1], (Strings{"5:DELETE:k="}));
  c->Cancel(0);
  EXPECT_FALSE(hub_->WantsPrevKv());
}

TEST_F(WatchHubTest, PastStartRevisionCatchesUpInWholeRevisionsThenFollows) {
  WatchHubOptions o;
  o.max_events_per_sync = 3;
  MakeHub(o);
  for (int i = 0; i < 4; ++i) Put("p" + std::to_string(i), "v");  // revisions 2..5
  Apply([](mvcc::Store::WriteTxn& t) {                            // revision 6: two events
    pb::TxnRequest txn;
    *txn.add_success()->mutable_request_put() = PutReq("p1", "x");
    *txn.add_success()->mutable_request_put() = PutReq("p2", "y");
    EXPECT_TRUE(t.Txn(txn).ok());
  });
  TestClient c(*hub_);
  c->Create(W("p").End("q").From(3));
  auto rs = c.Drain();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_TRUE(rs[0].created());
  EXPECT_EQ(rs[0].header().revision(), 6);
  ASSERT_TRUE(hub_->SyncNow());
  rs = c.Drain();
  ASSERT_EQ(rs.size(), 2u);  // 3 events, then revision 6 whole
  EXPECT_EQ(Describe(rs[0]), (Strings{"3:PUT:p1=v", "4:PUT:p2=v", "5:PUT:p3=v"}));
  EXPECT_EQ(rs[0].header().revision(), 5);
  EXPECT_EQ(Describe(rs[1]), (Strings{"6:PUT:p1=x", "6:PUT:p2=y"}));
  EXPECT_EQ(rs[1].header().revision(), 6);
  Put("p9", "z");
  rs = c.Drain();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(Describe(rs[0]), (Strings{"7:PUT:p9=z"}));
}

TEST_F(WatchHubTest, CommittedButNotYetNotifiedRevisionsAreNotLost) {
  MakeHub();
  Put("k", "1");
  // The apply thread committed revision 3 but has not called Notify yet
  // when the watcher registers from revision 3.
  auto txn = store_->BeginWrite();
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE((*txn)->Put(PutReq("k", "2")).ok());
  ASSERT_TRUE((*txn)->Commit().ok());
  TestClient c(*hub_);
  c->Create(W("k").From(2));  // history
  c->Create(W("k").From(3));  // past the notified revision: synced
  c->Create(W("k"));          // from 4
  hub_->Notify((*txn)->Events(), store_->CurrentRevision(), false);
  txn = Status::Ok();  // the WriteTxn is done
  ASSERT_TRUE(hub_->SyncNow());
  Put("k", "3");
  std::map<int64_t, Strings> got;
  for (const auto& r : c.Drain()) {
    for (auto& s : Describe(r)) got[r.watch_id()].push_back(s);
  }
  EXPECT_EQ(got[0], (Strings{"2:PUT:k=1", "3:PUT:k=2", "4:PUT:k=3"}));
  EXPECT_EQ(got[1], (Strings{"3:PUT:k=2", "4:PUT:k=3"}));
  EXPECT_EQ(got[2], (Strings{"4:PUT:k=3"}));
}

TEST_F(WatchHubTest, CompactedStartRevisionEndsTheWatcherAsEtcd) {
  MakeHub();
  TestClient c(*hub_);
  // Before any compaction etcd's compact revision is -1: a start below it
  // is compacted too.
  c->Create(W("k").From(-5));
  ASSERT_TRUE(hub_->SyncNow());
  auto rs = c.Drain();
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_TRUE(rs[1].canceled());
  EXPECT_EQ(rs[1].compact_revision(), -1);

  for (int i = 1; i <= 5; ++i) Put("k", std::to_string(i));  // revisions 2..6
  Compact(4);
  c->Create(W("k").From(2));  // id 1
  c->Create(W("k").From(4));  // id 2: at the compact revision is fine
  ASSERT_TRUE(hub_->SyncNow());
  rs = c.Drain();
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_TRUE(rs[0].created());
  EXPECT_TRUE(rs[1].created());
  // {watch_id, canceled, compact_revision} with header revision 0, as etcd 3.4.
  EXPECT_EQ(rs[2].watch_id(), 1);
  EXPECT_TRUE(rs[2].canceled());
  EXPECT_FALSE(rs[2].created());
  EXPECT_EQ(rs[2].compact_revision(), 4);
  EXPECT_EQ(rs[2].header().revision(), 0);
  EXPECT_EQ(rs[2].cancel_reason(), "");
  EXPECT_EQ(rs[3].watch_id(), 2);
  EXPECT_EQ(Describe(rs[3]), (Strings{"4:PUT:k=3", "5:PUT:k=4", "6:PUT:k=5"}));

  // The compacted id stays taken until canceled.
  c->Create(W("k").Id(1));
  c->Cancel(1);
  rs = c.Drain();
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].cancel_reason(), "mvcc: duplicate watch ID provided on the WatchStream");
  EXPECT_EQ(rs[1].watch_id(), 1);
  EXPECT_TRUE(rs[1].canceled());
}

TEST_F(WatchHubTest, SlowStreamIsParkedAndCatchesUpWithoutGapsOrDuplicates) {
  WatchHubOptions o;
  o.stream_buffer_bytes = 1;  // one message fills it
  MakeHub(o);
  TestClient slow(*hub_);
  TestClient fast(*hub_);
  slow->Create(W("k"));
  fast->Create(W("k"));
  ASSERT_EQ(fast.Drain().size(), 1u);
  Strings fast_got;
  for (int i = 1; i <= 4; ++i) {
    Put("k", std::to_string(i));
    for (auto& s : Describe(fast.Drain())) fast_got.push_back(s);
  }
  EXPECT_EQ(hub_->GetStats().parked, 1u);
  EXPECT_EQ(fast_got, (Strings{"2:PUT:k=1", "3:PUT:k=2", "4:PUT:k=3", "5:PUT:k=4"}));

  auto rs = slow.Drain();  // created and revision 2; the drained buffer unparks it
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(Describe(rs[1]), (Strings{"2:PUT:k=1"}));
  EXPECT_EQ(hub_->GetStats().parked, 0u);
  ASSERT_TRUE(hub_->SyncNow());
  rs = slow.Drain();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(Describe(rs[0]), (Strings{"3:PUT:k=2", "4:PUT:k=3", "5:PUT:k=4"}));
  Put("k", "5");
  EXPECT_EQ(Describe(slow.Drain()), (Strings{"6:PUT:k=5"}));
  EXPECT_EQ(hub_->GetStats().synced, 2u);
}

TEST_F(WatchHubTest, RestoredResyncsEveryWatcherFromTheNewBackend) {
  MakeHub();
  // A leader's store with the same history up to revision 3, then more.
  const std::string leader_dir = testing::MakeTempDir();
  auto leader = mvcc::Store::Open(leader_dir + "/db", mvcc::Options{});
  ASSERT_TRUE(leader.ok());
  auto write = [](mvcc::Store& s, const std::string& k, const std::string& v) {
    auto t = s.BeginWrite();
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE((*t)->Put(PutReq(k, v)).ok());
    ASSERT_TRUE((*t)->Commit().ok());
  };
  for (const char* v : {"1", "2"}) {
    Put("a", v);
    write(**leader, "a", v);
  }
  TestClient c(*hub_);
  c->Create(W("a"));                    // synced from 4
  c->Create(W("a").From(100));          // in the future
  c->Create(W("b").End("c").PrevKv());  // synced
  ASSERT_EQ(c.Drain().size(), 3u);
  write(**leader, "a", "3");
  write(**leader, "b", "1");
  write(**leader, "b", "2");
  ASSERT_TRUE((*leader)->WriteSnapshot(leader_dir + "/snap").ok());
  ASSERT_TRUE(store_->RestoreFrom(leader_dir + "/snap").ok());
  hub_->Restored();
  EXPECT_EQ(hub_->NotifiedRevision(), 6);
  ASSERT_TRUE(hub_->SyncNow());
  std::map<int64_t, Strings> got;
  for (const auto& r : c.Drain()) {
    for (auto& s : Describe(r)) got[r.watch_id()].push_back(s);
  }
  EXPECT_EQ(got[0], (Strings{"4:PUT:a=3"}));
  EXPECT_EQ(got[1], (Strings{}));
  EXPECT_EQ(got[2], (Strings{"5:PUT:b=1", "6:PUT:b=2<1"}));
  EXPECT_EQ(hub_->GetStats().synced, 3u);
  Put("a", "4");
  EXPECT_EQ(Describe(c.Drain()), (Strings{"7:PUT:a=4"}));
  std::filesystem::remove_all(leader_dir);
}

TEST_F(WatchHubTest, ProgressNotifyOnlyWhenIdleAndSynced) {
  WatchHubOptions o;
  o.progress_notify_interval = std::chrono::milliseconds(200);
  MakeHub(o);
  Put("p", "0");
  TestClient c(*hub_);
  c->Create(W("p").Progress());          // 0
  c->Create(W("q").From(1).Progress());  // 1: unsynced
  c->Create(W("r"));                     // 2
  ASSERT_EQ(c.Drain().size(), 3u);
  auto later = std::chrono::steady_clock::now();
  auto tick = [&] {
    later += std::chrono::hours(1);
    hub_->ProgressTick(later);
    return c.Drain();
  };
  auto rs = tick();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].watch_id(), 0);
  EXPECT_EQ(rs[0].events_size(), 0);
  EXPECT_EQ(rs[0].header().revision(), 2);
  Put("p", "1");
  EXPECT_EQ(c.Drain().size(), 1u);
  EXPECT_EQ(tick().size(), 0u);  // an event went out since the last tick
  rs = tick();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].header().revision(), 3);
}

TEST_F(WatchHubTest, ProgressNotifyFromTheNotifierThread) {
  WatchHubOptions o;
  o.progress_notify_interval = std::chrono::milliseconds(200);
  MakeHub(o);
  hub_->Start();
  TestClient c(*hub_);
  c->Create(W("p").Progress());
  EXPECT_TRUE(c.Next().created());
  auto r = c.Next();
  EXPECT_EQ(r.watch_id(), 0);
  EXPECT_FALSE(r.created() || r.canceled());
  EXPECT_EQ(r.header().revision(), 1);
  c.Close();
  hub_->Stop();
}

TEST_F(WatchHubTest, ManyWatchersOnDistinctKeysAndOnOneKey) {
  WatchHubOptions o;
  o.stream_buffer_bytes = 64u << 20;
  MakeHub(o);
  TestClient c(*hub_);
  constexpr int kWatchers = 10000;
  for (int i = 0; i < kWatchers; ++i) c->Create(W("key" + std::to_string(i)));
  for (int i = 0; i < kWatchers; ++i) c->Create(W("shared"));
  ASSERT_EQ(c.Drain().size(), 2u * kWatchers);
  Apply([](mvcc::Store::WriteTxn& t) {
    EXPECT_TRUE(t.Put(PutReq("key42", "v")).ok());
    EXPECT_TRUE(t.Put(PutReq("shared", "v")).ok());
  });
  auto rs = c.Drain();
  ASSERT_EQ(rs.size(), kWatchers + 1u);
  EXPECT_EQ(rs[0].watch_id(), 42);
  EXPECT_EQ(Describe(rs[0]), (Strings{"2:PUT:key42=v"}));
  for (size_t i = 1; i < rs.size(); ++i) ASSERT_EQ(Describe(rs[i]), (Strings{"3:PUT:shared=v"}));
}

TEST(WatchEncoding, EventWithoutPrevKvIsAPrefixOfTheSerialization) {
  mvccpb::Event ev;
  ev.set_type(mvccpb::Event::DELETE);
  ev.mutable_kv()->set_key("k");
  ev.mutable_kv()->set_mod_revision(9);
  ev.mutable_prev_kv()->set_key("k");
  ev.mutable_prev_kv()->set_value(std::string(300, 'v'));  // a two-byte length
  auto e = WatchEvent::Make(ev);
  mvccpb::Event without = ev;
  without.clear_prev_kv();
  EXPECT_EQ(e->bytes, ev.SerializeAsString());
  EXPECT_EQ(e->bytes.substr(0, e->size_without_prev_kv), without.SerializeAsString());
  EXPECT_EQ(e->revision, 9);
  EXPECT_FALSE(e->is_put);
}

TEST(WatchEncoding, FragmentsSplitAsEtcdSendFragments) {
  WatchMessage m;
  m.watch_id = 5;
  m.revision = 10;
  for (int i = 0; i < 5; ++i) {
    mvccpb::Event ev;
    ev.mutable_kv()->set_key("k" + std::to_string(i));
    ev.mutable_kv()->set_value(std::string(100, 'x'));
    ev.mutable_kv()->set_mod_revision(10);
    m.events.push_back(WatchEvent::Make(ev));
  }
  const size_t limit = 400;                         // three ~112-byte events fit, four do not
  EXPECT_EQ(testing::Decode(m, limit).size(), 1u);  // the watcher did not ask for fragments
  m.fragment = true;
  auto parts = EncodeWatchResponse(m, testing::TestHeader(), limit);
  ASSERT_EQ(parts.size(), 2u);
  std::vector<std::string> keys;
  for (size_t i = 0; i < parts.size(); ++i) {
    EXPECT_LT(parts[i].size(), limit);
    pb::WatchResponse r;
    ASSERT_TRUE(r.ParseFromString(parts[i]));
    EXPECT_EQ(r.fragment(), i + 1 < parts.size());
    EXPECT_EQ(r.watch_id(), 5);
    EXPECT_EQ(r.header().revision(), 10);
    for (const auto& ev : r.events()) keys.push_back(ev.kv().key());
  }
  EXPECT_EQ(keys, (Strings{"k0", "k1", "k2", "k3", "k4"}));
  // An event larger than the limit goes alone; below the limit, no split.
  EXPECT_EQ(EncodeWatchResponse(m, testing::TestHeader(), 50).size(), 5u);
  EXPECT_EQ(EncodeWatchResponse(m, testing::TestHeader(), 10000).size(), 1u);
}

// Not a check: prints the memory an idle watcher costs (heap bytes in use
// and RSS growth per watcher). Run by hand:
//   watch_test --gtest_also_run_disabled_tests --gtest_filter=*MemoryPerWatcher*
TEST_F(WatchHubTest, DISABLED_MemoryPerWatcher) {
  MakeHub();
  auto rss = [] {
    long pages = 0, resident = 0;
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (f != nullptr) {
      EXPECT_EQ(std::fscanf(f, "%ld %ld", &pages, &resident), 2);
      std::fclose(f);
    }
    return resident * 4096;
  };
  constexpr int kWatchers = 100000;
  auto measure = [&](const char* what, auto make) {
    TestClient c(*hub_);
    const size_t heap0 = mallinfo2().uordblks;
    const long rss0 = rss();
    for (int i = 0; i < kWatchers; ++i) c->Create(make(i));
    c.Drain();  // the created responses
    malloc_trim(0);
    const size_t heap1 = mallinfo2().uordblks;
    const long rss1 = rss();
    // And what one put costs the apply thread (Notify), on the first key.
    const auto t0 = std::chrono::steady_clock::now();
    Put(make(0).operator const pb::WatchCreateRequest&().key(), "v");
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - t0);
    std::printf("%-34s heap %6.1f B/watcher, RSS %6.1f B/watcher; put+Notify %lld us\n", what,
                static_cast<double>(heap1 - heap0) / kWatchers,
                static_cast<double>(rss1 - rss0) / kWatchers, static_cast<long long>(us.count()));
  };
  char key[32];
  measure("distinct keys (\"key%06d\")", [&](int i) {
    std::snprintf(key, sizeof(key), "key%06d", i);
    return W(key);
  });
  measure("one key", [&](int) { return W("shared"); });
  measure("distinct prefixes (ranges)", [&](int i) {
    std::snprintf(key, sizeof(key), "pre%06d/", i);
    return W(key).End(std::string(key, std::strlen(key) - 1) + "0");
  });
}

}  // namespace
}  // namespace etcdd::watch
