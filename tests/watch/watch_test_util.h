// Helpers for the watch hub and Watch service tests: a real mvcc::Store in a
// temporary directory, batches applied as the applier does (WriteTxn with
// SetEventsPrevKv(hub.WantsPrevKv()), Commit, Notify), and a test client that
// drains a WatchStream.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "mvcc/store.h"
#include "watch/watch_hub.h"

namespace etcdd::watch::testing {

namespace pb = etcdserverpb;

inline std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "watch_test.XXXXXX").string();
  char* d = ::mkdtemp(tmpl.data());
  EXPECT_NE(d, nullptr);
  return tmpl;
}

inline pb::PutRequest PutReq(const std::string& key, const std::string& value) {
  pb::PutRequest r;
  r.set_key(key);
  r.set_value(value);
  return r;
}

inline pb::DeleteRangeRequest DelReq(const std::string& key, const std::string& end = "") {
  pb::DeleteRangeRequest r;
  r.set_key(key);
  r.set_range_end(end);
  return r;
}

// A create request, built fluently: W("a").End("b").From(3).PrevKv().
class W {
 public:
  explicit W(const std::string& key) { r_.set_key(key); }
  W& End(const std::string& e) { return r_.set_range_end(e), *this; }
  W& FromKey() { return End(std::string(1, '\0')); }
  W& From(int64_t rev) { return r_.set_start_revision(rev), *this; }
  W& Id(int64_t id) { return r_.set_watch_id(id), *this; }
  W& PrevKv() { return r_.set_prev_kv(true), *this; }
  W& Progress() { return r_.set_progress_notify(true), *this; }
  W& Fragment() { return r_.set_fragment(true), *this; }
  W& NoPut() { return r_.add_filters(pb::WatchCreateRequest::NOPUT), *this; }
  W& NoDelete() { return r_.add_filters(pb::WatchCreateRequest::NODELETE), *this; }
  operator const pb::WatchCreateRequest&() const { return r_; }  // NOLINT: implicit by design

 private:
  pb::WatchCreateRequest r_;
};

// The header every test response carries besides its revision.
inline pb::ResponseHeader TestHeader() {
  pb::ResponseHeader h;
  h.set_cluster_id(11);
  h.set_member_id(22);
  h.set_raft_term(3);
  return h;
}

// Decodes a message the way the Watch service puts it on the wire.
inline std::vector<pb::WatchResponse> Decode(const WatchMessage& m,
                                             size_t fragment_limit = 2 << 20) {
  std::vector<pb::WatchResponse> out;
  for (const std::string& part : EncodeWatchResponse(m, TestHeader(), fragment_limit)) {
    pb::WatchResponse r;
    EXPECT_TRUE(r.ParseFromString(part));
    out.push_back(std::move(r));
  }
  return out;
}

// A stream and its writer: Drain pops what is queued now; Next blocks until
// a response arrives (for tests where the hub's threads run).
class TestClient {
 public:
  explicit TestClient(WatchHub& hub) : stream_(hub.NewStream([this] { OnWritable(); })) {}

  WatchStream* operator->() { return stream_.get(); }
  void Close() { stream_->Close(); }

  std::vector<pb::WatchResponse> Drain() {
    std::vector<pb::WatchResponse> out;
    WatchMessage m;
    while (stream_->Pop(&m)) {
      for (auto& r : Decode(m)) out.push_back(std::move(r));
    }
    return out;
  }

  // The next response; fails the test (and returns an empty one) if none
  // comes within a generous hang guard.
  pb::WatchResponse Next() {
    auto r = Wait(true);
    return r ? *r : pb::WatchResponse();
  }

  // The next response, or nullopt once Stop() is called.
  std::optional<pb::WatchResponse> NextUnlessStopped() { return Wait(false); }
  void Stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    cv_.notify_all();
  }

 private:
  std::optional<pb::WatchResponse> Wait(bool guard) {
    std::unique_lock lock(mu_);
    for (;;) {
      if (!decoded_.empty()) {
        pb::WatchResponse r = std::move(decoded_.front());
        decoded_.erase(decoded_.begin());
        return r;
      }
      WatchMessage m;
      if (stream_->Pop(&m)) {
        decoded_ = Decode(m);
        continue;
      }
      auto ready = [&] { return woken_ || stopped_; };
      if (guard) {
        if (!cv_.wait_for(lock, std::chrono::seconds(30), ready)) {
          ADD_FAILURE() << "no watch response within 30 s";
          return std::nullopt;
        }
      } else {
        cv_.wait(lock, ready);
      }
      if (stopped_ && !guard) return std::nullopt;
      woken_ = false;
    }
  }

  void OnWritable() {
    std::lock_guard lock(mu_);
    woken_ = true;
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopped_ = false;
  std::vector<pb::WatchResponse> decoded_;
  std::shared_ptr<WatchStream> stream_;
};

// A store in a temporary directory and a hub over it.
class WatchFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    auto s = mvcc::Store::Open(dir_ + "/db", mvcc::Options{});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    logger_ = Logger::Stderr(LogLevel::kError);
  }
  void TearDown() override {
    hub_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void MakeHub(WatchHubOptions o = {}) { hub_ = std::make_unique<WatchHub>(*store_, o, *logger_); }

  // One applied batch, as the applier runs it. `prev_kv` overrides the
  // hub's WantsPrevKv(). Returns the revision after it.
  int64_t Apply(const std::function<void(mvcc::Store::WriteTxn&)>& ops,
                std::optional<bool> prev_kv = std::nullopt) {
    auto txn = store_->BeginWrite();
    EXPECT_TRUE(txn.ok()) << txn.status().ToString();
    if (!txn.ok()) return 0;
    const bool with_prev = prev_kv.value_or(hub_->WantsPrevKv());
    (*txn)->SetEventsPrevKv(with_prev);
    ops(**txn);
    Status s = (*txn)->Commit();
    EXPECT_TRUE(s.ok()) << s.ToString();
    hub_->Notify((*txn)->Events(), store_->CurrentRevision(), with_prev);
    return store_->CurrentRevision();
  }
  int64_t Put(const std::string& key, const std::string& value,
              std::optional<bool> prev_kv = std::nullopt) {
    return Apply([&](mvcc::Store::WriteTxn& t) { EXPECT_TRUE(t.Put(PutReq(key, value)).ok()); },
                 prev_kv);
  }
  int64_t Delete(const std::string& key, const std::string& end = "") {
    return Apply(
        [&](mvcc::Store::WriteTxn& t) { EXPECT_TRUE(t.DeleteRange(DelReq(key, end)).ok()); });
  }
  int64_t Compact(int64_t revision) {
    pb::CompactionRequest c;
    c.set_revision(revision);
    return Apply([&](mvcc::Store::WriteTxn& t) { EXPECT_TRUE(t.Compact(c).ok()); });
  }

  std::string dir_;
  std::unique_ptr<mvcc::Store> store_;
  std::unique_ptr<Logger> logger_;
  std::unique_ptr<WatchHub> hub_;
};

// "rev:TYPE:key=value[<prev]" for each event, for readable comparisons.
inline std::vector<std::string> Describe(const pb::WatchResponse& r) {
  std::vector<std::string> out;
  for (const auto& ev : r.events()) {
    std::string s = std::to_string(ev.kv().mod_revision()) +
                    (ev.type() == mvccpb::Event::PUT ? ":PUT:" : ":DELETE:") + ev.kv().key() + "=" +
                    ev.kv().value();
    if (ev.has_prev_kv()) s += "<" + ev.prev_kv().value();
    out.push_back(s);
  }
  return out;
}

inline std::vector<std::string> Describe(const std::vector<pb::WatchResponse>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) {
    for (auto& s : Describe(r)) out.push_back(s);
  }
  return out;
}

}  // namespace etcdd::watch::testing
