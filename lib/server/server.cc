#include "server/server.h"

#include <future>

#include "base/go_text.h"
#include "mvcc/validate.h"
#include "server/ids.h"
#include "server/membership.h"

namespace etcdd::server {

namespace {
// Committed-but-unapplied entries beyond which new proposals are refused
// (etcd: maxGapBetweenApplyAndCommitIndex).
constexpr uint64_t kMaxApplyGap = 5000;
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

Status EtcdServer::StartTransport(const serverpb::Members& members) {
  transport::Options opts;
  opts.member_id = member_id_;
  opts.cluster_id = cluster_id_;
  opts.members = [this] { return applier_->Members().SerializeAsString(); };
  opts.removed_by_peer = [this](uint64_t) { OnRemoved(); };
  opts.snapshot_dir = snap_dir_.dir();
  opts.env = cfg_.env;
  opts.tls = cfg_.peer_tls;
  RETURN_IF_ERROR(snap_dir_.Create());
  opts.forward = [this](const std::string& request,
                        std::chrono::steady_clock::time_point deadline) {
    return HandleForwarded(request, deadline);
  };
  ASSIGN_OR_RETURN(transport_, transport::Transport::Start(
                                   opts, cfg_.listen_peer_urls,
                                   [this](raftpb::Message m) { raft_->Step(std::move(m)); },
                                   [this](const raftpb::Message& m, const std::string& path) {
                                     return ReceiveSnapshot(m, path);
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

Result<etcdserverpb::RangeResponse> EtcdServer::Range(const etcdserverpb::RangeRequest& req,
                                                      const auth::AuthInfo& who) {
  RETURN_IF_ERROR(mvcc::CheckRangeRequest(req));
  if (!req.serializable()) {
    RETURN_IF_ERROR(WaitLinearizable(std::chrono::steady_clock::now() + RequestTimeout()));
  }
  RETURN_IF_ERROR(auth_->CheckRange(who, req.key(), req.range_end()));
  ASSIGN_OR_RETURN(auto resp, store_->Range(req));
  RETURN_IF_ERROR(CheckAuthUnchanged(who));
  FillHeader(resp.mutable_header());
  return resp;
}

Status EtcdServer::CheckAuthUnchanged(const auth::AuthInfo& who) const {
  // etcd's doSerialize: permissions changed while the read ran.
  if (who.revision != 0 && who.revision != auth_->revision()) return auth::ErrAuthOldRevision();
  return Status::Ok();
}

Result<etcdserverpb::TxnResponse> EtcdServer::ReadOnlyTxn(const etcdserverpb::TxnRequest& req,
                                                          const auth::AuthInfo& who) {
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
  RETURN_IF_ERROR(auth_->CheckTxn(who, req));
  ASSIGN_OR_RETURN(auto resp, store_->ReadTxn(req));
  RETURN_IF_ERROR(CheckAuthUnchanged(who));
  FillHeader(resp.mutable_header());
  return resp;
}

void EtcdServer::OnFatal(std::string_view what, const Status& cause) {
  if (fatal_.Raise(what, cause)) waiters_.TriggerAll(fatal_.status());
}

template <typename Response>
void EtcdServer::Propose(serverpb::InternalRequest& req, Done<Response> done,
                         const auth::AuthInfo* who) {
  if (Status fatal = fatal_.status(); !fatal.ok()) return done(fatal);
  if (who != nullptr) {
    req.mutable_auth()->set_username(who->user);
    req.mutable_auth()->set_revision(who->revision);
  }
  req.set_id(++next_request_id_);
  std::string data = req.SerializeAsString();
  if (data.size() > cfg_.max_request_bytes) {
    return done(Status::InvalidArgument("etcdserver: request is too large"));
  }
  // etcd's quotaKVServer / quotaLeaseServer: a request that does not fit
  // raises this member's NOSPACE alarm, then fails.
  if (uint64_t cost = QuotaCost(req);
      cost > 0 && store_->DbSizeBytes() + cost >= cfg_.QuotaBytes()) {
    return RaiseNoSpace([done = std::move(done)](auto) { done(ErrNoSpace()); });
  }
  if (raft_->CommitIndex() > applier_->AppliedIndex() + kMaxApplyGap) {
    return done(Status(Code::kResourceExhausted, "etcdserver: too many requests"));
  }
  waiters_.Register(
      req.id(), std::chrono::steady_clock::now() + RequestTimeout(),
      [this, done = std::move(done)](ApplyResult r) { done(Unwrap<Response>(std::move(r))); });
  raft_->Propose(std::move(data));
}

void EtcdServer::RaiseNoSpace(Done<etcdserverpb::AlarmResponse> done) {
  if (alarms_.Has(member_id_, etcdserverpb::NOSPACE) || raising_no_space_.exchange(true)) {
    return done(Status::Ok());
  }
  serverpb::InternalRequest ir;
  ir.mutable_alarm()->set_action(etcdserverpb::AlarmRequest::ACTIVATE);
  ir.mutable_alarm()->set_memberid(member_id_);
  ir.mutable_alarm()->set_alarm(etcdserverpb::NOSPACE);
  Propose<etcdserverpb::AlarmResponse>(
      ir, [this, done = std::move(done)](Result<etcdserverpb::AlarmResponse> r) {
        raising_no_space_ = false;
        done(std::move(r));
      });
}

void EtcdServer::Alarm(const etcdserverpb::AlarmRequest& req,
                       Done<etcdserverpb::AlarmResponse> done, const auth::AuthInfo& who) {
  serverpb::InternalRequest ir;
  *ir.mutable_alarm() = req;
  Propose<etcdserverpb::AlarmResponse>(
      ir,
      [done = std::move(done)](Result<etcdserverpb::AlarmResponse> r) {
        // etcd's AlarmResponse carries no header.
        if (r.ok()) r.value().clear_header();
        done(std::move(r));
      },
      &who);
}

// The lease requests are proposed from server_lease.cc.
template void EtcdServer::Propose(serverpb::InternalRequest&,
                                  Done<etcdserverpb::LeaseGrantResponse>, const auth::AuthInfo*);
template void EtcdServer::Propose(serverpb::InternalRequest&,
                                  Done<etcdserverpb::LeaseRevokeResponse>, const auth::AuthInfo*);
template void EtcdServer::Propose(serverpb::InternalRequest&,
                                  Done<etcdserverpb::LeaseCheckpointResponse>,
                                  const auth::AuthInfo*);

namespace {

template <typename T, typename Variant>
struct IsAlternative;
template <typename T, typename... Ts>
struct IsAlternative<T, std::variant<Ts...>> : std::disjunction<std::is_same<T, Ts>...> {};

}  // namespace

template <typename Response>
Result<Response> EtcdServer::Unwrap(ApplyResult r) const {
  if (auto* s = std::get_if<etcdd::Status>(&r)) return *s;
  Response resp;
  if (auto* boxed = std::get_if<AuthResponse>(&r)) {
    auto* typed = dynamic_cast<Response*>(boxed->get());
    if (typed == nullptr) return Status::Internal("unexpected response type");
    resp = std::move(*typed);
  } else {
    if constexpr (IsAlternative<Response, ApplyResult>::value) {
      resp = std::get<Response>(std::move(r));
    } else {
      return Status::Internal("unexpected response type");
    }
  }
  FillHeader(resp.mutable_header());
  return resp;
}

template <typename Response>
void EtcdServer::ProposeAuth(serverpb::InternalRequest req, const auth::AuthInfo& who,
                             Done<Response> done) {
  Propose(req, std::move(done), &who);
}

#define INSTANTIATE_PROPOSE_AUTH(Response)                                                \
  template void EtcdServer::ProposeAuth(serverpb::InternalRequest, const auth::AuthInfo&, \
                                        Done<etcdserverpb::Response>);
INSTANTIATE_PROPOSE_AUTH(AuthEnableResponse)
INSTANTIATE_PROPOSE_AUTH(AuthDisableResponse)
INSTANTIATE_PROPOSE_AUTH(AuthenticateResponse)
INSTANTIATE_PROPOSE_AUTH(AuthUserAddResponse)
INSTANTIATE_PROPOSE_AUTH(AuthUserDeleteResponse)
INSTANTIATE_PROPOSE_AUTH(AuthUserChangePasswordResponse)
INSTANTIATE_PROPOSE_AUTH(AuthUserGrantRoleResponse)
INSTANTIATE_PROPOSE_AUTH(AuthUserRevokeRoleResponse)
INSTANTIATE_PROPOSE_AUTH(AuthUserGetResponse)
INSTANTIATE_PROPOSE_AUTH(AuthUserListResponse)
INSTANTIATE_PROPOSE_AUTH(AuthRoleAddResponse)
INSTANTIATE_PROPOSE_AUTH(AuthRoleDeleteResponse)
INSTANTIATE_PROPOSE_AUTH(AuthRoleGrantPermissionResponse)
INSTANTIATE_PROPOSE_AUTH(AuthRoleRevokePermissionResponse)
INSTANTIATE_PROPOSE_AUTH(AuthRoleGetResponse)
INSTANTIATE_PROPOSE_AUTH(AuthRoleListResponse)
#undef INSTANTIATE_PROPOSE_AUTH

void EtcdServer::Put(const etcdserverpb::PutRequest& req, Done<etcdserverpb::PutResponse> done,
                     const auth::AuthInfo& who) {
  if (Status s = mvcc::CheckPutRequest(req); !s.ok()) return done(s);
  serverpb::InternalRequest ir;
  *ir.mutable_put() = req;
  Propose(ir, std::move(done), &who);
}

void EtcdServer::DeleteRange(const etcdserverpb::DeleteRangeRequest& req,
                             Done<etcdserverpb::DeleteRangeResponse> done,
                             const auth::AuthInfo& who) {
  if (Status s = mvcc::CheckDeleteRequest(req); !s.ok()) return done(s);
  serverpb::InternalRequest ir;
  *ir.mutable_delete_range() = req;
  Propose(ir, std::move(done), &who);
}

void EtcdServer::Txn(const etcdserverpb::TxnRequest& req, Done<etcdserverpb::TxnResponse> done,
                     const auth::AuthInfo& who) {
  if (Status s = mvcc::CheckTxnRequest(req, cfg_.max_txn_ops); !s.ok()) return done(s);
  if (mvcc::Store::IsReadOnly(req)) return done(ReadOnlyTxn(req, who));
  serverpb::InternalRequest ir;
  *ir.mutable_txn() = req;
  Propose(ir, std::move(done), &who);
}

void EtcdServer::Compact(const etcdserverpb::CompactionRequest& req,
                         Done<etcdserverpb::CompactionResponse> done, const auth::AuthInfo& who) {
  serverpb::InternalRequest ir;
  *ir.mutable_compaction() = req;
  Propose(ir, std::move(done), &who);
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
  for (const auto& m : alarms_.Get(etcdserverpb::NONE)) {
    // NONE (0) prints no field, as gogoproto omits zero values.
    const std::string name = m.alarm() == etcdserverpb::NONE ? "" : AlarmType_Name(m.alarm());
    resp.add_errors(AlarmMemberText(m.memberid(), name));
  }
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
