// WatchStream: a client stream's watchers and outgoing queue (the hub's lock
// guards both; see watch_hub.h).
#include <algorithm>
#include <cstring>

#include "watch/watch_hub.h"

namespace etcdd::watch {

using internal::Watcher;
using internal::WatcherState;

namespace {

// etcd's error strings for refused creates (mvcc/watcher.go).
constexpr char kErrEmptyRange[] = "mvcc: watcher range is empty";
constexpr char kErrDuplicateId[] = "mvcc: duplicate watch ID provided on the WatchStream";
constexpr int64_t kAutoWatchId = 0;  // clientv3.AutoWatchID

// A message's share of the stream buffer: its events plus bookkeeping.
constexpr size_t kMessageOverheadBytes = 64;
size_t EstimatedSize(const WatchMessage& m) {
  size_t n = kMessageOverheadBytes;
  for (const auto& e : m.events) n += e->bytes.size();
  return n;
}

}  // namespace

WatchStream::WatchStream(WatchHub& hub, std::function<void()> on_writable)
    : hub_(hub),
      on_writable_(std::move(on_writable)),
      progress_due_(std::chrono::steady_clock::time_point::max()) {}

WatchStream::~WatchStream() { Close(); }

bool WatchStream::Full() const { return buffered_bytes_ >= hub_.options_.stream_buffer_bytes; }

bool WatchStream::Enqueue(WatchMessage m, bool control) {
  if (closed_) return false;
  const size_t bytes = control ? 0 : EstimatedSize(m);
  if (control) {
    ++pending_control_;
  } else {
    buffered_bytes_ += bytes;
  }
  queue_.push_back(Queued{std::move(m), bytes, control});
  if (writer_active_) return false;
  writer_active_ = true;
  return true;
}

bool WatchStream::EnqueueEvents(Watcher* w, int64_t revision,
                                std::vector<std::shared_ptr<const WatchEvent>> events) {
  if (closed_) return false;
  if (w->queued_seq > std::max(popped_total_, merge_floor_)) {
    // Its last event message is still queued; nothing of the watcher's is
    // queued after it but control messages, which carry no events.
    Queued& q = queue_[queue_head_ + static_cast<size_t>(w->queued_seq - 1 - popped_total_)];
    size_t add = 0;
    for (const auto& e : events) add += e->bytes.size();
    const auto& opts = hub_.options_;
    if (q.msg.events.size() + events.size() <= opts.max_events_per_sync &&
        q.bytes + add <= opts.max_merged_bytes + kMessageOverheadBytes) {
      q.msg.events.insert(q.msg.events.end(), std::make_move_iterator(events.begin()),
                          std::make_move_iterator(events.end()));
      q.msg.revision = std::max(q.msg.revision, revision);
      q.bytes += add;
      buffered_bytes_ += add;
      return false;  // a queued message: the writer is active already
    }
  }
  WatchMessage m;
  m.watch_id = w->id;
  m.revision = revision;
  m.prev_kv = w->prev_kv;
  m.fragment = w->fragment;
  m.events = std::move(events);
  const bool wake = Enqueue(std::move(m), false);
  w->queued_seq = popped_total_ + (queue_.size() - queue_head_);
  return wake;
}

void WatchStream::Wake() {
  std::lock_guard lock(wake_mu_);
  if (on_writable_) on_writable_();
}

bool WatchStream::Pop(WatchMessage* out, bool* more) {
  std::lock_guard lock(hub_.mu_);
  if (closed_ || queue_head_ == queue_.size()) {
    writer_active_ = false;
    return false;
  }
  writer_active_ = true;
  Queued& q = queue_[queue_head_++];
  ++popped_total_;
  *out = std::move(q.msg);
  if (q.control) {
    --pending_control_;
  } else {
    buffered_bytes_ -= q.bytes;
  }
  if (more != nullptr) *more = queue_head_ != queue_.size();
  if (queue_head_ == queue_.size()) {
    queue_.clear();
    queue_head_ = 0;
    if (queue_.capacity() > 256) queue_.shrink_to_fit();
  } else if (queue_head_ >= 64 && queue_head_ * 2 >= queue_.size()) {
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(queue_head_));
    queue_head_ = 0;
  }
  // Half of the buffer drained: the parked watchers catch up from the backend.
  if (!parked_.empty() && buffered_bytes_ * 2 <= hub_.options_.stream_buffer_bytes) {
    while (Watcher* w = parked_.PopFront()) {
      --hub_.parked_;
      hub_.MakeUnsynced(w);
    }
    hub_.sync_cv_.notify_one();
  }
  return true;
}

size_t WatchStream::PendingControl() const {
  std::lock_guard lock(hub_.mu_);
  return pending_control_;
}

void WatchStream::Create(const etcdserverpb::WatchCreateRequest& req) {
  std::unique_lock lock(hub_.mu_);
  if (closed_) return;
  const int64_t current = hub_.store_.CurrentRevision();
  // etcd's recvLoop: an empty key is "\0", the smallest key; range_end "\0"
  // means every key >= key.
  const std::string_view key = req.key().empty() ? std::string_view("\0", 1) : req.key();
  const bool from_key = req.range_end() == std::string_view("\0", 1);
  const std::string_view end = from_key ? std::string_view() : req.range_end();
  auto refuse = [&](const char* reason) {
    WatchMessage m;
    m.watch_id = kInvalidWatchId;
    m.revision = current;
    m.created = true;
    m.canceled = true;
    m.cancel_reason = reason;
    if (Enqueue(std::move(m), true)) hub_.WakeLater(this);
    hub_.DeliverWakes(lock);
  };
  if (!end.empty() && key >= end) return refuse(kErrEmptyRange);
  int64_t id = req.watch_id();
  if (id == kAutoWatchId) {
    while (watchers_.count(next_auto_id_) != 0) ++next_auto_id_;
    id = next_auto_id_++;
  } else if (watchers_.count(id) != 0) {
    return refuse(kErrDuplicateId);
  }

  Watcher& w = watchers_[id];
  w.stream = this;
  w.id = id;
  w.key_len = static_cast<uint32_t>(key.size());
  w.end_len = static_cast<uint32_t>(end.size());
  w.bytes = std::make_unique<char[]>(key.size() + end.size());
  std::memcpy(w.bytes.get(), key.data(), key.size());
  if (!end.empty()) std::memcpy(w.bytes.get() + key.size(), end.data(), end.size());
  w.from_key = from_key;
  for (int f : req.filters()) {
    if (f == etcdserverpb::WatchCreateRequest::NOPUT) w.no_put = true;
    if (f == etcdserverpb::WatchCreateRequest::NODELETE) w.no_delete = true;
  }
  w.prev_kv = req.prev_kv();
  w.progress_notify = req.progress_notify();
  w.fragment = req.fragment();
  w.next_rev = req.start_revision() == 0 ? current + 1 : req.start_revision();
  ++hub_.watchers_;
  if (w.prev_kv) hub_.prev_kv_watchers_.fetch_add(1, std::memory_order_relaxed);
  if (w.progress_notify) {
    ++progress_watchers_;
    hub_.ScheduleProgress(this, std::chrono::steady_clock::now());
  }

  WatchMessage created;
  created.watch_id = id;
  created.revision = current;
  created.created = true;
  if (Enqueue(std::move(created), true)) hub_.WakeLater(this);
  // After the created response: the watcher's first events follow it.
  hub_.PlaceWatcher(&w);
  hub_.DeliverWakes(lock);
}

void WatchStream::RejectCreate(std::string cancel_reason) {
  std::unique_lock lock(hub_.mu_);
  WatchMessage m;
  m.watch_id = kInvalidWatchId;
  m.revision = hub_.store_.CurrentRevision();
  m.created = true;
  m.canceled = true;
  m.cancel_reason = std::move(cancel_reason);
  if (Enqueue(std::move(m), true)) hub_.WakeLater(this);
  hub_.DeliverWakes(lock);
}

void WatchStream::Erase(std::unordered_map<int64_t, Watcher>::iterator it) {
  Watcher& w = it->second;
  hub_.Forget(&w);
  if (w.state == WatcherState::kSyncing) {
    // The history read that holds it frees it when it is done.
    w.orphaned = true;
    hub_.orphans_.push_back(watchers_.extract(it));
    return;
  }
  hub_.Detach(&w);
  watchers_.erase(it);
  hub_.AnswerProgressRequest(this);  // the watcher that held it back may be gone
}

void WatchStream::Cancel(int64_t watch_id) {
  std::unique_lock lock(hub_.mu_);
  if (closed_) return;
  auto it = watchers_.find(watch_id);
  if (it == watchers_.end()) return;  // etcd answers nothing
  Erase(it);
  WatchMessage m;
  m.watch_id = watch_id;
  m.revision = hub_.store_.CurrentRevision();
  m.canceled = true;
  if (Enqueue(std::move(m), true)) hub_.WakeLater(this);
  hub_.DeliverWakes(lock);
}

void WatchStream::RequestProgress() {
  std::unique_lock lock(hub_.mu_);
  progress_requested_ = true;
  hub_.AnswerProgressRequest(this);
  hub_.DeliverWakes(lock);
}

void WatchStream::Close() {
  {
    std::lock_guard wake(wake_mu_);
    on_writable_ = nullptr;
  }
  std::lock_guard lock(hub_.mu_);
  if (closed_) return;
  closed_ = true;
  while (!watchers_.empty()) Erase(watchers_.begin());
  decltype(watchers_)().swap(watchers_);
  decltype(queue_)().swap(queue_);
  queue_head_ = 0;
  if (progress_due_ != std::chrono::steady_clock::time_point::max()) {
    auto [from, to] = hub_.progress_schedule_.equal_range(progress_due_);
    for (auto it = from; it != to; ++it) {
      if (it->second == this) {
        hub_.progress_schedule_.erase(it);
        break;
      }
    }
  }
  --hub_.streams_;
}

}  // namespace etcdd::watch
