// watchbench's watch modes: event throughput, puts with stalled watchers, and
// server memory per idle watcher. See watchbench.cc for what each measures.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "watchbench.h"

namespace watchbench {
namespace {

using etcdserverpb::WatchRequest;
using etcdserverpb::WatchResponse;
using WatchRW = grpc::ClientReaderWriter<WatchRequest, WatchResponse>;

const char kSameKey[] = "watchbench/same";
const char kDistinctPrefix[] = "watchbench/w/";
const char kStalledKey[] = "watchbench/stalled";
// HTTP/2's default initial window: a stalled stream holds at most this much.
constexpr int kStalledWindowBytes = 65535;

grpc::Status Internal(std::string msg) {
  return grpc::Status(grpc::StatusCode::INTERNAL, std::move(msg));
}

bool WriteCreate(WatchRW& rw, const std::string& key) {
  WatchRequest req;
  req.mutable_create_request()->set_key(key);
  return rw.Write(req);
}

// One Watch stream and the watchers placed on it.
struct Stream {
  grpc::ClientContext ctx;
  std::unique_ptr<WatchRW> rw;
  int watchers = 0;      // placed on this stream
  int64_t expected = 0;  // events all of them together should receive
};

// Watchers spread over Watch streams, one reader thread per stream, and the
// progress the calling thread waits on. Not thread-safe: one thread calls
// Create, AwaitEvents and the destructor.
class WatcherSet {
 public:
  WatcherSet(const Channels& channels, int streams) : streams_(streams) {
    for (const auto& ch : channels) stubs_.push_back(etcdserverpb::Watch::NewStub(ch));
  }
  // Cancels every stream and joins the readers.
  ~WatcherSet() {
    closing_ = true;
    for (auto& s : streams_) {
      if (s) s->ctx.TryCancel();
    }
    for (auto& t : readers_) t.join();
  }

  // Puts watcher i (on keys[i], to receive expected[i] events) on stream
  // i mod S (stream s on connection s mod C), writes every create request and
  // waits until the server confirmed each (created response).
  grpc::Status Create(const std::vector<std::string>& keys, const std::vector<int64_t>& expected,
                      double timeout_s) {
    const size_t n = streams_.size();
    for (size_t s = 0; s < n; ++s) {
      streams_[s] = std::make_unique<Stream>();
      streams_[s]->rw = stubs_[s % stubs_.size()]->Watch(&streams_[s]->ctx);
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      streams_[i % n]->watchers++;
      streams_[i % n]->expected += expected[i];
    }
    for (auto& s : streams_) readers_.emplace_back([this, st = s.get()] { Read(*st); });
    std::vector<bool> broken(n);  // a failed write: the reader reports why
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!broken[i % n]) broken[i % n] = !WriteCreate(*streams_[i % n]->rw, keys[i]);
    }
    return WaitUntil([&] { return created_ == static_cast<int>(n); }, timeout_s, "watch creations");
  }

  // Waits until every stream received the events its watchers expect.
  grpc::Status AwaitEvents(double timeout_s) {
    return WaitUntil([&] { return done_ == static_cast<int>(streams_.size()); }, timeout_s,
                     "events");
  }

  int64_t events() const { return events_.load(); }
  int64_t responses() const { return responses_.load(); }  // those carrying events
  Clock::time_point last_event() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_event_;
  }

 private:
  void Read(Stream& s) {
    WatchResponse r;
    int created = 0;
    int64_t got = 0;
    while (s.rw->Read(&r)) {
      if (r.canceled()) {
        Fail(Internal("watch " + std::to_string(r.watch_id()) + " canceled: " + r.cancel_reason()));
      } else if (r.created()) {
        if (++created == s.watchers) StreamCreated(s.expected == 0);
      } else if (r.events_size() > 0) {
        got += r.events_size();
        events_ += r.events_size();
        responses_++;
        if (got >= s.expected && got - r.events_size() < s.expected) StreamDone();
      }
    }
    grpc::Status st = s.rw->Finish();
    if (!closing_) Fail(st.ok() ? Internal("watch stream ended by the server") : st);
  }

  void StreamCreated(bool no_events_expected) {
    std::lock_guard<std::mutex> lock(mu_);
    ++created_;
    if (no_events_expected) ++done_;
    cv_.notify_all();
  }

  void StreamDone() {
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    last_event_ = Clock::now();
    cv_.notify_all();
  }

  void Fail(grpc::Status st) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.ok()) error_ = std::move(st);
    cv_.notify_all();
  }

  grpc::Status WaitUntil(const std::function<bool()>& reached, double timeout_s,
                         const std::string& what) {
    std::unique_lock<std::mutex> lock(mu_);
    bool ok = cv_.wait_for(lock, std::chrono::duration<double>(timeout_s),
                           [&] { return !error_.ok() || reached(); });
    if (!error_.ok()) return error_;
    if (ok) return grpc::Status::OK;
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                        "timed out waiting for " + what + ": " + std::to_string(events_.load()) +
                            " events, " + std::to_string(created_) + " streams created, " +
                            std::to_string(done_) + " complete");
  }

  std::vector<std::unique_ptr<etcdserverpb::Watch::Stub>> stubs_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<std::thread> readers_;
  std::atomic<int64_t> events_{0};
  std::atomic<int64_t> responses_{0};
  std::atomic<bool> closing_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int created_ = 0;               // guarded by mu_: streams with every watcher confirmed
  int done_ = 0;                  // guarded by mu_: streams with every expected event
  Clock::time_point last_event_;  // guarded by mu_: when the last stream completed
  grpc::Status error_;            // guarded by mu_: the first failure
};

std::vector<std::string> WatchedKeys(const Options& o) {
  std::vector<std::string> keys;
  for (int i = 0; i < o.watchers; ++i)
    keys.push_back(o.keys == "same" ? std::string(kSameKey) : NumberedKey(kDistinctPrefix, i));
  return keys;
}

void AddLayout(const Options& o, int streams, Fields& f) {
  f.Add("watchers", o.watchers);
  f.Add("streams", streams);
  f.Add("conns", std::min(o.conns, streams));
  f.Add("keys", o.keys);
}

// A Watch stream that reads its created response and nothing after.
class StalledStream {
 public:
  // Opens the stream, creates one watcher on kStalledKey and reads its created
  // response.
  grpc::Status Open(etcdserverpb::Watch::Stub& stub) {
    rw_ = stub.Watch(&ctx_);
    WatchResponse r;
    if (!WriteCreate(*rw_, kStalledKey) || !rw_->Read(&r)) {
      grpc::Status st = rw_->Finish();
      rw_.reset();
      return st.ok() ? Internal("watch stream ended by the server") : st;
    }
    if (r.canceled()) return Internal("watch canceled: " + r.cancel_reason());
    return grpc::Status::OK;
  }
  // Cancels the stream, drops what it buffered and finishes it.
  ~StalledStream() {
    if (!rw_) return;
    ctx_.TryCancel();
    WatchResponse r;
    while (rw_->Read(&r)) {
    }
    rw_->Finish();  // CANCELLED, as asked
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<WatchRW> rw_;
};

}  // namespace

Outcome RunWatch(const Options& o) {
  Outcome out;
  const std::vector<std::string> keys = WatchedKeys(o);
  const int n = o.watchers;
  std::vector<int64_t> expected(n);
  for (int i = 0; i < n; ++i)
    expected[i] = o.keys == "same" ? o.puts : o.puts / n + (i < o.puts % n ? 1 : 0);
  const int streams = std::min(o.streams, n);
  Channels channels = Dial(o.endpoint, std::min(o.conns, streams));
  if (out.status = Connect(channels, o.timeout_s); !out.status.ok()) return out;
  WatcherSet set(channels, streams);
  auto t0 = Clock::now();
  if (out.status = set.Create(keys, expected, o.timeout_s); !out.status.ok()) return out;
  double create_s = Seconds(t0, Clock::now());
  Load puts =
      RunPuts(o.endpoint, o.put_clients, o.puts, o.val_size, [&](int k) { return keys[k % n]; });
  if (out.status = puts.error; !out.status.ok()) return out;
  if (out.status = set.AwaitEvents(o.timeout_s); !out.status.ok()) return out;
  int64_t want = 0;
  for (int64_t e : expected) want += e;
  const double events_s = Seconds(puts.start, set.last_event());
  AddLayout(o, streams, out.fields);
  out.fields.Add("puts", o.puts);
  out.fields.Add("put_clients", o.put_clients);
  out.fields.Add("val_size", o.val_size);
  out.fields.Add("create_seconds", create_s);
  out.fields.Add("events_expected", want);
  out.fields.Add("events", set.events());
  out.fields.Add("event_responses", set.responses());
  out.fields.Add("events_seconds", events_s);
  out.fields.Add("events_per_s", static_cast<double>(set.events()) / events_s);
  out.fields.Add("puts_per_s", puts.PerSecond());
  out.fields.Add("put_p99_ms", puts.PercentileMs(0.99));
  return out;
}

Outcome RunStalled(const Options& o) {
  Outcome out;
  auto key_of = [](int) { return std::string(kStalledKey); };
  Load base = RunPuts(o.endpoint, o.put_clients, o.puts, o.val_size, key_of);
  if (out.status = base.error; !out.status.ok()) return out;
  Channels channels = Dial(o.endpoint, std::min(o.conns, o.stalled), kStalledWindowBytes);
  if (out.status = Connect(channels, o.timeout_s); !out.status.ok()) return out;
  std::vector<std::unique_ptr<etcdserverpb::Watch::Stub>> stubs;
  for (const auto& ch : channels) stubs.push_back(etcdserverpb::Watch::NewStub(ch));
  const int64_t rss_before = o.server_pid ? RssKiB(o.server_pid) : -1;
  std::vector<std::unique_ptr<StalledStream>> stalled;
  for (int k = 0; k < o.stalled; ++k) {
    stalled.push_back(std::make_unique<StalledStream>());
    if (out.status = stalled.back()->Open(*stubs[k % stubs.size()]); !out.status.ok()) return out;
  }
  Load with = RunPuts(o.endpoint, o.put_clients, o.puts, o.val_size, key_of);
  if (out.status = with.error; !out.status.ok()) return out;
  out.fields.Add("stalled", o.stalled);
  out.fields.Add("puts", o.puts);
  out.fields.Add("put_clients", o.put_clients);
  out.fields.Add("val_size", o.val_size);
  out.fields.Add("baseline_puts_per_s", base.PerSecond());
  out.fields.Add("baseline_p99_ms", base.PercentileMs(0.99));
  out.fields.Add("stalled_puts_per_s", with.PerSecond());
  out.fields.Add("stalled_p99_ms", with.PercentileMs(0.99));
  if (o.server_pid) {  // grows without bound if a server buffers what it cannot send
    const int64_t rss_after = RssKiB(o.server_pid);
    out.fields.Add("rss_before_kib", rss_before);
    out.fields.Add("rss_after_kib", rss_after);
    out.fields.Add("rss_growth_kib", rss_after - rss_before);
  }
  return out;
}

Outcome RunMemory(const Options& o) {
  Outcome out;
  const std::vector<std::string> keys = WatchedKeys(o);
  const int streams = std::min(o.streams, o.watchers);
  Channels channels = Dial(o.endpoint, std::min(o.conns, streams));
  if (out.status = Connect(channels, o.timeout_s); !out.status.ok()) return out;
  const int64_t before = RssKiB(o.server_pid);
  WatcherSet set(channels, streams);
  if (out.status = set.Create(keys, std::vector<int64_t>(keys.size()), o.timeout_s);
      !out.status.ok())
    return out;
  const int64_t after = RssKiB(o.server_pid);
  if (before < 0 || after < 0) {
    out.status = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                              "cannot read VmRSS of pid " + std::to_string(o.server_pid));
    return out;
  }
  AddLayout(o, streams, out.fields);
  out.fields.Add("rss_before_kib", before);
  out.fields.Add("rss_after_kib", after);
  out.fields.Add("bytes_per_watcher",
                 static_cast<double>(after - before) * 1024.0 / static_cast<double>(o.watchers));
  return out;
}

}  // namespace watchbench
