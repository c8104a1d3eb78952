#include "server/server.h"

#include <future>
#include <random>

#include "mvcc/validate.h"
#include "server/ids.h"
#include "server/membership.h"

namespace etcdd::server {

namespace {
// Committed-but-unapplied entries beyond which new proposals are refused
// (etcd: maxGapBetweenApplyAndCommitIndex).
constexpr uint64_t kMaxApplyGap = 5000;
// Bytes a put is charged beyond its key and value (etcd's quota kvOverhead).
constexpr uint64_t kPutOverheadBytes = 256;

uint64_t TxnCost(const etcdserverpb::TxnRequest& txn) {
  uint64_t cost = 0;
  for (const auto* ops : {&txn.success(), &txn.failure()}) {
    for (const auto& op : *ops) {
      if (op.has_request_put()) {
        cost += op.request_put().key().size() + op.request_put().value().size() + kPutOverheadBytes;
      } else if (op.has_request_txn()) {
        cost += TxnCost(op.request_txn());
      }
    }
  }
  return cost;
}

// The backend bytes a request may add, as etcd's quota counts them: puts
// cost their key, value and overhead; deletes and compactions are free.
uint64_t QuotaCost(const serverpb::InternalRequest& req) {
  if (req.has_put()) return req.put().key().size() + req.put().value().size() + kPutOverheadBytes;
  if (req.has_txn()) return TxnCost(req.txn());
  return 0;
}
}  // namespace

Result<std::unique_ptr<EtcdServer>> EtcdServer::Start(const ServerConfig& cfg, Logger& logger,
                                                      std::function<void()> on_removed) {
  RETURN_IF_ERROR(cfg.Validate());
  std::unique_ptr<EtcdServer> s(new EtcdServer(cfg, logger, std::move(on_removed)));
  RETURN_IF_ERROR(s->Open());
  return s;
}

EtcdServer::~EtcdServer() { Stop(); }

void EtcdServer::Stop() {
  stopped_ = true;
  {
    std::lock_guard lock(snap_mu_);
    snap_stop_ = true;
  }
  snap_cv_.notify_all();
  if (snap_sender_.joinable()) snap_sender_.join();
  {
    std::lock_guard lock(lease_loop_mu_);
    lease_loop_stop_ = true;
  }
  lease_loop_cv_.notify_all();
  if (lease_loop_.joinable()) lease_loop_.join();
  if (transport_) transport_->Stop();
  if (raft_) raft_->Stop();
  if (applier_) applier_->Stop();
  if (watch_hub_) watch_hub_->Stop();
  waiters_.TriggerAll(Status::Unavailable("etcdserver: server stopped"));
}

Status EtcdServer::Open() {
  RETURN_IF_ERROR(CreateDirs(cfg_.MemberDir()).Annotate("cannot access data directory"));
  ASSIGN_OR_RETURN(DirLock lock, DirLock::Acquire(cfg_.data_dir));
  lock_.emplace(std::move(lock));
  lease::LessorOptions lessor;
  lessor.min_ttl_seconds = lease::MinLeaseTtlSeconds(
      cfg_.ElectionTicks(), std::chrono::milliseconds(cfg_.heartbeat_interval_ms));
  lessor.checkpointing_enabled = cfg_.lease_checkpoint;
  lessor.checkpoint_interval = cfg_.lease_checkpoint_interval;
  leases_ = std::make_unique<Leases>(lessor);
  mvcc::Options opts;
  opts.lease_exists = [this](int64_t id) { return leases_->Exists(id); };
  // The quota is enforced before proposing (see Propose), as etcd does; the
  // map has room above it so that entries already committed always apply.
  opts.map_size_bytes = cfg_.QuotaBytes() + std::max<uint64_t>(cfg_.QuotaBytes() / 4, 64 << 20);
  opts.env = cfg_.env;
  ASSIGN_OR_RETURN(store_, mvcc::Store::Open(cfg_.BackendDir(), opts));

  auto storage = std::make_shared<raft::MemoryStorage>();
  std::unique_ptr<wal::Wal> wal;
  raftpb::ConfState conf_state;
  serverpb::Members members;  // the peers to connect to at start
  const bool restart = wal::Wal::Exists(cfg_.WalDir());
  const bool join = !restart && cfg_.initial_cluster_state == "existing";
  if (restart) {
    RETURN_IF_ERROR(Restart(storage, &wal, &conf_state));
    RETURN_IF_ERROR(CheckSameCluster());
    ASSIGN_OR_RETURN(members, LoadMembers());
  } else if (join) {
    RETURN_IF_ERROR(Join(&wal, &members));
  } else {
    RETURN_IF_ERROR(Bootstrap(&wal, &members));
  }

  // After Restart, which may have installed a snapshot received before a
  // crash into the backend.
  RETURN_IF_ERROR(leases_->Recover(*store_));

  raft::Config rc;
  rc.id = member_id_;
  rc.election_tick = cfg_.ElectionTicks();
  rc.heartbeat_tick = 1;
  rc.storage = storage.get();
  rc.applied = store_->ConsistentIndex();
  rc.random_seed = std::random_device()();
  ASSIGN_OR_RETURN(auto node, raft::RawNode::Create(rc));
  // A new cluster's members (also one that crashed after creating its WAL
  // but before saving the bootstrap entries) start their log with the
  // configuration, each entry carrying the member's attributes. A joining
  // member starts empty and receives the log from the leader.
  if (storage->LastIndex() == 0 && cfg_.initial_cluster_state == "new") {
    uint64_t unused;
    serverpb::Members initial = InitialMembers(&unused);
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
    if (members.members_size() == 0) members = initial;
  }

  WatchHubOptions watch_options;
  watch_options.progress_notify_interval = cfg_.watch_progress_notify_interval;
  watch_hub_ = std::make_unique<WatchHub>(*store_, watch_options, logger_);
  Applier::Hooks hooks;
  hooks.applied = [this](uint64_t applied) { MaybeSnapshot(applied); };
  hooks.events_need_prev_kv = [this] { return watch_hub_->WantsPrevKv(); };
  hooks.committed = [this](const std::vector<mvccpb::Event>& events, int64_t revision,
                           bool with_prev_kv) {
    watch_hub_->Notify(events, revision, with_prev_kv);
  };
  hooks.restored = [this] { watch_hub_->Restored(); };
  hooks.snapshot_path = [this](uint64_t index) { return SnapshotPath(index); };
  hooks.conf_change = [this](raftpb::ConfChange cc) { raft_->ConfChangeApplied(std::move(cc)); };
  hooks.members_changed = [this](const serverpb::Members& m) { OnMembersChanged(m); };
  hooks.fatal = [this](std::string_view what, const Status& s) { OnFatal(what, s); };
  ASSIGN_OR_RETURN(serverpb::Members applied_members, LoadMembers());
  const serverpb::Member* self = FindMember(applied_members, member_id_);
  is_learner_ = self != nullptr && self->is_learner();
  applier_ = std::make_unique<Applier>(*store_, *leases_, conf_state, applied_members,
                                       cfg_.max_learners, waiters_, std::move(hooks), logger_);
  RaftNode::Options ro{cfg_.heartbeat_interval_ms, cfg_.ElectionTicks(),
                       static_cast<int>(RequestTimeout().count()), nullptr};
  ro.on_fatal = [this](std::string_view what, const Status& s) { OnFatal(what, s); };
  // transport_ is set below, before the loop thread starts.
  raft_ = std::make_unique<RaftNode>(
      std::move(node), storage, std::move(wal), ro,
      [this](std::vector<raftpb::Message> m) { SendMessages(std::move(m)); },
      [this](std::vector<raftpb::Entry> e) { applier_->Enqueue(std::move(e)); },
      [this](const raftpb::Snapshot& snap) { applier_->EnqueueSnapshot(snap); },
      [this](uint64_t lead) { OnLeaderChanged(lead); }, logger_);
  last_snapshot_index_ = store_->ConsistentIndex();
  snap_sender_ = std::thread([this] { RunSnapshotSender(); });
  RETURN_IF_ERROR(StartTransport(members));
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
  raft_->Start();
  lease_loop_ = std::thread([this] { RunLeaseLoop(); });
  logger_.Info(restart ? "restarting local member" : "starting local member",
               {{"local-member-id", IdToHex(member_id_)},
                {"cluster-id", IdToHex(cluster_id_)},
                {"data-dir", cfg_.data_dir},
                {"consistent-index", store_->ConsistentIndex()}});
  return Status::Ok();
}

serverpb::Members EtcdServer::InitialMembers(uint64_t* cluster_id) const {
  serverpb::Members members;
  std::vector<uint64_t> ids;
  for (const auto& [name, urls] : cfg_.initial_cluster) {
    std::vector<std::string> peer_urls;
    for (const auto& u : urls) peer_urls.push_back(u.ToString());
    auto* m = members.add_members();
    m->set_id(MemberId(peer_urls, cfg_.initial_cluster_token));
    m->set_name(name);
    for (const auto& u : peer_urls) m->add_peer_urls(u);
    ids.push_back(m->id());
  }
  *cluster_id = ClusterId(ids);
  return members;
}

Status EtcdServer::Bootstrap(std::unique_ptr<wal::Wal>* wal, serverpb::Members* members) {
  *members = InitialMembers(&cluster_id_);
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
    asks.emplace_back(peer_urls.front(), std::async(std::launch::async, [peer_urls] {
                        return transport::Transport::FetchClusterInfo(peer_urls,
                                                                      std::chrono::seconds(1));
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
  ASSIGN_OR_RETURN(auto info,
                   transport::Transport::FetchClusterInfo(others, std::chrono::seconds(2)));
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

Status EtcdServer::Restart(std::shared_ptr<raft::MemoryStorage> storage,
                           std::unique_ptr<wal::Wal>* wal, raftpb::ConfState* conf_state) {
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
    RETURN_IF_ERROR(storage->ApplySnapshot(snap));
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
  RETURN_IF_ERROR(storage->Append(tail));
  RETURN_IF_ERROR(storage->SetHardState(c.hard_state));
  return Status::Ok();
}

Status EtcdServer::StartTransport(const serverpb::Members& members) {
  transport::Options opts;
  opts.member_id = member_id_;
  opts.cluster_id = cluster_id_;
  opts.members = [this] { return applier_->Members().SerializeAsString(); };
  opts.removed_by_peer = [this](uint64_t) { OnRemoved(); };
  opts.forward = [this](const std::string& request,
                        std::chrono::steady_clock::time_point deadline) {
    return HandleForwarded(request, deadline);
  };
  ASSIGN_OR_RETURN(transport_, transport::Transport::Start(
                                   opts, cfg_.listen_peer_urls,
                                   [this](raftpb::Message m) { raft_->Step(std::move(m)); },
                                   [this](const raftpb::Message& m, std::string data) {
                                     return ReceiveSnapshot(m, std::move(data));
                                   },
                                   logger_));
  SyncPeers(members);
  return Status::Ok();
}

void EtcdServer::SyncPeers(const serverpb::Members& members) {
  std::lock_guard lock(peers_mu_);
  std::map<uint64_t, std::vector<std::string>> wanted;
  for (const auto& m : members.members()) {
    if (m.id() != member_id_) wanted[m.id()].assign(m.peer_urls().begin(), m.peer_urls().end());
  }
  for (const auto& [id, urls] : peers_) {
    if (wanted.count(id) == 0) transport_->RemovePeer(id);
  }
  for (const auto& [id, urls] : wanted) {
    auto it = peers_.find(id);
    Status s = it == peers_.end()   ? transport_->AddPeer(id, urls)
               : it->second != urls ? transport_->UpdatePeer(id, urls)
                                    : Status::Ok();
    if (!s.ok())
      logger_.Warn("cannot reach peer", {{"peer-id", IdToHex(id)}, {"error", s.message()}});
  }
  peers_ = std::move(wanted);
}

void EtcdServer::OnMembersChanged(const serverpb::Members& members) {
  const serverpb::Member* self = FindMember(members, member_id_);
  is_learner_ = self != nullptr && self->is_learner();
  if (transport_) SyncPeers(members);
  const auto& removed = members.removed();
  if (std::find(removed.begin(), removed.end(), member_id_) != removed.end()) OnRemoved();
}

void EtcdServer::OnRemoved() {
  std::call_once(removed_once_, [this] {
    logger_.Warn("the member has been permanently removed from the cluster",
                 {{"local-member-id", IdToHex(member_id_)}});
    if (on_removed_) on_removed_();
  });
}

Result<serverpb::Members> EtcdServer::LoadMembers() const {
  ASSIGN_OR_RETURN(auto raw, store_->GetMeta(kMembersMetaKey));
  serverpb::Members members;
  // None yet: a new member before the bootstrap entries are applied.
  if (raw && !members.ParseFromString(*raw)) {
    return Status::Corruption("undecodable member list", cfg_.BackendDir());
  }
  return members;
}

std::chrono::milliseconds EtcdServer::RequestTimeout() const {
  return std::chrono::milliseconds(5000 + 2 * cfg_.election_timeout_ms);
}

Status EtcdServer::WaitReady(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  Status last = Status::Unavailable("etcdserver: request timed out");
  while (std::chrono::steady_clock::now() < deadline && !stopped_.load()) {
    last = WaitLinearizable(deadline);
    if (last.ok()) last = Publish(deadline);
    if (last.ok()) return last;
  }
  return last;
}

Status EtcdServer::Publish(std::chrono::steady_clock::time_point deadline) {
  serverpb::InternalRequest req;
  auto* attrs = req.mutable_publish();
  attrs->set_id(member_id_);
  attrs->set_name(cfg_.name);
  for (const auto& u : cfg_.advertise_client_urls) attrs->add_client_urls(u.ToString());
  req.set_id(++next_request_id_);
  ApplyResult r =
      ProposeAndWait(req.id(), deadline, [&] { raft_->Propose(req.SerializeAsString()); });
  auto* s = std::get_if<Status>(&r);
  return s ? *s : Status::Ok();
}

ApplyResult EtcdServer::ProposeAndWait(uint64_t id, std::chrono::steady_clock::time_point deadline,
                                       const std::function<void()>& propose) {
  // Shared: after a Stop, or a deadline passed here first, the waiter may
  // still be answered later.
  auto applied = std::make_shared<std::promise<ApplyResult>>();
  auto done = applied->get_future();
  waiters_.Register(id, deadline, [applied](ApplyResult r) { applied->set_value(std::move(r)); });
  propose();
  // The apply loop answers expired waiters every 100 ms; a stopped one does not.
  if (done.wait_until(deadline + std::chrono::seconds(1)) != std::future_status::ready) {
    return Status::Unavailable("etcdserver: request timed out");
  }
  return done.get();
}

Status EtcdServer::WaitLinearizable(std::chrono::steady_clock::time_point deadline) {
  auto fut = raft_->ReadIndex();
  if (fut.wait_until(deadline) != std::future_status::ready) {
    return Status::Unavailable("etcdserver: request timed out");
  }
  ASSIGN_OR_RETURN(uint64_t index, fut.get());
  if (!applier_->WaitApplied(index, deadline)) {
    return Status::Unavailable(
        "etcdserver: request timed out, waiting for the applied index took too long");
  }
  return Status::Ok();
}

void EtcdServer::FillHeader(etcdserverpb::ResponseHeader* h) const {
  h->set_cluster_id(cluster_id_);
  h->set_member_id(member_id_);
  h->set_raft_term(raft_->Term());
  if (h->revision() == 0) h->set_revision(store_->CurrentRevision());
}

Result<etcdserverpb::RangeResponse> EtcdServer::Range(const etcdserverpb::RangeRequest& req) {
  RETURN_IF_ERROR(mvcc::CheckRangeRequest(req));
  if (!req.serializable()) {
    RETURN_IF_ERROR(WaitLinearizable(std::chrono::steady_clock::now() + RequestTimeout()));
  }
  ASSIGN_OR_RETURN(auto resp, store_->Range(req));
  FillHeader(resp.mutable_header());
  return resp;
}

Result<etcdserverpb::TxnResponse> EtcdServer::ReadOnlyTxn(const etcdserverpb::TxnRequest& req) {
  // etcd's isTxnSerializable: every op of both branches is a serializable range.
  bool serializable = true;
  for (const auto* ops : {&req.success(), &req.failure()}) {
    for (const auto& op : *ops) {
      serializable = serializable && op.has_request_range() && op.request_range().serializable();
    }
  }
  if (!serializable) {
    RETURN_IF_ERROR(WaitLinearizable(std::chrono::steady_clock::now() + RequestTimeout()));
  }
  ASSIGN_OR_RETURN(auto resp, store_->ReadTxn(req));
  FillHeader(resp.mutable_header());
  return resp;
}

void EtcdServer::OnFatal(std::string_view what, const Status& cause) {
  if (fatal_.Raise(what, cause)) waiters_.TriggerAll(fatal_.status());
}

template <typename Response>
void EtcdServer::Propose(serverpb::InternalRequest& req, Done<Response> done) {
  if (Status fatal = fatal_.status(); !fatal.ok()) return done(fatal);
  req.set_id(++next_request_id_);
  std::string data = req.SerializeAsString();
  if (data.size() > cfg_.max_request_bytes) {
    return done(Status::InvalidArgument("etcdserver: request is too large"));
  }
  if (uint64_t cost = QuotaCost(req);
      cost > 0 && store_->DbSizeBytes() + cost >= cfg_.QuotaBytes()) {
    return done(Status(Code::kResourceExhausted, "etcdserver: mvcc: database space exceeded"));
  }
  if (raft_->CommitIndex() > applier_->AppliedIndex() + kMaxApplyGap) {
    return done(Status(Code::kResourceExhausted, "etcdserver: too many requests"));
  }
  waiters_.Register(
      req.id(), std::chrono::steady_clock::now() + RequestTimeout(),
      [this, done = std::move(done)](ApplyResult r) { done(Unwrap<Response>(std::move(r))); });
  raft_->Propose(std::move(data));
}

// The lease requests are proposed from server_lease.cc.
template void EtcdServer::Propose(serverpb::InternalRequest&,
                                  Done<etcdserverpb::LeaseGrantResponse>);
template void EtcdServer::Propose(serverpb::InternalRequest&,
                                  Done<etcdserverpb::LeaseRevokeResponse>);
template void EtcdServer::Propose(serverpb::InternalRequest&,
                                  Done<etcdserverpb::LeaseCheckpointResponse>);

template <typename Response>
Result<Response> EtcdServer::Unwrap(ApplyResult r) const {
  if (auto* s = std::get_if<etcdd::Status>(&r)) return *s;
  Response resp = std::get<Response>(std::move(r));
  FillHeader(resp.mutable_header());
  return resp;
}

void EtcdServer::Put(const etcdserverpb::PutRequest& req, Done<etcdserverpb::PutResponse> done) {
  if (Status s = mvcc::CheckPutRequest(req); !s.ok()) return done(s);
  serverpb::InternalRequest ir;
  *ir.mutable_put() = req;
  Propose(ir, std::move(done));
}

void EtcdServer::DeleteRange(const etcdserverpb::DeleteRangeRequest& req,
                             Done<etcdserverpb::DeleteRangeResponse> done) {
  if (Status s = mvcc::CheckDeleteRequest(req); !s.ok()) return done(s);
  serverpb::InternalRequest ir;
  *ir.mutable_delete_range() = req;
  Propose(ir, std::move(done));
}

void EtcdServer::Txn(const etcdserverpb::TxnRequest& req, Done<etcdserverpb::TxnResponse> done) {
  if (Status s = mvcc::CheckTxnRequest(req, cfg_.max_txn_ops); !s.ok()) return done(s);
  if (mvcc::Store::IsReadOnly(req)) return done(ReadOnlyTxn(req));
  serverpb::InternalRequest ir;
  *ir.mutable_txn() = req;
  Propose(ir, std::move(done));
}

void EtcdServer::Compact(const etcdserverpb::CompactionRequest& req,
                         Done<etcdserverpb::CompactionResponse> done) {
  serverpb::InternalRequest ir;
  *ir.mutable_compaction() = req;
  Propose(ir, std::move(done));
}

etcdserverpb::StatusResponse EtcdServer::MaintenanceStatus() const {
  etcdserverpb::StatusResponse resp;
  FillHeader(resp.mutable_header());
  resp.set_version(kEtcdApiVersion);
  resp.set_dbsize(static_cast<int64_t>(store_->DbSizeBytes()));
  resp.set_dbsizeinuse(static_cast<int64_t>(store_->DbSizeInUseBytes()));
  resp.set_leader(raft_->Lead());
  resp.set_raftindex(raft_->CommitIndex());
  resp.set_raftterm(raft_->Term());
  resp.set_raftappliedindex(applier_->AppliedIndex());
  const serverpb::Members members = applier_->Members();
  const serverpb::Member* self = FindMember(members, member_id_);
  resp.set_islearner(self != nullptr && self->is_learner());
  return resp;
}

Result<etcdserverpb::HashKVResponse> EtcdServer::HashKV(int64_t revision) const {
  ASSIGN_OR_RETURN(auto hash, store_->HashKV(revision));
  etcdserverpb::HashKVResponse resp;
  FillHeader(resp.mutable_header());
  resp.set_hash(hash.first);
  resp.set_compact_revision(hash.second);
  return resp;
}

etcdserverpb::MemberListResponse EtcdServer::MemberList() const {
  etcdserverpb::MemberListResponse resp;
  // etcd's ClusterServer header carries no revision.
  resp.mutable_header()->set_cluster_id(cluster_id_);
  resp.mutable_header()->set_member_id(member_id_);
  resp.mutable_header()->set_raft_term(raft_->Term());
  FillMembers(applier_->Members(), resp.mutable_members());
  return resp;
}

void EtcdServer::FillMembers(const serverpb::Members& members,
                             google::protobuf::RepeatedPtrField<etcdserverpb::Member>* out) {
  // etcd lists members sorted by id.
  std::vector<const serverpb::Member*> sorted;
  for (const auto& m : members.members()) sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->id() < b->id(); });
  for (const serverpb::Member* mp : sorted) {
    const serverpb::Member& m = *mp;
    auto* pb = out->Add();
    pb->set_id(m.id());
    pb->set_name(m.name());
    for (const auto& u : m.peer_urls()) pb->add_peerurls(u);
    for (const auto& u : m.client_urls()) pb->add_clienturls(u);
    pb->set_islearner(m.is_learner());
  }
}

}  // namespace etcdd::server
