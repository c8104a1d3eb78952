// The apply loop: applies committed Raft entries, in order, to the MVCC store
// on its own thread, one backend write transaction per batch, recording the
// applied (consistent) index in the same transaction, then wakes the proposers
// waiting on each entry (DESIGN.md §3, step 4).
//
// Entries at or below the store's consistent index were applied before a
// restart and are skipped, so every entry is applied exactly once. The apply
// thread also answers proposers whose deadline passed (every 100 ms).
//
// Thread-safety: Enqueue, AppliedIndex and WaitApplied may be called from any
// thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "auth/store.h"
#include "base/log.h"
#include "base/status.h"
#include "etcdserverpb/rpc.pb.h"
#include "mvcc/store.h"
#include "raftpb/raft.pb.h"
#include "server/alarms.h"
#include "server/leases.h"
#include "server/wait.h"
#include "serverpb/internal.pb.h"

namespace etcdd::server {

// The response to an Auth request: one of etcdserverpb's Auth*Response.
using AuthResponse = std::shared_ptr<google::protobuf::Message>;

// What one applied request produced: its response, or the error it failed with
// (e.g. "etcdserver: key not found" for ignore_value on a missing key).
// A configuration change yields the member list after it.
using ApplyResult =
    std::variant<Status, etcdserverpb::PutResponse, etcdserverpb::DeleteRangeResponse,
                 etcdserverpb::TxnResponse, etcdserverpb::CompactionResponse, serverpb::Members,
                 etcdserverpb::LeaseGrantResponse, etcdserverpb::LeaseRevokeResponse,
                 etcdserverpb::LeaseCheckpointResponse, AuthResponse, etcdserverpb::AlarmResponse>;

class Applier {
 public:
  // Called on the apply thread; none may block for long.
  struct Hooks {
    // After each batch, with the new applied index.
    std::function<void(uint64_t applied_index)> applied;
    // For every committed ConfChange entry, in log order: the change as
    // committed, or with node_id 0 if it was refused (RaftNode::ConfChangeApplied).
    std::function<void(raftpb::ConfChange)> conf_change;
    // After a batch that changed the member list, with the new list.
    std::function<void(const serverpb::Members&)> members_changed;
    // Where the backend file of a snapshot from the leader at `index` is.
    std::function<std::string(uint64_t index)> snapshot_path;
    // Watchers (WatchHub): whether a batch's events must carry prev_kv,
    // asked before each batch; then, after its commit, the batch's events
    // (revision order), the store revision after it and that flag; and
    // after a snapshot install replaced the store's contents.
    std::function<bool()> events_need_prev_kv;
    std::function<void(const std::vector<mvccpb::Event>& events, int64_t revision,
                       bool with_prev_kv)>
        committed;
    std::function<void()> restored;
    // A fatal error (see server/fatal.h): the backend cannot commit an
    // applied batch or install a snapshot, or a committed entry cannot be
    // decoded (etcd panics or logs fatally). The apply loop stops for good
    // after calling it: nothing more is applied or answered. `what` is
    // etcd's log message.
    std::function<void(std::string_view what, const Status& cause)> fatal;
    // After a batch in which a Put, Txn or LeaseGrant failed with
    // ErrNoSpace (past the quota, or the backend map full) while no NOSPACE
    // alarm was active: the member raises NOSPACE for itself through Raft
    // (etcd's applyEntryNormal). Must not block.
    std::function<void()> no_space;
  };

  // `conf_state` and `members` are the configuration and member list as of
  // the store's consistent index; `max_learners` is --max-learners. Lease
  // requests are applied to `leases`, which also follows the keys written;
  // Auth requests to `auth`, which also checks the permissions of every
  // client request that carries an auth header (etcd's authApplierV3).
  // Alarm requests are applied to `alarms`; while NOSPACE is active, Put,
  // Txn with a put and LeaseGrant fail with ErrNoSpace (etcd's
  // applierV3Capped); while CORRUPT is, every KV and lease write fails with
  // ErrCorrupt (applierV3Corrupt). `quota_bytes` is --quota-backend-bytes:
  // a Put, Txn or LeaseGrant that does not fit is still applied but
  // answered ErrNoSpace (etcd's quotaApplierV3), and NOSPACE raised.
  Applier(mvcc::Store& store, Leases& leases, auth::AuthStore& auth, AlarmStore& alarms,
          uint64_t quota_bytes, raftpb::ConfState conf_state, serverpb::Members members,
          int max_learners, WaitRegistry<ApplyResult>& waiters, Hooks hooks, Logger& logger);
  ~Applier();  // Stop()s

  void Start();
  // Applies what is queued, then stops the thread.
  void Stop();

  // Queues committed entries (in log order) for application.
  void Enqueue(std::vector<raftpb::Entry> entries);

  // Queues a snapshot from the leader: before any entry queued after it is
  // applied, the backend is replaced with the snapshot's file
  // (Hooks::snapshot_path), synced, and the file removed; the member list and
  // ConfState are reloaded from it. Entries queued before it are older than
  // it and are skipped. A file that cannot be installed stops the process,
  // as a failed apply does.
  void EnqueueSnapshot(raftpb::Snapshot snap);

  // The ConfState as of the last applied entry; apply thread only (for
  // snapshots taken from the applied hook).
  const raftpb::ConfState& ConfState() const { return conf_state_; }

  // The index of the last applied entry.
  uint64_t AppliedIndex() const { return applied_.load(); }

  // The member list as of the last applied entry.
  serverpb::Members Members() const;

  // Blocks until the applied index reaches `index` or `deadline` passes.
  // Returns whether it was reached.
  bool WaitApplied(uint64_t index, std::chrono::steady_clock::time_point deadline);

 private:
  void Run();
  // Both return false after a fatal error (reported through Hooks::fatal).
  bool ApplyBatch(std::vector<raftpb::Entry>& batch);
  bool InstallSnapshot(const raftpb::Snapshot& snap);
  // After a batch committed at `index`: tells the watchers, publishes the
  // applied index and the member list, answers the proposers, runs
  // Hooks::applied.
  void Publish(const mvcc::Store::WriteTxn& txn, bool prev_kv, uint64_t index, bool members_changed,
               std::vector<std::pair<uint64_t, ApplyResult>> results);
  // Reports a fatal error; the loop stops.
  void Fail(std::string_view what, const Status& cause);
  ApplyResult ApplyNormal(mvcc::Store::WriteTxn& txn, const raftpb::Entry& e, uint64_t* id);
  // Applies a decoded request of Raft index `index`, its checks passed.
  ApplyResult ApplyRequest(mvcc::Store::WriteTxn& txn, const serverpb::InternalRequest& req,
                           uint64_t index);
  // Validates and applies a ConfChange entry to the member list and the
  // ConfState (both stored in `txn`), reports the decision to
  // Hooks::conf_change, and returns the member list or the refusal.
  // A member list that cannot be stored is fatal: `*fatal` is set to why.
  ApplyResult ApplyConfChange(mvcc::Store::WriteTxn& txn, const raftpb::ConfChange& cc,
                              Status* fatal);
  Status ApplyPublish(mvcc::Store::WriteTxn& txn, const serverpb::Member& attrs);
  // etcd's applierV3Capped / applierV3Corrupt: the error an active alarm
  // refuses `req` with, or Ok.
  Status CheckAlarms(const serverpb::InternalRequest& req) const;
  // etcd's applierV3backend.Alarm.
  ApplyResult ApplyAlarm(mvcc::Store::WriteTxn& txn, const etcdserverpb::AlarmRequest& req);
  // etcd's authApplierV3 checks of a KV or lease request from `who`.
  Status CheckPermission(const auth::AuthInfo& who, const serverpb::InternalRequest& req) const;
  // Applies an Auth request (Raft index `index`).
  ApplyResult ApplyAuth(mvcc::Store::WriteTxn& txn, const serverpb::InternalRequest& req,
                        uint64_t index);

  mvcc::Store& store_;
  Leases& leases_;
  auth::AuthStore& auth_;
  AlarmStore& alarms_;
  const uint64_t quota_bytes_;
  raftpb::ConfState conf_state_;  // apply thread only
  mutable std::mutex members_mu_;
  serverpb::Members members_;  // guarded by members_mu_; written by the apply thread
  const int max_learners_;
  WaitRegistry<ApplyResult>& waiters_;
  Hooks hooks_;
  Logger& logger_;

  std::mutex mu_;
  std::condition_variable cv_;                // new entries, or stop
  std::condition_variable applied_cv_;        // applied_ advanced
  std::vector<raftpb::Entry> queue_;          // guarded by mu_
  std::optional<raftpb::Snapshot> snapshot_;  // guarded by mu_
  bool stop_ = false;                         // guarded by mu_
  std::atomic<uint64_t> applied_{0};
  std::thread thread_;
};

// The backend bytes a request may add, as etcd's quota (etcdserver/quota.go)
// charges them: a put its key, value and 256; a txn the larger of its
// branches' direct puts; a lease grant 64; anything else 0.
uint64_t QuotaCost(const serverpb::InternalRequest& req);

// Key of the serialized raftpb::ConfState in the backend's meta space.
inline constexpr char kConfStateMetaKey[] = "confstate";
// Key of the serialized serverpb::Members in the backend's meta space.
inline constexpr char kMembersMetaKey[] = "members";

}  // namespace etcdd::server
