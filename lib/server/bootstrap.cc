// Bootstrap: how a member comes up (etcd 3.6's etcdserver/bootstrap.go).
//
// Open is a short list of steps: lock the data dir; open the backend and the
// leases; find out which of the three ways this member starts (restart from
// its WAL, join a running cluster, or create a new cluster from
// --initial-cluster) and load or create the Raft log accordingly; build the
// Raft node; wire the watch hub, the apply loop and the Raft loop; listen to
// the peers; start the loops.
#include <pthread.h>

#include <future>
#include <random>

#include "base/go_text.h"
#include "server/ids.h"
#include "server/membership.h"
#include "server/server.h"

namespace etcdd::server {

Status EtcdServer::Open() {
  RETURN_IF_ERROR(CreateDirs(cfg_.MemberDir()).Annotate("cannot access data directory"));
  ASSIGN_OR_RETURN(DirLock lock, DirLock::Acquire(cfg_.data_dir));
  lock_.emplace(std::move(lock));
  RETURN_IF_ERROR(OpenBackend());
  auto storage = std::make_shared<raft::MemoryStorage>();
  ASSIGN_OR_RETURN(RaftLog log, LoadRaftLog(*storage));
  const bool restart = log.restart;
  // After a restart, which may have installed a snapshot received before a
  // crash into the backend.
  RETURN_IF_ERROR(leases_->Recover(*store_));
  ASSIGN_OR_RETURN(auto node, NewRaftNode(storage, &log.members));
  RETURN_IF_ERROR(StartLoops(std::move(node), storage, std::move(log)));
  logger_.Info(restart ? "restarting local member" : "starting local member",
               {{"local-member-id", IdToHex(member_id_)},
                {"cluster-id", IdToHex(cluster_id_)},
                {"data-dir", cfg_.data_dir},
                {"consistent-index", store_->ConsistentIndex()}});
  return Status::Ok();
}

void EtcdServer::LogQuota() const {
  // etcd's MaxQuotaBytes: the largest quota it recommends.
  constexpr uint64_t kMaxQuotaBytes = 8ull << 30;
  constexpr std::string_view kQuotaName = "v3-applier";
  const uint64_t quota = cfg_.QuotaBytes();
  if (cfg_.quota_backend_bytes == 0) {
    logger_.Info("enabled backend quota with default value",
                 {{"quota-name", kQuotaName},
                  {"quota-size-bytes", quota},
                  {"quota-size", HumanizeBytes(quota)}});
    return;
  }
  if (cfg_.quota_backend_bytes > kMaxQuotaBytes) {
    logger_.Warn("quota exceeds the maximum value",
                 {{"quota-name", kQuotaName},
                  {"quota-size-bytes", quota},
                  {"quota-size", HumanizeBytes(quota)},
                  {"quota-maximum-size-bytes", kMaxQuotaBytes},
                  {"quota-maximum-size", HumanizeBytes(kMaxQuotaBytes)}});
  }
  logger_.Info("enabled backend quota",
               {{"quota-name", kQuotaName},
                {"quota-size-bytes", quota},
                {"quota-size", HumanizeBytes(quota)}});
}

Status EtcdServer::OpenBackend() {
  lease::LessorOptions lessor;
  lessor.min_ttl_seconds = lease::MinLeaseTtlSeconds(
      cfg_.ElectionTicks(), std::chrono::milliseconds(cfg_.heartbeat_interval_ms));
  lessor.checkpointing_enabled = cfg_.lease_checkpoint;
  lessor.checkpoint_interval = cfg_.lease_checkpoint_interval;
  leases_ = std::make_unique<Leases>(lessor);
  mvcc::Options opts;
  opts.lease_exists = [this](int64_t id) { return leases_->Exists(id); };
  opts.env = cfg_.env;
  // The quota is enforced before proposing (see Propose) and by the capped
  // applier while NOSPACE is raised, as etcd does; the map has room above
  // it so that entries already committed (applied even past the quota, as
  // etcd's quotaApplierV3 does) always apply.
  opts.map_size_bytes = cfg_.QuotaBytes() + std::max<uint64_t>(cfg_.QuotaBytes() / 4, 64 << 20);
  ASSIGN_OR_RETURN(store_, mvcc::Store::Open(cfg_.BackendDir(), opts));
  ASSIGN_OR_RETURN(auto tokens, auth::NewTokenProvider(cfg_.auth_token,
                                                       std::chrono::seconds(cfg_.auth_token_ttl)));
  ASSIGN_OR_RETURN(auth_, auth::AuthStore::Open(*store_, std::move(tokens), cfg_.bcrypt_cost));
  RETURN_IF_ERROR(alarms_.Reload(*store_));
  LogQuota();
  return Status::Ok();
}

Result<EtcdServer::RaftLog> EtcdServer::LoadRaftLog(raft::MemoryStorage& storage) {
  RaftLog log;
  log.restart = wal::Wal::Exists(cfg_.WalDir());
  if (log.restart) {
    RETURN_IF_ERROR(Restart(storage, &log.wal, &log.conf_state));
    RETURN_IF_ERROR(CheckSameCluster());
    ASSIGN_OR_RETURN(log.members, LoadMembers());
  } else if (cfg_.initial_cluster_state == "existing") {
    RETURN_IF_ERROR(Join(&log.wal, &log.members));
  } else {
    RETURN_IF_ERROR(Bootstrap(&log.wal, &log.members));
  }
  return log;
}

Result<std::unique_ptr<raft::RawNode>> EtcdServer::NewRaftNode(
    const std::shared_ptr<raft::MemoryStorage>& storage, serverpb::Members* members) {
  raft::Config rc;
  rc.id = member_id_;
  rc.election_tick = cfg_.ElectionTicks();
  rc.heartbeat_tick = 1;
  rc.storage = storage.get();
  rc.applied = store_->ConsistentIndex();
  rc.random_seed = std::random_device()();
  // RaftNode announces a commit no proposal carried within
  // RaftNode::Options::commit_announce_delay (WRITE_PATH.md).
  rc.defer_commit_announcement = true;
  ASSIGN_OR_RETURN(auto node, raft::RawNode::Create(rc));
  // A new cluster's members (also one that crashed after creating its WAL
  // but before saving the bootstrap entries) start their log with the
  // configuration, each entry carrying the member's attributes. A joining
  // member starts empty and receives the log from the leader.
  if (storage->LastIndex() == 0 && cfg_.initial_cluster_state == "new") {
    uint64_t unused;
    serverpb::Members initial =
        InitialClusterMembers(cfg_.initial_cluster, cfg_.initial_cluster_token, &unused);
    std::vector<uint64_t> voters;
    std::vector<std::string> contexts;
    for (const auto& m : initial.members()) {
      voters.push_back(m.id());
      serverpb::ConfChangeContext ctx;
      *ctx.mutable_member() = m;
      ctx.mutable_member()->clear_client_urls();  // published once ready
      contexts.push_back(ctx.SerializeAsString());
    }
    RETURN_IF_ERROR(node->Bootstrap(voters, contexts));
    if (members->members_size() == 0) *members = initial;
  }
  return node;
}

Status EtcdServer::StartLoops(std::unique_ptr<raft::RawNode> node,
                              std::shared_ptr<raft::MemoryStorage> storage, RaftLog log) {
  watch::WatchHubOptions watch_options;
  watch_options.progress_notify_interval = cfg_.watch_progress_notify_interval;
  watch_hub_ = std::make_unique<watch::WatchHub>(*store_, watch_options, logger_);
  ASSIGN_OR_RETURN(serverpb::Members applied_members, LoadMembers());
  const serverpb::Member* self = FindMember(applied_members, member_id_);
  is_learner_ = self != nullptr && self->is_learner();
  applier_ = std::make_unique<Applier>(*store_, *leases_, *auth_, alarms_, cfg_.QuotaBytes(),
                                       log.conf_state, applied_members, cfg_.max_learners, waiters_,
                                       ApplierHooks(), logger_);
  RaftNode::Options ro{cfg_.heartbeat_interval_ms, cfg_.ElectionTicks(),
                       static_cast<int>(RequestTimeout().count()), nullptr};
  ro.on_fatal = [this](std::string_view what, const Status& s) { OnFatal(what, s); };
  // transport_ is set below, before the loop thread starts.
  raft_ = std::make_unique<RaftNode>(
      std::move(node), std::move(storage), std::move(log.wal), ro,
      [this](std::vector<raftpb::Message> m) { SendMessages(std::move(m)); },
      [this](std::vector<raftpb::Entry> e) { applier_->Enqueue(std::move(e)); },
      [this](const raftpb::Snapshot& snap) { applier_->EnqueueSnapshot(snap); },
      [this](uint64_t lead) { OnLeaderChanged(lead); }, logger_);
  last_snapshot_index_ = store_->ConsistentIndex();
  snap_sender_ = std::thread([this] { RunSnapshotSender(); });
  RETURN_IF_ERROR(StartTransport(log.members));
  // Request ids, as etcd's idutil generator makes them: the low 16 bits of
  // the member id, then the start-up time in ms (40 bits) and a counter (8
  // bits), so that ids differ between members (every member's apply loop
  // answers waiters by id) and increase across restarts.
  const uint64_t now_ms =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  next_request_id_ = ((member_id_ & 0xffff) << 48) | ((now_ms & ((1ull << 40) - 1)) << 8);
  watch_hub_->Start();
  applier_->Start();
  RETURN_IF_ERROR(StartCompactor());
  raft_->Start();
  lease_loop_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "etcdd-lease");
    RunLeaseLoop();
  });
  return Status::Ok();
}

Applier::Hooks EtcdServer::ApplierHooks() {
  Applier::Hooks hooks;
  hooks.applied = [this](uint64_t applied) { MaybeSnapshot(applied); };
  hooks.events_need_prev_kv = [this] { return watch_hub_->WantsPrevKv(); };
  hooks.committed = [this](const std::vector<mvccpb::Event>& events, int64_t revision,
                           bool with_prev_kv) {
    watch_hub_->Notify(events, revision, with_prev_kv);
  };
  hooks.restored = [this] { watch_hub_->Restored(); };
  hooks.no_space = [this] {
    logger_.Warn("message exceeded backend quota; raising alarm",
                 {{"quota-size-bytes", cfg_.QuotaBytes()}, {"error", ErrNoSpace().message()}});
    RaiseNoSpace([](Result<etcdserverpb::AlarmResponse>) {});
  };
  hooks.snapshot_path = [this](uint64_t index) { return snap_dir_.ReceivedPath(index); };
  hooks.conf_change = [this](raftpb::ConfChange cc) { raft_->ConfChangeApplied(std::move(cc)); };
  hooks.members_changed = [this](const serverpb::Members& m) { OnMembersChanged(m); };
  hooks.fatal = [this](std::string_view what, const Status& s) { OnFatal(what, s); };
  return hooks;
}

Status EtcdServer::Bootstrap(std::unique_ptr<wal::Wal>* wal, serverpb::Members* members) {
  *members = InitialClusterMembers(cfg_.initial_cluster, cfg_.initial_cluster_token, &cluster_id_);
  for (const auto& m : members->members()) {
    if (m.name() == cfg_.name) member_id_ = m.id();
  }
  serverpb::WalMetadata meta;
  meta.set_member_id(member_id_);
  meta.set_cluster_id(cluster_id_);
  ASSIGN_OR_RETURN(
      *wal, wal::Wal::Create(cfg_.WalDir(), meta.SerializeAsString(), logger_, WalOptions()));
  return Status::Ok();
}

Status EtcdServer::CheckSameCluster() const {
  std::vector<std::pair<std::string, std::future<Result<transport::ClusterInfo>>>> asks;
  for (const auto& [name, urls] : cfg_.initial_cluster) {
    if (name == cfg_.name) continue;
    std::vector<std::string> peer_urls;
    for (const auto& u : urls) peer_urls.push_back(u.ToString());
    asks.emplace_back(peer_urls.front(), std::async(std::launch::async, [this, peer_urls] {
                        return transport::Transport::FetchClusterInfo(
                            peer_urls, std::chrono::seconds(1), cfg_.peer_tls);
                      }));
  }
  for (auto& [url, ask] : asks) {
    auto info = ask.get();
    if (!info.ok() || info->cluster_id == cluster_id_) continue;
    return Status::FailedPrecondition(
        "data dir " + cfg_.data_dir + " belongs to cluster " + IdToHex(cluster_id_) +
        ", but the member at " + url + " is in cluster " + IdToHex(info->cluster_id) +
        "; to join that cluster, remove this data dir and start the member with "
        "--initial-cluster-state=existing after `member add`");
  }
  return Status::Ok();
}

Status EtcdServer::Join(std::unique_ptr<wal::Wal>* wal, serverpb::Members* members) {
  std::vector<std::string> own, others;
  for (const auto& u : cfg_.initial_advertise_peer_urls) own.push_back(u.ToString());
  for (const auto& [name, urls] : cfg_.initial_cluster) {
    if (name == cfg_.name) continue;
    for (const auto& u : urls) others.push_back(u.ToString());
  }
  if (others.empty()) {
    return Status::FailedPrecondition(
        "--initial-cluster-state=existing: --initial-cluster names no other member to join");
  }
  ASSIGN_OR_RETURN(auto info, transport::Transport::FetchClusterInfo(
                                  others, std::chrono::seconds(2), cfg_.peer_tls));
  if (!members->ParseFromString(info.members)) {
    return Status::Corruption("undecodable member list from the cluster", others.front());
  }
  std::sort(own.begin(), own.end());
  for (const auto& m : members->members()) {
    std::vector<std::string> urls(m.peer_urls().begin(), m.peer_urls().end());
    std::sort(urls.begin(), urls.end());
    if (urls == own) member_id_ = m.id();
  }
  if (member_id_ == 0) {
    return Status::FailedPrecondition(
        "no member of the cluster has this member's peer URLs " +
        cfg_.initial_advertise_peer_urls.front().ToString() +
        "; add it with `member add` before starting it with --initial-cluster-state=existing");
  }
  cluster_id_ = info.cluster_id;
  serverpb::WalMetadata meta;
  meta.set_member_id(member_id_);
  meta.set_cluster_id(cluster_id_);
  ASSIGN_OR_RETURN(
      *wal, wal::Wal::Create(cfg_.WalDir(), meta.SerializeAsString(), logger_, WalOptions()));
  logger_.Info("joining an existing cluster",
               {{"local-member-id", IdToHex(member_id_)}, {"cluster-id", IdToHex(cluster_id_)}});
  return Status::Ok();
}

Status EtcdServer::Restart(raft::MemoryStorage& storage, std::unique_ptr<wal::Wal>* wal,
                           raftpb::ConfState* conf_state) {
  ASSIGN_OR_RETURN(wal::SnapshotMarker from, PrepareRestart());
  ASSIGN_OR_RETURN(auto opened, wal::Wal::Open(cfg_.WalDir(), from, logger_, WalOptions()));
  *wal = std::move(opened.first);
  wal::Contents& c = opened.second;
  serverpb::WalMetadata meta;
  if (!meta.ParseFromString(c.metadata)) {
    return Status::Corruption("undecodable WAL metadata", cfg_.WalDir());
  }
  member_id_ = meta.member_id();
  cluster_id_ = meta.cluster_id();

  ASSIGN_OR_RETURN(auto cs, store_->GetMeta(kConfStateMetaKey));
  if (cs && !conf_state->ParseFromString(*cs)) {
    return Status::Corruption("undecodable conf state", cfg_.BackendDir());
  }
  // The backend is the snapshot: entries up to its consistent index are
  // applied, so Raft starts from there and only later entries are replayed.
  uint64_t applied = store_->ConsistentIndex();
  if (applied > 0) {
    raftpb::Snapshot snap;
    snap.mutable_metadata()->set_index(applied);
    snap.mutable_metadata()->set_term(store_->ConsistentTerm());
    *snap.mutable_metadata()->mutable_conf_state() = *conf_state;
    RETURN_IF_ERROR(storage.ApplySnapshot(snap));
  }
  std::vector<raftpb::Entry> tail;
  for (auto& e : c.entries) {
    if (e.index() > applied) tail.push_back(std::move(e));
  }
  if (!tail.empty() && tail.front().index() != applied + 1) {
    return Status::Corruption("WAL does not continue the backend: backend applied index " +
                                  std::to_string(applied) + ", first WAL entry after it " +
                                  std::to_string(tail.front().index()),
                              cfg_.WalDir());
  }
  if (c.hard_state.commit() < applied) {
    // A HardState that only advanced the commit index is written without an
    // fsync (as etcd's MustSync allows), so after a power loss the WAL may
    // remember less than the backend applied. Applied entries were committed.
    c.hard_state.set_commit(applied);
  }
  RETURN_IF_ERROR(storage.Append(tail));
  RETURN_IF_ERROR(storage.SetHardState(c.hard_state));
  return Status::Ok();
}

}  // namespace etcdd::server
