// The hub's core: construction, threads, Notify (the synced path), Restored,
// and the moves of watchers between synced, unsynced and parked. History
// reads and progress notifications are in watch_sync.cc; the stream's
// methods in watch_stream.cc.
#include "watch/watch_hub.h"

#include <pthread.h>

#include <algorithm>
#include <cassert>

namespace etcdd::watch {

using internal::Watcher;
using internal::WatcherState;

WatchHub::WatchHub(const mvcc::Store& store, WatchHubOptions options, Logger& logger)
    : store_(store),
      options_(std::move(options)),
      logger_(logger),
      notified_rev_(store.CurrentRevision()),
      jitter_state_(options_.jitter_seed | 1) {}

WatchHub::~WatchHub() {
  Stop();
  assert(streams_ == 0);
}

void WatchHub::Start() {
  std::lock_guard lock(mu_);
  if (threads_running_) return;
  threads_running_ = true;
  stop_ = false;
  sync_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "etcdd-wsync");
    SyncLoop();
  });
  notifier_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "etcdd-wnotify");
    NotifierLoop();
  });
}

void WatchHub::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!threads_running_) return;
    stop_ = true;
  }
  sync_cv_.notify_all();
  notifier_cv_.notify_all();
  sync_thread_.join();
  notifier_thread_.join();
  std::unique_lock lock(mu_);
  threads_running_ = false;
  DeliverWakes(lock);  // what the notifier left
}

std::shared_ptr<WatchStream> WatchHub::NewStream(std::function<void()> on_writable) {
  std::shared_ptr<WatchStream> s(new WatchStream(*this, std::move(on_writable)));
  std::lock_guard lock(mu_);
  ++streams_;
  return s;
}

int64_t WatchHub::NotifiedRevision() const {
  std::lock_guard lock(mu_);
  return notified_rev_;
}

WatchHub::Stats WatchHub::GetStats() const {
  std::lock_guard lock(mu_);
  Stats st;
  st.streams = streams_;
  st.watchers = watchers_;
  st.synced = synced_.size();
  st.unsynced = unsynced_.size() + syncing_;
  st.parked = parked_;
  st.parks_total = parks_total_;
  st.history_reads_total = history_reads_total_;
  return st;
}

void WatchHub::Notify(const std::vector<mvccpb::Event>& events, int64_t revision,
                      bool events_have_prev_kv) {
  std::unique_lock lock(mu_);
  const int64_t base = notified_rev_;
  if (revision <= base) return;
  notified_rev_ = revision;
  if (synced_.size() == 0) return;

  // Each synced watcher's share of the batch, in revision order; an event is
  // serialized once, when a first watcher takes it.
  struct Delivery {
    Watcher* w;
    std::vector<std::shared_ptr<const WatchEvent>> events;
  };
  std::vector<Delivery> out;
  std::vector<std::shared_ptr<const WatchEvent>> shared(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const mvccpb::Event& ev = events[i];
    const int64_t rev = ev.kv().mod_revision();
    if (rev <= base) continue;
    const bool is_put = ev.type() == mvccpb::Event::PUT;
    synced_.ForEachMatch(ev.kv().key(), [&](Watcher* w) {
      if (rev < w->next_rev || !w->Wants(is_put)) return;
      if (w->scratch == 0) {
        out.push_back({w, {}});
        w->scratch = static_cast<uint32_t>(out.size());
      }
      if (!shared[i]) shared[i] = WatchEvent::Make(ev);
      out[w->scratch - 1].events.push_back(shared[i]);
    });
  }

  bool unsynced = false;
  for (Delivery& d : out) {
    Watcher* w = d.w;
    w->scratch = 0;
    WatchStream* s = w->stream;
    const bool lacks_prev_kv = w->prev_kv && !events_have_prev_kv;
    if (lacks_prev_kv || s->Full()) {
      // It has seen everything up to `base`; the backend has the rest.
      synced_.Remove(w);
      w->next_rev = std::max(w->next_rev, base + 1);
      if (lacks_prev_kv) {
        MakeUnsynced(w);
        unsynced = true;
      } else {
        Park(w);
      }
      continue;
    }
    w->progress_idle = false;
    if (s->EnqueueEvents(w, revision, std::move(d.events))) WakeLater(s);
  }
  if (unsynced) sync_cv_.notify_one();
  if (threads_running_) {
    // The notifier thread runs the writers, so the apply thread does not.
    if (!wakes_.empty()) notifier_cv_.notify_one();
    return;
  }
  DeliverWakes(lock);
}

void WatchHub::Restored() {
  std::lock_guard lock(mu_);
  const int64_t base = notified_rev_;
  notified_rev_ = store_.CurrentRevision();
  synced_.Drain([&](Watcher* w) {
    w->next_rev = std::max(w->next_rev, base + 1);
    MakeUnsynced(w);
  });
  sync_cv_.notify_one();
}

void WatchHub::PlaceWatcher(Watcher* w) {
  if (w->next_rev > notified_rev_) {
    w->state = WatcherState::kSynced;
    synced_.Add(w);
    AnswerProgressRequest(w->stream);
    return;
  }
  MakeUnsynced(w);
  sync_cv_.notify_one();
}

void WatchHub::MakeUnsynced(Watcher* w) {
  w->state = WatcherState::kUnsynced;
  unsynced_.PushBack(w);
}

void WatchHub::Park(Watcher* w) {
  w->state = WatcherState::kParked;
  w->stream->parked_.PushBack(w);
  ++parked_;
  ++parks_total_;
}

void WatchHub::Detach(Watcher* w) {
  switch (w->state) {
    case WatcherState::kSynced:
      synced_.Remove(w);
      break;
    case WatcherState::kUnsynced:
      unsynced_.Remove(w);
      break;
    case WatcherState::kParked:
      w->stream->parked_.Remove(w);
      --parked_;
      break;
    case WatcherState::kSyncing:
    case WatcherState::kCompacted:
      break;
  }
}

void WatchHub::Forget(Watcher* w) {
  if (w->prev_kv && w->state != WatcherState::kCompacted) {
    prev_kv_watchers_.fetch_sub(1, std::memory_order_relaxed);
  }
  if (w->progress_notify) --w->stream->progress_watchers_;
  --watchers_;
}

void WatchHub::CancelCompacted(Watcher* w, int64_t compact_rev) {
  // etcd's chooseAll: {watch_id, compact_revision} with no header revision,
  // which the v3rpc layer marks canceled.
  if (w->prev_kv) prev_kv_watchers_.fetch_sub(1, std::memory_order_relaxed);
  w->state = WatcherState::kCompacted;
  WatchMessage m;
  m.watch_id = w->id;
  m.canceled = true;
  m.compact_revision = compact_rev;
  if (w->stream->Enqueue(std::move(m), true)) WakeLater(w->stream);
  AnswerProgressRequest(w->stream);
}

void WatchHub::AnswerProgressRequest(WatchStream* s) {
  if (!s->progress_requested_ || s->closed_) return;
  for (const auto& [id, w] : s->watchers_) {
    if (w.state != WatcherState::kSynced && w.state != WatcherState::kCompacted) return;
  }
  s->progress_requested_ = false;
  WatchMessage m;
  m.watch_id = kInvalidWatchId;
  // Not the store's revision (which may be ahead of Notify): every synced
  // watcher has been given the events up to this one.
  m.revision = notified_rev_;
  if (s->Enqueue(std::move(m), true)) WakeLater(s);
  s->merge_floor_ = s->popped_total_ + (s->queue_.size() - s->queue_head_);  // events go after it
}

void WatchHub::WakeLater(WatchStream* s) { wakes_.push_back(s->weak_from_this()); }

void WatchHub::TakeWakes(std::vector<std::shared_ptr<WatchStream>>* out) {
  for (auto& weak : wakes_) {
    // A stream being destroyed (no owner left) is skipped; its Close()
    // waits for the hub lock we hold.
    if (auto s = weak.lock()) out->push_back(std::move(s));
  }
  wakes_.clear();
}

void WatchHub::DeliverWakes(std::unique_lock<std::mutex>& lock) {
  std::vector<std::shared_ptr<WatchStream>> wake;
  TakeWakes(&wake);
  lock.unlock();
  for (auto& s : wake) s->Wake();
  // The last reference to a stream may go here, outside the lock (its
  // destructor takes it).
  wake.clear();
}

void WatchHub::ScheduleProgress(WatchStream* s, Clock::time_point now) {
  const auto interval = options_.progress_notify_interval;
  if (interval.count() <= 0 || s->progress_due_ != Clock::time_point::max()) return;
  if (s->progress_interval_.count() == 0) {
    // etcd's GetProgressReportInterval: the interval plus up to a tenth of it.
    jitter_state_ ^= jitter_state_ << 13;
    jitter_state_ ^= jitter_state_ >> 7;
    jitter_state_ ^= jitter_state_ << 17;
    const int64_t tenth = std::max<int64_t>(interval.count() / 10, 1);
    s->progress_interval_ =
        interval + std::chrono::milliseconds(static_cast<int64_t>(jitter_state_ % tenth));
  }
  s->progress_due_ = now + s->progress_interval_;
  const bool first =
      progress_schedule_.empty() || s->progress_due_ < progress_schedule_.begin()->first;
  progress_schedule_.emplace(s->progress_due_, s);
  if (first) notifier_cv_.notify_one();
}

}  // namespace etcdd::watch
