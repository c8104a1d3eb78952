// The watch hub: etcd's watchable store and watch streams (mvcc/watchable_store.go,
// mvcc/watcher_group.go, mvcc/watcher.go, the stream half of
// etcdserver/api/v3rpc/watch.go) over an mvcc::Store, without gRPC.
//
// Model. A WatchStream is one client stream (one gRPC Watch call); it holds
// watchers and one FIFO of outgoing WatchMessages that its writer drains. Each
// watcher watches a key, a range [key, end) or every key >= key, and tracks
// next_rev, the first revision whose events it has not been given. A watcher
// is in exactly one place:
//   synced    in the hub's synced group (a hash map of single keys plus an
//             interval tree of ranges, as etcd's watcherGroup): Notify hands
//             it the events of each applied batch at once;
//   unsynced  waiting for the sync thread, which reads its history from the
//             backend (Store::ReadEvents) from next_rev, in batches, and moves
//             it to synced once it has caught up with Notify;
//   parked    its stream's buffer is full (a slow client, etcd's "victim"):
//             nothing is buffered for it; once the writer has drained half of
//             the buffer it is unsynced again and catches up from next_rev.
// Because every delivery starts at next_rev and advances it, under the hub's
// lock, a watcher gets every event once, in revision order, whatever path
// (Notify or history) brings it; all events of one revision travel in one
// message (a message may hold several revisions).
//
// Batching: while a watcher's last event message is still queued (its writer
// has not popped it), the events of later batches for it are appended to that
// message instead of being queued as new ones (whole batches, so whole
// revisions; header.revision becomes the later batch's), up to
// max_events_per_sync events and max_merged_bytes. A watcher that keeps up gets one
// message per batch; one that lags behind its stream's writer gets fewer,
// larger ones, as etcd batches the events of a lagging watcher. Nothing is
// appended across a progress notification for the watcher or the stream
// (RequestProgress), so that one never announces a revision below events
// sent before it.
//
// The apply thread commits a batch, then calls Notify with its events. Notify
// only matches and enqueues (O(events x log groups + deliveries)); it never
// waits for a client: the writers of the streams it filled are woken by the
// hub's notifier thread.
//
// Threads: Start() runs two threads, the sync thread (history reads; it waits
// on a condition variable for work, and retries a failed read after
// sync_retry_interval) and the notifier thread (wakes writers, sends periodic
// progress notifications). Without Start() (tests), writers are woken inline
// and SyncNow()/ProgressTick() do the threads' work on the caller's thread.
//
// Thread-safety: every method of WatchHub and WatchStream is thread-safe.
// Ownership: the caller owns the hub and must close (or drop) every stream
// before destroying it; a stream is shared by its writer and the hub's threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/log.h"
#include "etcdserverpb/rpc.pb.h"
#include "mvcc/store.h"
#include "mvccpb/kv.pb.h"
#include "watch/watch_group.h"

namespace etcdd::watch {

class WatchHub;

// The watch id of stream-wide responses (progress replies, refused creates):
// clientv3.InvalidWatchID.
inline constexpr int64_t kInvalidWatchId = -1;

struct WatchHubOptions {
  // How long a progress_notify watcher may go without events before it is
  // sent an empty response carrying the current revision (etcd's
  // --experimental-watch-progress-notify-interval; etcd's default is 10 min and
  // its minimum 100 ms, which the caller enforces). Each stream adds a fixed
  // random jitter of up to a tenth of it, as etcd does. Zero: never.
  std::chrono::milliseconds progress_notify_interval{std::chrono::minutes(10)};
  // After a failed history read, the sync thread retries after this long
  // (etcd's 100 ms sync loop period).
  std::chrono::milliseconds sync_retry_interval{100};
  // Unsynced watchers caught up by one history read (etcd's maxWatchersPerSync).
  size_t max_watchers_per_sync = 512;
  // Events read per history read (whole revisions; Store::ReadEvents' limit).
  // Bounds one catch-up message, and the events a queued message takes from
  // later batches (see Batching above; etcd's watchBatchMaxRevs bounds
  // revisions).
  size_t max_events_per_sync = 1000;
  // Bytes a stream may buffer (serialized events plus ~64 bytes per message)
  // before its watchers are parked as slow. etcd's equivalent is a buffer of
  // 128 responses per stream. At least one message is always accepted.
  size_t stream_buffer_bytes = 2u << 20;
  // The serialized events a queued message may grow to by taking later
  // batches (see Batching above). A batch is never split, so one batch alone
  // may exceed it. 0: never append.
  size_t max_merged_bytes = 64u << 10;
  // Seed of the progress-interval jitter.
  uint64_t jitter_seed = 0x5eed;
};

// One event as it goes on the wire, serialized once and shared by every
// message that carries it.
struct WatchEvent {
  // The serialized mvccpb::Event, prev_kv included when the event has one.
  std::string bytes;
  // The length of its serialization without prev_kv (a prefix of `bytes`:
  // protobuf writes fields in number order and prev_kv is the last one).
  uint32_t size_without_prev_kv = 0;
  int64_t revision = 0;  // kv.mod_revision
  bool is_put = false;

  static std::shared_ptr<const WatchEvent> Make(const mvccpb::Event& ev);
};

// One WatchResponse to send, without its header's cluster/member/term.
struct WatchMessage {
  int64_t watch_id = 0;
  int64_t revision = 0;  // header.revision
  int64_t compact_revision = 0;
  bool created = false;
  bool canceled = false;
  bool prev_kv = false;   // send the events' prev_kv (the watcher asked for it)
  bool fragment = false;  // the watcher accepts fragmented responses
  std::string cancel_reason;
  std::vector<std::shared_ptr<const WatchEvent>> events;
};

// Serializes `m` as one etcdserverpb.WatchResponse, with `header` (its
// revision replaced by m.revision). When m.fragment and the response is at
// least `fragment_limit_bytes` long and holds two or more events, it is split
// as etcd's sendFragments does: each part takes events while it stays below
// the limit (a part holds at least one event), and every part but the last
// has fragment = true. etcd's limit is --max-request-bytes + 512 KiB.
std::vector<std::string> EncodeWatchResponse(const WatchMessage& m,
                                             const etcdserverpb::ResponseHeader& header,
                                             size_t fragment_limit_bytes);

// One client stream: its watchers and its outgoing queue. Created by
// WatchHub::NewStream.
//
// Writer protocol: when a message is queued while no writer runs, the stream
// calls on_writable (from a hub thread or from the thread that queued it); the
// callee owns the writer role and calls Pop until it returns false, which
// ends the role (it may Pop later, asynchronously, e.g. from a write
// completion). So at most one writer runs and no message waits unseen.
class WatchStream : public std::enable_shared_from_this<WatchStream> {
 public:
  ~WatchStream();  // Close()s
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  // etcd's watch create (v3rpc recvLoop + mvcc watchStream.Watch). Queues
  // the created response {watch_id, created, header.revision = current
  // revision}, then the watcher's events from start_revision on (0: from the
  // next revision). An empty key means "\0"; range_end "\0" means every key
  // >= key. watch_id 0 picks the lowest unused id >= the stream's next auto
  // id (etcd's rule: auto ids count up from 0, skipping ids in use). Refusals
  // are queued as {watch_id -1, created, canceled, cancel_reason}:
  // "mvcc: watcher range is empty" (key >= a non-empty range_end other than
  // "\0"), "mvcc: duplicate watch ID provided on the WatchStream". A start
  // revision below the compact revision (or negative) yields the created
  // response, then {watch_id, canceled, compact_revision, header.revision 0},
  // as etcd 3.4 sends it; the id stays taken until Cancel.
  void Create(const etcdserverpb::WatchCreateRequest& req);
  // Queues {watch_id -1, created, canceled, cancel_reason} (etcd's answer to a
  // create refused by auth, e.g. "etcdserver: permission denied").
  void RejectCreate(std::string cancel_reason);
  // etcd's watch cancel: queues {watch_id, canceled} after the watcher's
  // queued messages; an unknown id gets no response, as in etcd.
  void Cancel(int64_t watch_id);
  // etcd's WatchProgressRequest: queues {watch_id -1, header.revision = the
  // revision Notify has delivered up to}. That revision promises that every
  // event at or below it has been sent, so while a watcher of this stream is
  // not synced (catching up from history, or parked) the answer waits until
  // all are, then goes out after their events (etcd 3.6's deferred progress,
  // the fix of etcd #15220 that Kubernetes' consistent reads from cache rely
  // on; etcd 3.4 answered at once with a revision a lagging watcher had not
  // reached). Requests made while one waits are answered by the same reply.
  void RequestProgress();

  // The next message, or false when there is none (or the stream is closed),
  // which ends the writer role. `more`, when given, is set to whether another
  // message is queued after it (the writer may let the transport hold this one
  // back and send both together).
  bool Pop(WatchMessage* out, bool* more = nullptr);
  // Control messages (created/canceled/progress replies) queued; the gRPC
  // reader stops reading requests while 16 or more are queued (etcd's
  // ctrlStreamBufLen).
  size_t PendingControl() const;

  // Removes every watcher and drops the queue; on_writable is not called
  // after Close returns (it waits for a call in progress, so on_writable must
  // not call Close). Idempotent.
  void Close();

 private:
  friend class WatchHub;
  WatchStream(WatchHub& hub, std::function<void()> on_writable);

  // With hub_.mu_ held: queues `m`, returns true if the caller must wake
  // the writer (after releasing the lock, with Wake).
  bool Enqueue(WatchMessage m, bool control);
  // With hub_.mu_ held: queues `events` (whole revisions, after those already
  // queued for `w`) for watcher `w` with header revision `revision`, appended
  // to w's last event message when it is still queued and stays within the
  // merge bounds. Returns true if the caller must wake the writer.
  bool EnqueueEvents(internal::Watcher* w, int64_t revision,
                     std::vector<std::shared_ptr<const WatchEvent>> events);
  bool Full() const;  // with hub_.mu_ held
  void Wake();        // calls on_writable_; without hub_.mu_
  // With hub_.mu_ held: the watcher at `it` leaves the stream; it is freed
  // now, or by the history read that holds it.
  void Erase(std::unordered_map<int64_t, internal::Watcher>::iterator it);

  // Below: guarded by hub_.mu_ (wake_mu_ guards on_writable_).

  WatchHub& hub_;
  std::mutex wake_mu_;  // held while on_writable_ runs
  std::function<void()> on_writable_;

  std::unordered_map<int64_t, internal::Watcher> watchers_;
  internal::WatcherList parked_;
  struct Queued {
    WatchMessage msg;
    size_t bytes;  // estimated size; 0 for control messages
    bool control;
  };
  std::vector<Queued> queue_;  // FIFO from queue_head_
  size_t queue_head_ = 0;
  uint64_t popped_total_ = 0;  // messages popped so far: queue_[queue_head_]'s sequence number
  uint64_t merge_floor_ = 0;   // messages before this sequence number take no more events
  size_t buffered_bytes_ = 0;  // event messages' estimated size
  size_t pending_control_ = 0;
  int64_t next_auto_id_ = 0;
  size_t progress_watchers_ = 0;
  bool progress_requested_ = false;                       // a RequestProgress awaits its reply
  std::chrono::steady_clock::time_point progress_due_{};  // max() when unscheduled
  std::chrono::milliseconds progress_interval_{0};        // with jitter; 0 until scheduled
  bool writer_active_ = false;
  bool closed_ = false;
};

class WatchHub {
 public:
  // `store` must outlive the hub. The hub starts at store.CurrentRevision():
  // every later commit must be followed by Notify.
  WatchHub(const mvcc::Store& store, WatchHubOptions options, Logger& logger);
  ~WatchHub();  // Stop()s
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  void Start();
  // Stops and joins the threads; idempotent. Streams stay usable (writers are
  // then woken inline).
  void Stop();

  // A new stream; `on_writable` is its writer's wake-up (see WatchStream).
  std::shared_ptr<WatchStream> NewStream(std::function<void()> on_writable);

  // Called by the apply thread after committing a batch: `events` are the
  // batch's WriteTxn::Events() (revision order) and `revision` the store
  // revision after it. `events_have_prev_kv` is whether the batch ran with
  // SetEventsPrevKv(true); a prev_kv watcher that matches events of a batch
  // without them is caught up from the backend instead (with prev_kv).
  // Copies what it needs; never blocks on a client.
  void Notify(const std::vector<mvccpb::Event>& events, int64_t revision, bool events_have_prev_kv);

  // Called after Store::RestoreFrom (snapshot install): every synced watcher
  // resyncs from the backend from its next revision, as etcd's
  // watchableStore.Restore does; the hub continues from the store's revision.
  void Restored();

  // Whether some watcher wants prev_kv: the applier calls
  // txn.SetEventsPrevKv(hub.WantsPrevKv()) at the start of each batch.
  bool WantsPrevKv() const { return prev_kv_watchers_.load(std::memory_order_relaxed) > 0; }

  // The revision up to which Notify has delivered events.
  int64_t NotifiedRevision() const;

  // Gauges (etcd's watch_stream_total, watcher_total, slow_watcher_total).
  struct Stats {
    size_t streams = 0;
    size_t watchers = 0;  // synced + unsynced + syncing + parked
    size_t synced = 0;
    size_t unsynced = 0;  // unsynced + syncing
    size_t parked = 0;
    uint64_t parks_total = 0;          // watchers parked because their stream was full
    uint64_t history_reads_total = 0;  // Store::ReadEvents calls by the sync thread
  };
  Stats GetStats() const;

  // Without Start() (tests): runs history reads until no watcher is unsynced
  // (all synced, parked or compacted). Returns false if a read failed.
  bool SyncNow();
  // Without Start(): sends the progress notifications due at `now`.
  void ProgressTick(std::chrono::steady_clock::time_point now);

 private:
  friend class WatchStream;
  using Watcher = internal::Watcher;
  using Clock = std::chrono::steady_clock;

  // One history read's worth of watchers, taken out of unsynced_.
  struct SyncBatch;

  // All below with mu_ held unless noted.
  void PlaceWatcher(Watcher* w);  // synced or unsynced, by next_rev
  void Detach(Watcher* w);        // out of whatever list or group holds it
  void MakeUnsynced(Watcher* w);
  void Park(Watcher* w);
  void CancelCompacted(Watcher* w, int64_t compact_rev);
  void Forget(Watcher* w);  // counters of a watcher leaving for good
  // Queues the reply to s's pending RequestProgress once every watcher of s
  // is synced (or ended by compaction); else leaves it pending.
  void AnswerProgressRequest(WatchStream* s);
  void ScheduleProgress(WatchStream* s, Clock::time_point now);  // first due at now + interval
  void WakeLater(WatchStream* s);  // queue a writer wake-up for after the lock
  void TakeWakes(std::vector<std::shared_ptr<WatchStream>>* out);
  void DeliverWakes(std::unique_lock<std::mutex>& lock);  // releases the lock
  bool SyncRound(std::unique_lock<std::mutex>& lock);     // unlocks while reading
  void Distribute(const std::vector<Watcher*>& ws, const mvcc::Store::EventBatch& batch);
  void ProgressTickLocked(Clock::time_point now);
  void SyncLoop();
  void NotifierLoop();

  const mvcc::Store& store_;
  const WatchHubOptions options_;
  Logger& logger_;
  std::atomic<int64_t> prev_kv_watchers_{0};

  mutable std::mutex mu_;
  std::condition_variable sync_cv_;      // unsynced work, or stop
  std::condition_variable notifier_cv_;  // wakes queued, progress schedule, or stop
  int64_t notified_rev_;                 // guarded by mu_
  internal::WatcherGroup synced_;
  internal::WatcherList unsynced_;
  std::vector<std::weak_ptr<WatchStream>> wakes_;
  std::multimap<Clock::time_point, WatchStream*> progress_schedule_;
  std::vector<std::unordered_map<int64_t, Watcher>::node_type> orphans_;
  size_t streams_ = 0, watchers_ = 0, syncing_ = 0, parked_ = 0;
  uint64_t parks_total_ = 0, history_reads_total_ = 0;
  uint64_t jitter_state_;
  bool threads_running_ = false;
  bool stop_ = false;
  std::thread sync_thread_;
  std::thread notifier_thread_;
};

}  // namespace etcdd::watch
