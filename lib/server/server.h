// EtcdServer: one etcdd member. It owns the backend (MVCC store), the Raft
// loop with its WAL, and the apply loop, and serves the KV, Maintenance and
// Cluster requests the gRPC layer hands it (DESIGN.md §3):
//
//   writes    -> validated, proposed through Raft, answered once applied;
//   reads     -> linearizable via ReadIndex (wait until applied reaches the
//                confirmed commit index), or serializable from local state.
//
// Response headers carry cluster_id, member_id, revision and raft_term, as
// etcd's do. Errors carry etcd's messages and gRPC codes.
//
// Thread-safety: all request methods may be called concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "auth/store.h"
#include "base/file.h"
#include "base/log.h"
#include "base/status.h"
#include "etcdserverpb/rpc.pb.h"
#include "mvcc/store.h"
#include "server/alarms.h"
#include "server/applier.h"
#include "server/config.h"
#include "server/etcd_snapshot.h"
#include "server/fatal.h"
#include "server/leases.h"
#include "server/raft_node.h"
#include "server/wait.h"
#include "serverpb/internal.pb.h"
#include "snap/snapshot_dir.h"
#include "transport/transport.h"
#include "watch/watch_hub.h"

namespace etcdd::server {

// etcd's version that etcdd is wire-compatible with; clients gate features on
// the version Maintenance.Status reports.
inline constexpr char kEtcdApiVersion[] = "3.4.23";

class EtcdServer {
 public:
  // Opens the member's data dir (creating a new cluster from
  // --initial-cluster when it has no WAL, or restarting from the WAL and the
  // backend when it does) and starts the Raft and apply loops. Errors:
  // FailedPrecondition for a data dir in use or a configuration this build
  // cannot serve, DataLoss for a corrupt WAL or backend, IOError.
  //
  // `on_removed` is called (once, from an internal thread) when this member
  // learns it was removed from the cluster; etcd then stops the member.
  static Result<std::unique_ptr<EtcdServer>> Start(const ServerConfig& cfg, Logger& logger,
                                                   std::function<void()> on_removed = {});
  ~EtcdServer();  // Stop()s

  // Blocks until this member has a leader, has applied every entry committed
  // before now (a ReadIndex round succeeded) and has published its name and
  // client URLs through Raft (etcd's publish), or `timeout` passes.
  // Errors: Unavailable "etcdserver: request timed out".
  Status WaitReady(std::chrono::milliseconds timeout);

  // The first fatal error (server/fatal.h), with etcd's message as its
  // context; Ok while the member is healthy. Once set, writes fail with it.
  Status FatalError() const { return fatal_.status(); }

  // Stops the loops; in-flight requests fail with "etcdserver: server stopped",
  // and so does a WaitReady in progress. Thread-safe.
  void Stop();

  // Completion callback of an asynchronous request; called exactly once, on
  // the calling thread (an error found before proposing) or on the apply
  // thread, so it must not block.
  template <typename Response>
  using Done = std::function<void(Result<Response>)>;

  // KV service. Errors as etcd's: InvalidArgument for bad requests ("etcdserver:
  // key is not provided", "etcdserver: request is too large", ...), OutOfRange
  // for compacted/future revisions, ResourceExhausted when the backend quota
  // (--quota-backend-bytes) would be exceeded ("etcdserver: mvcc: database
  // space exceeded"; this member then raises its NOSPACE alarm first, as
  // etcd's quotaKVServer does) or while a NOSPACE alarm is raised (puts and
  // txns with puts; DataLoss "etcdserver: corrupt cluster" for every write
  // while CORRUPT is) or apply lags commit by more than 5000 entries
  // ("etcdserver: too many requests"), Unavailable "etcdserver: request timed
  // out" when no leader commits the request within the request timeout
  // (5 s + 2 x election timeout, as etcd).
  //
  // Range blocks: a linearizable read waits for a ReadIndex round and for the
  // apply loop to reach its index; a serializable one reads at once.
  //
  // `who` is the client (the API layer's Caller): with auth enabled each
  // request is checked against its permissions as etcd checks it (reads
  // here, writes when applied): PermissionDenied "etcdserver: permission
  // denied", InvalidArgument "etcdserver: user name is empty" (no token),
  // "etcdserver: revision of auth store is old" (permissions changed since
  // its token was issued).
  Result<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& req,
                                            const auth::AuthInfo& who = {});
  // Writes go through Raft and answer `done` once applied. A Txn without
  // writes is answered locally, as etcd does (see ReadOnlyTxn), so `done` may
  // run on the calling thread after a ReadIndex wait.
  void Put(const etcdserverpb::PutRequest& req, Done<etcdserverpb::PutResponse> done,
           const auth::AuthInfo& who = {});
  void DeleteRange(const etcdserverpb::DeleteRangeRequest& req,
                   Done<etcdserverpb::DeleteRangeResponse> done, const auth::AuthInfo& who = {});
  void Txn(const etcdserverpb::TxnRequest& req, Done<etcdserverpb::TxnResponse> done,
           const auth::AuthInfo& who = {});
  // Compaction; with `physical` set or not, `done` is called once the
  // compaction is applied, which in etcdd includes removing old revisions.
  // Any client may compact, as in etcd 3.4.
  void Compact(const etcdserverpb::CompactionRequest& req,
               Done<etcdserverpb::CompactionResponse> done, const auth::AuthInfo& who = {});

  // Lease service (etcd's v3rpc LeaseServer over EtcdServer). Grant and
  // Revoke go through Raft. Grant assigns a positive id when the request has
  // none (etcd's reqIDGen); the TTL is raised to the minimum lease TTL (1.5 x
  // election timeout, in whole seconds). Errors: FailedPrecondition
  // "etcdserver: lease already exists", OutOfRange "etcdserver: too large
  // lease TTL", NotFound "etcdserver: requested lease not found" (Revoke),
  // and Propose's errors (a Grant costs 64 bytes of quota and is refused
  // while NOSPACE is raised, as a put is).
  // With auth on, revoking needs write permission on every key attached to
  // the lease (etcd's checkLeasePuts); `who` as for Put.
  void LeaseGrant(const etcdserverpb::LeaseGrantRequest& req,
                  Done<etcdserverpb::LeaseGrantResponse> done, const auth::AuthInfo& who = {});
  void LeaseRevoke(const etcdserverpb::LeaseRevokeRequest& req,
                   Done<etcdserverpb::LeaseRevokeResponse> done, const auth::AuthInfo& who = {});
  // One keep-alive: the leader renews the lease, after applying everything
  // committed so far; a follower forwards the renewal to the leader over the
  // peer transport and retries on a leader change until `deadline` (etcd's
  // LeaseRenew). The response carries the header as of before the renewal
  // and TTL in seconds, 0 for a lease that does not exist (etcd's answer).
  // Errors: Unavailable "etcdserver: request timed out".
  Result<etcdserverpb::LeaseKeepAliveResponse> LeaseRenew(
      int64_t id, std::chrono::steady_clock::time_point deadline);
  // Remaining TTL (seconds) and granted TTL as the leader's lessor knows them
  // (forwarded like LeaseRenew), with the keys if asked; TTL -1 for a lease
  // that does not exist (etcd's answer). Errors: as LeaseRenew.
  Result<etcdserverpb::LeaseTimeToLiveResponse> LeaseTimeToLive(
      const etcdserverpb::LeaseTimeToLiveRequest& req,
      std::chrono::steady_clock::time_point deadline);
  // This member's leases, soonest expiry first (etcd's LeaseLeases reads the
  // local lessor; on a follower, where none expires, they are by id).
  etcdserverpb::LeaseLeasesResponse LeaseLeases() const;

  // Maintenance.Alarm (etcd's EtcdServer.Alarm, v3_server.go): GET (the
  // active alarms of req.alarm, all for NONE; member id ignored), ACTIVATE
  // and DEACTIVATE of (req.memberid, req.alarm), all through Raft; the
  // response lists the alarms got, raised or cleared and carries no header,
  // as etcd's. Deactivating the last NOSPACE (CORRUPT) alarm lifts the
  // refusals it caused on every member. Any client may call it (etcd 3.4
  // checks no permission). Errors: Propose's.
  void Alarm(const etcdserverpb::AlarmRequest& req, Done<etcdserverpb::AlarmResponse> done,
             const auth::AuthInfo& who = {});
  // The active alarms (all types), as Maintenance.Status lists them.
  std::vector<etcdserverpb::AlarmMember> Alarms() const { return alarms_.Get(etcdserverpb::NONE); }

  // Maintenance.Status: version, db size and in-use size (bytes), leader, Raft
  // index/term and applied index, and the active alarms in `errors`, each
  // as gogoproto's String() of AlarmMember ("memberID:<id> alarm:NOSPACE ").
  etcdserverpb::StatusResponse MaintenanceStatus() const;
  // Maintenance.HashKV: etcd's hash of the key space up to `revision` (0:
  // current), for comparing members. Errors: OutOfRange for a compacted or
  // future revision.
  Result<etcdserverpb::HashKVResponse> HashKV(int64_t revision) const;
  // Cluster.MemberList.
  etcdserverpb::MemberListResponse MemberList() const;
  // Maintenance.Snapshot's file: etcd's snapshot format (bbolt + SHA-256,
  // etcd_snapshot.h) of the backend as of now, written to
  // "member/snap/export-<n>.snap.db" (n numbers the exports of this
  // process; leftovers are removed at start). The caller streams it; the
  // file is removed when the returned object is destroyed. Writes continue
  // meanwhile (one LMDB read view). Served by followers too, as etcd does.
  // Errors: IOError naming the file, Corruption of a server record; the
  // file is removed.
  // `cancelled` (may be empty) is polled while the file is written; when it
  // returns true the export stops with Cancelled.
  Result<std::unique_ptr<ExportedEtcdSnapshot>> ExportEtcdSnapshot(
      const std::function<bool()>& cancelled = {});
  // Maintenance.Hash: etcd's backend hash (EtcdBackendHash) of the backend
  // as of now; header.revision is the revision of that state (etcd: the
  // store's current revision), the other header fields FillHeader's.
  // Errors: IOError, Corruption.
  Result<etcdserverpb::HashResponse> BackendHash() const;
  // Maintenance.Defragment: returns the backend's free pages to the
  // filesystem (mvcc::Store::Defragment) while reads and writes go on; this
  // member only, as etcd's backend.Defrag. The response is empty, as etcd
  // 3.4's (v3rpc/maintenance.go). Logs etcd's "defragmenting" and
  // "defragmented" lines (sizes before and after, took) plus how long writes
  // were held off. Errors: those of Store::Defragment.
  Result<etcdserverpb::DefragmentResponse> Defragment();

  // Cluster membership changes, proposed through Raft; each returns once the
  // change is applied here, with the member list after it. Errors are
  // etcd's: InvalidArgument "etcdserver: given member URLs are invalid",
  // NotFound "etcdserver: member not found", FailedPrecondition "etcdserver:
  // Peer URLs already exists" / "... member ID already exist" / "... too many
  // learner members in cluster" / "... re-configuration failed due to not
  // enough started members" (the strict reconfig check, as etcd's
  // mayAddMember/mayRemoveMember/mayPromoteMember, with
  // --strict-reconfig-check), Unavailable "etcdserver: unhealthy cluster" when
  // a voter is not connected, Unavailable "etcdserver: request timed out".
  // Blocks up to the request timeout.
  Result<etcdserverpb::MemberAddResponse> MemberAdd(const etcdserverpb::MemberAddRequest& req);
  Result<etcdserverpb::MemberRemoveResponse> MemberRemove(
      const etcdserverpb::MemberRemoveRequest& req);
  Result<etcdserverpb::MemberUpdateResponse> MemberUpdate(
      const etcdserverpb::MemberUpdateRequest& req);
  // Promotion is decided by the leader, which checks that the learner's log
  // is within 90% of its own (etcd's isLearnerReady; else FailedPrecondition
  // "etcdserver: can only promote a learner member which is in sync with
  // leader"); a follower forwards the request to the leader's client URL.
  Result<etcdserverpb::MemberPromoteResponse> MemberPromote(
      const etcdserverpb::MemberPromoteRequest& req);

  // Maintenance.MoveLeader: on the leader, transfers leadership to the voter
  // `transferee` and waits until it leads or `deadline` passes. Errors:
  // FailedPrecondition "etcdserver: not leader" on a follower, "etcdserver:
  // bad leader transferee" for a learner or unknown member; Unknown
  // "etcdserver: request timed out, leader transfer took too long".
  Result<etcdserverpb::MoveLeaderResponse> MoveLeader(
      uint64_t transferee, std::chrono::steady_clock::time_point deadline);

  // On the leader of a multi-voter cluster, hands leadership to the voter
  // with the most log that is connected, and waits up to the request timeout
  // (etcd's TransferLeadership on Stop). Logs the outcome; a no-op otherwise.
  void TransferLeadershipForStop();

  // The Auth service's writes and reads (etcd 3.4 orders both through the
  // log): `req` has one of its Auth fields set, passwords already hashed
  // (auth::AuthStore::HashPassword); it is proposed from `who` and `done`
  // gets the Auth*Response once applied. Errors: the auth store's (etcd's
  // rpctypes), and Propose's.
  template <typename Response>
  void ProposeAuth(serverpb::InternalRequest req, const auth::AuthInfo& who, Done<Response> done);
  // The auth store: tokens, password checks, permission checks.
  auth::AuthStore& auth_store() const { return *auth_; }
  // Blocks until everything committed before now is applied (a ReadIndex
  // round), as etcd's Authenticate does first. Errors: Unavailable
  // "etcdserver: request timed out".
  Status WaitLinearizable() {
    return WaitLinearizable(std::chrono::steady_clock::now() + RequestTimeout());
  }
  const ServerConfig& config() const { return cfg_; }
  // Blocks until this member has applied `index` or `deadline` passes;
  // returns whether it has.
  bool WaitApplied(uint64_t index, std::chrono::steady_clock::time_point deadline) const {
    return applier_->WaitApplied(index, deadline);
  }

  // Fills cluster_id, member_id, raft_term and the current revision, as
  // etcd's response headers carry them.
  void FillHeader(etcdserverpb::ResponseHeader* h) const;

  // Sets (or, with an empty function, clears) what runs when this member
  // loses its leader (lead 0): the client layer ends the watch streams that
  // asked for a leader, as etcd's monitorLeader does. Runs on the Raft loop
  // thread; must not block.
  void SetLeaderLostHook(std::function<void()> hook);

  // The watchers of this member's key space (the Watch service and the
  // Lock/Election recipes register theirs here).
  watch::WatchHub& watch_hub() { return *watch_hub_; }

  uint64_t member_id() const { return member_id_; }
  // The current leader's member id; 0 while there is none.
  uint64_t leader() const { return raft_->Lead(); }
  // Whether this member is a learner (as of the last applied change).
  bool is_learner() const { return is_learner_.load(); }
  uint64_t cluster_id() const { return cluster_id_; }

 private:
  EtcdServer(const ServerConfig& cfg, Logger& logger, std::function<void()> on_removed)
      : cfg_(cfg), logger_(logger), on_removed_(std::move(on_removed)) {}

  // Bootstrap (bootstrap.cc). Open: locks the data dir, opens the backend,
  // loads or creates the Raft log, builds the Raft node and starts the loops.
  Status Open();
  // The lessor, the MVCC store (the backend) in the data dir and the alarms.
  Status OpenBackend();
  // etcd's NewBackendQuota log lines about --quota-backend-bytes.
  void LogQuota() const;
  // Proposes this member's NOSPACE alarm (etcd's quotaAlarmer.check and
  // applyEntryNormal) unless it is active or already being proposed, and
  // calls `done` once it is applied (at once if nothing is proposed).
  void RaiseNoSpace(Done<etcdserverpb::AlarmResponse> done);
  // What LoadRaftLog found or created.
  struct RaftLog {
    bool restart = false;  // the WAL existed
    std::unique_ptr<wal::Wal> wal;
    raftpb::ConfState conf_state;  // as of the backend (restart only)
    serverpb::Members members;     // the peers to connect to at start
  };
  // Restart from the WAL (and check the peers are this member's cluster),
  // join a running cluster (--initial-cluster-state=existing), or bootstrap
  // a new one; fills `storage` with the log after the backend's index.
  Result<RaftLog> LoadRaftLog(raft::MemoryStorage& storage);
  // The Raft node over `storage`; a new cluster's log starts with its
  // configuration entries (and `members` with --initial-cluster's).
  Result<std::unique_ptr<raft::RawNode>> NewRaftNode(
      const std::shared_ptr<raft::MemoryStorage>& storage, serverpb::Members* members);
  // Wires the watch hub, the apply loop, the Raft loop and the transport, and
  // starts the threads.
  Status StartLoops(std::unique_ptr<raft::RawNode> node,
                    std::shared_ptr<raft::MemoryStorage> storage, RaftLog log);
  // What the apply loop tells the rest of the member.
  Applier::Hooks ApplierHooks();
  // A new cluster: the members of --initial-cluster, with etcd's ids.
  Status Bootstrap(std::unique_ptr<wal::Wal>* wal, serverpb::Members* members);
  // --initial-cluster-state=existing: learns the cluster id and this
  // member's id from a running member (it must have been added already).
  Status Join(std::unique_ptr<wal::Wal>* wal, serverpb::Members* members);
  // Restart: asks the other members named in --initial-cluster (in parallel,
  // 1 s each) for their cluster id; FailedPrecondition if one that answers
  // belongs to another cluster than this data dir. Members that do not
  // answer are not a problem (a whole cluster restarts together).
  Status CheckSameCluster() const;
  // Brings the transport's peers in line with `members` (all but this one).
  void SyncPeers(const serverpb::Members& members);
  // Applier hook: the member list changed.
  void OnMembersChanged(const serverpb::Members& members);
  // This member was removed (it applied its removal, or a peer refused it):
  // logs it and calls on_removed_, once.
  void OnRemoved();
  // Proposes `cc` (its id set here) and waits until it is applied.
  Result<serverpb::Members> ProposeConfChange(raftpb::ConfChange cc,
                                              const serverpb::ConfChangeContext& ctx);
  // etcd's mayAddMember / mayRemoveMember / mayPromoteMember.
  Status CheckStrictReconfig(raftpb::ConfChangeType type, uint64_t id) const;
  // The leader's check that learner `id` is in sync (etcd's isLearnerReady).
  Status CheckLearnerReady(uint64_t id);
  // Forwards a promotion to the leader's client URL.
  Result<etcdserverpb::MemberPromoteResponse> ForwardPromote(
      const etcdserverpb::MemberPromoteRequest& req);
  // A response's member list, from `members`, sorted by id as etcd's.
  static void FillMembers(const serverpb::Members& members,
                          google::protobuf::RepeatedPtrField<etcdserverpb::Member>* out);
  // Restart: opens the WAL from the marker the backend covers and fills
  // `storage` with the entries after the backend's consistent index.
  Status Restart(raft::MemoryStorage& storage, std::unique_ptr<wal::Wal>* wal,
                 raftpb::ConfState* conf_state);
  // The member list stored in the backend.
  Result<serverpb::Members> LoadMembers() const;
  // Registers a waiter for request `id`, calls `propose`, and waits for the
  // apply result until `deadline` (then Unavailable "etcdserver: request
  // timed out"); returns even if the server stops meanwhile.
  ApplyResult ProposeAndWait(uint64_t id, std::chrono::steady_clock::time_point deadline,
                             const std::function<void()>& propose);
  // Proposes this member's name and client URLs (etcd's publish) and waits
  // until applied or `deadline`.
  Status Publish(std::chrono::steady_clock::time_point deadline);
  // Listens on the peer URLs and connects to the other members.
  Status StartTransport(const serverpb::Members& members);

  // Snapshots (DESIGN.md §3, lib/snap/FORMAT.md): the backend is the state
  // machine's snapshot; snap_dir_ holds the copies sent and received.
  // Applied hook: every --snapshot-count applied entries, syncs the backend
  // and records a Raft snapshot at the applied index (RaftNode::CreateSnapshot).
  void MaybeSnapshot(uint64_t applied);
  // Message sink: MsgSnap goes to the snapshot sender, the rest to the peers.
  void SendMessages(std::vector<raftpb::Message> msgs);
  // The snapshot sender thread: for each MsgSnap, copies the backend to a
  // file, sets the message's metadata to the copy's index, term and
  // ConfState, streams the file and reports the outcome to Raft.
  void RunSnapshotSender();
  Status SendSnapshot(raftpb::Message msg);
  // Transport handler: checks a snapshot file received from the leader (its
  // index must be the message's) and steps its MsgSnap; the apply loop
  // installs it. Errors: DataLoss for a file that is not a backend copy at
  // that index (the file is removed).
  Status ReceiveSnapshot(const raftpb::Message& msg, const std::string& path);
  // Restart: installs a received snapshot the WAL recorded but the backend
  // does not hold yet, and picks the WAL marker to replay from.
  Result<wal::SnapshotMarker> PrepareRestart();

  // Leases (server_lease.cc). The leader's lease loop: every 500 ms, proposes
  // revokes of expired leases and due checkpoints (etcd's lessor runLoop).
  void RunLeaseLoop();
  // Raft loop hook: this member became leader (the lessor becomes primary,
  // extending every lease by the election timeout) or stopped being it.
  void OnLeaderChanged(uint64_t lead);
  // The leader's answers to LeaseRenew / LeaseTimeToLive, after applying
  // what is committed. Errors: FailedPrecondition lease::kErrNotPrimary when
  // this member is not the primary; NotFound for an unknown lease.
  Result<etcdserverpb::LeaseKeepAliveResponse> RenewOnLeader(
      int64_t id, std::chrono::steady_clock::time_point deadline);
  Result<etcdserverpb::LeaseTimeToLiveResponse> TimeToLiveOnLeader(
      const etcdserverpb::LeaseTimeToLiveRequest& req,
      std::chrono::steady_clock::time_point deadline);
  // Runs `local` on the leader, or forwards `forwarded` to it, until an
  // answer other than "not leader" or `deadline` (etcd's forwarding loop).
  Result<std::string> OnLeader(const serverpb::Forwarded& forwarded,
                               const std::function<Result<std::string>()>& local,
                               std::chrono::steady_clock::time_point deadline);
  // Transport hook: a request forwarded by a follower.
  Result<std::string> HandleForwarded(const std::string& request,
                                      std::chrono::steady_clock::time_point deadline);

  // Assigns `req` its id, checks its size, the quota (raising NOSPACE when
  // it does not fit) and the apply backlog, proposes it, and calls `done`
  // with its apply result.
  // A client request carries `who` in its auth header; the member's own
  // (lease expiry, checkpoints) pass nullptr and are not checked.
  template <typename Response>
  void Propose(serverpb::InternalRequest& req, Done<Response> done,
               const auth::AuthInfo* who = nullptr);
  // etcd serves a Txn without writes locally (v3_server.go): at once if all
  // its ranges are serializable, else after a ReadIndex round. Blocks.
  Result<etcdserverpb::TxnResponse> ReadOnlyTxn(const etcdserverpb::TxnRequest& req,
                                                const auth::AuthInfo& who);
  // etcd's doSerialize check after a local read: ErrAuthOldRevision if the
  // permissions changed since `who`'s token was issued.
  Status CheckAuthUnchanged(const auth::AuthInfo& who) const;
  // Waits for a ReadIndex round and for the apply loop to reach its index.
  Status WaitLinearizable(std::chrono::steady_clock::time_point deadline);
  template <typename Response>
  Result<Response> Unwrap(ApplyResult r) const;
  std::chrono::milliseconds RequestTimeout() const;

  const ServerConfig cfg_;
  const snap::SnapshotDir snap_dir_{cfg_.MemberDir() + "/snap"};
  Logger& logger_;
  FatalLatch fatal_{cfg_.on_fatal, logger_};
  // Raft and apply loop hook: latches the error, hands it to
  // cfg_.on_fatal and fails every waiting proposal with it.
  void OnFatal(std::string_view what, const Status& cause);
  wal::Options WalOptions() const { return {cfg_.wal_segment_bytes, cfg_.env}; }
  const std::function<void()> on_removed_;
  std::once_flag removed_once_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> is_learner_{false};
  uint64_t last_snapshot_index_ = 0;  // apply thread after Open
  std::mutex snap_mu_;
  std::condition_variable snap_cv_;
  std::vector<raftpb::Message> snap_queue_;  // guarded by snap_mu_
  bool snap_stop_ = false;                   // guarded by snap_mu_
  uint64_t snapshots_sent_ = 0;              // snapshot sender thread only
  std::thread snap_sender_;
  std::mutex leader_lost_mu_;
  std::function<void()> leader_lost_;  // guarded by leader_lost_mu_
  std::mutex lease_loop_mu_;
  std::condition_variable lease_loop_cv_;
  bool lease_loop_stop_ = false;  // guarded by lease_loop_mu_
  std::thread lease_loop_;
  std::mutex peers_mu_;
  std::map<uint64_t, std::vector<std::string>> peers_;  // guarded by peers_mu_
  std::optional<DirLock> lock_;
  uint64_t member_id_ = 0;
  uint64_t cluster_id_ = 0;
  std::atomic<uint64_t> next_request_id_{0};
  std::atomic<bool> raising_no_space_{false};  // RaiseNoSpace's proposal is in flight
  AlarmStore alarms_;
  std::atomic<uint64_t> next_export_{0};  // numbers ExportEtcdSnapshot's files
  WaitRegistry<ApplyResult> waiters_;
  // Destruction order matters: the loops stop before the store closes, and
  // the store (which asks whether leases exist) closes before the leases.
  std::unique_ptr<Leases> leases_;
  std::unique_ptr<auth::AuthStore> auth_;
  std::unique_ptr<mvcc::Store> store_;
  std::unique_ptr<watch::WatchHub> watch_hub_;
  std::unique_ptr<Applier> applier_;
  std::unique_ptr<RaftNode> raft_;
  // Declared last: stopped first, so no peer message reaches a stopped loop.
  std::unique_ptr<transport::Transport> transport_;
};

}  // namespace etcdd::server
