// The hub's background work: catching unsynced watchers up from the backend
// (etcd's syncWatchers) and periodic progress notifications (etcd's
// progressTicker in v3rpc/watch.go), and the threads that run them.
#include <algorithm>
#include <string>

#include "mvcc/errors.h"
#include "watch/watch_hub.h"

namespace etcdd::watch {

using internal::Watcher;
using internal::WatcherGroup;
using internal::WatcherState;

// Watchers taken out of the unsynced list for one history read: a read with
// prev_kv for those that want it, one without for the others.
struct WatchHub::SyncBatch {
  struct Read {
    std::vector<Watcher*> watchers;
    bool prev_kv = false;
    // The read: a key range covering every watcher, from the lowest next_rev.
    std::string key;
    std::string range_end;
    int64_t from = 0;
    Result<mvcc::Store::EventBatch> result = Status::Internal("not read");
  };
  Read reads[2];
};

namespace {

// The smallest range in ReadEvents' forms holding every watcher's range.
void CoverRange(const std::vector<Watcher*>& ws, std::string* key, std::string* range_end) {
  std::string_view lo = ws[0]->key();
  std::string hi;  // exclusive end; unbounded when `from_key`
  bool from_key = false;
  bool one_key = true;
  for (const Watcher* w : ws) {
    lo = std::min(lo, w->key());
    one_key = one_key && w->single_key() && w->key() == ws[0]->key();
    if (w->from_key) {
      from_key = true;
      continue;
    }
    std::string end = w->single_key() ? std::string(w->key()) + '\0' : std::string(w->end());
    hi = std::max(hi, end);
  }
  *key = lo;
  if (one_key) {
    range_end->clear();
  } else if (from_key) {
    *range_end = std::string(1, '\0');
  } else {
    *range_end = hi;
  }
}

}  // namespace

bool WatchHub::SyncNow() {
  std::unique_lock lock(mu_);
  while (!unsynced_.empty()) {
    if (!SyncRound(lock)) return false;
  }
  return true;
}

void WatchHub::SyncLoop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (unsynced_.empty()) {
      sync_cv_.wait(lock);
      continue;
    }
    if (!SyncRound(lock)) {
      sync_cv_.wait_for(lock, options_.sync_retry_interval, [&] { return stop_; });
    }
  }
}

// Takes up to max_watchers_per_sync unsynced watchers: those already caught
// up join the synced group, compacted ones are canceled, those whose stream
// is full are parked; the others are read for, outside the lock. Returns
// false if a read failed (the watchers stay unsynced).
bool WatchHub::SyncRound(std::unique_lock<std::mutex>& lock) {
  // etcd's compactMainRev is -1 before any compaction: a negative start
  // revision below it is compacted too.
  const int64_t compact = store_.CompactRevision();
  const int64_t floor = compact == 0 ? -1 : compact;
  SyncBatch batch;
  batch.reads[1].prev_kv = true;
  size_t taken = 0;
  while (taken < options_.max_watchers_per_sync && !unsynced_.empty()) {
    Watcher* w = unsynced_.PopFront();
    if (w->next_rev > notified_rev_) {
      PlaceWatcher(w);
    } else if (w->next_rev < floor) {
      CancelCompacted(w, floor);
    } else if (w->stream->Full()) {
      Park(w);
    } else {
      w->state = WatcherState::kSyncing;
      batch.reads[w->prev_kv ? 1 : 0].watchers.push_back(w);
      ++taken;
    }
  }
  syncing_ += taken;
  for (auto& r : batch.reads) {
    if (r.watchers.empty()) continue;
    CoverRange(r.watchers, &r.key, &r.range_end);
    r.from = notified_rev_;
    for (const Watcher* w : r.watchers) r.from = std::min(r.from, w->next_rev);
    r.from = std::max<int64_t>(r.from, 1);
  }
  if (taken > 0) {
    lock.unlock();
    for (auto& r : batch.reads) {
      if (r.watchers.empty()) continue;
      r.result =
          store_.ReadEvents(r.key, r.range_end, r.from, 0, options_.max_events_per_sync, r.prev_kv);
    }
    lock.lock();
    history_reads_total_ +=
        batch.reads[0].watchers.empty() || batch.reads[1].watchers.empty() ? 1 : 2;
  }
  bool ok = true;
  for (auto& r : batch.reads) {
    if (r.watchers.empty()) continue;
    if (r.result.ok()) {
      Distribute(r.watchers, *r.result);
      continue;
    }
    // A compaction between the check above and the read: the next round
    // cancels the watchers it left behind.
    const Status st = r.result.status();
    const bool compacted = st.message() == mvcc::ErrCompacted().message();
    if (!compacted) {
      logger_.Warn("failed to read watch history; will retry", {{"error", st.message()}});
      ok = false;
    }
    for (Watcher* w : r.watchers) {
      --syncing_;
      if (!w->orphaned) MakeUnsynced(w);
    }
  }
  orphans_.clear();
  DeliverWakes(lock);
  lock.lock();
  return ok;
}

// Hands each watcher of a history read its events (from its next_rev, in
// revision order), then moves it on: synced if it has caught up with Notify,
// else unsynced for another read, or parked if its stream filled up.
void WatchHub::Distribute(const std::vector<Watcher*>& ws, const mvcc::Store::EventBatch& batch) {
  WatcherGroup group;
  for (Watcher* w : ws) {
    if (!w->orphaned) group.Add(w);
  }
  struct Delivery {
    Watcher* w;
    std::vector<std::shared_ptr<const WatchEvent>> events;
  };
  std::vector<Delivery> out;
  for (const mvccpb::Event& ev : batch.events) {
    std::shared_ptr<const WatchEvent> shared;
    const int64_t rev = ev.kv().mod_revision();
    const bool is_put = ev.type() == mvccpb::Event::PUT;
    group.ForEachMatch(ev.kv().key(), [&](Watcher* w) {
      if (rev < w->next_rev || !w->Wants(is_put)) return;
      if (w->scratch == 0) {
        out.push_back({w, {}});
        w->scratch = static_cast<uint32_t>(out.size());
      }
      if (!shared) shared = WatchEvent::Make(ev);
      out[w->scratch - 1].events.push_back(shared);
    });
  }
  group.Drain([](Watcher*) {});
  for (Watcher* w : ws) {
    --syncing_;
    if (w->orphaned) continue;
    const uint32_t slot = w->scratch;
    w->scratch = 0;
    if (slot != 0) {
      WatchStream* s = w->stream;
      if (s->Full()) {
        Park(w);  // from the same next_rev, later
        continue;
      }
      // etcd sends the store revision it read at; this is the revision the
      // watcher has now seen everything up to (the same when the read
      // reached the end).
      w->progress_idle = false;
      if (s->EnqueueEvents(w, batch.next_revision - 1, std::move(out[slot - 1].events))) {
        WakeLater(s);
      }
    }
    w->next_rev = std::max(w->next_rev, batch.next_revision);
    PlaceWatcher(w);
  }
}

void WatchHub::ProgressTick(Clock::time_point now) {
  std::unique_lock lock(mu_);
  ProgressTickLocked(now);
  DeliverWakes(lock);
}

// etcd's progress ticker: each due stream sends {watch_id, current revision}
// to its progress_notify watchers that are synced and got no events since
// the previous tick (and whose stream has room), then reschedules.
void WatchHub::ProgressTickLocked(Clock::time_point now) {
  while (!progress_schedule_.empty() && progress_schedule_.begin()->first <= now) {
    WatchStream* s = progress_schedule_.begin()->second;
    progress_schedule_.erase(progress_schedule_.begin());
    s->progress_due_ = Clock::time_point::max();
    if (s->progress_watchers_ == 0) continue;
    for (auto& [id, w] : s->watchers_) {
      if (!w.progress_notify) continue;
      if (w.progress_idle && w.state == WatcherState::kSynced && !s->Full()) {
        WatchMessage m;
        m.watch_id = id;
        m.revision = notified_rev_;
        if (s->Enqueue(std::move(m), false)) WakeLater(s);
        w.queued_seq = 0;  // later events go after this notification
      }
      w.progress_idle = true;
    }
    ScheduleProgress(s, now);
  }
}

void WatchHub::NotifierLoop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (wakes_.empty()) {
      if (progress_schedule_.empty()) {
        notifier_cv_.wait(lock);
      } else {
        notifier_cv_.wait_until(lock, progress_schedule_.begin()->first);
      }
      if (stop_) break;
    }
    ProgressTickLocked(Clock::now());
    DeliverWakes(lock);
    lock.lock();
  }
}

}  // namespace etcdd::watch
