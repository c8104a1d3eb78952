// EtcdServer's membership changes and leadership transfer (Cluster.Member*,
// Maintenance.MoveLeader), following etcd's etcdserver/server.go.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <future>

#include "base/go_text.h"
#include "base/grpc_status.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "server/ids.h"
#include "server/membership.h"
#include "server/server.h"
#include "tls/tls.h"

namespace etcdd::server {

namespace {
namespace pb = etcdserverpb;

Status ErrBadUrls() { return Status::InvalidArgument("etcdserver: given member URLs are invalid"); }
Status ErrUnhealthy() { return Status::Unavailable("etcdserver: unhealthy cluster"); }
Status ErrNotLeader() { return Status::FailedPrecondition("etcdserver: not leader"); }

// Peer URLs as etcd accepts them (types.NewURLs): parseable, with a host and
// port, and no path.
Result<std::vector<std::string>> CheckPeerUrls(
    const google::protobuf::RepeatedPtrField<std::string>& in) {
  if (in.empty()) return ErrBadUrls();
  std::vector<std::string> out;
  for (const auto& raw : in) {
    auto urls = ParseUrls(raw);
    if (!urls.ok() || urls->size() != 1) return ErrBadUrls();
    out.push_back((*urls)[0].ToString());
  }
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

Result<serverpb::Members> EtcdServer::ProposeConfChange(raftpb::ConfChange cc,
                                                        const serverpb::ConfChangeContext& ctx) {
  cc.set_id(++next_request_id_);
  cc.set_context(ctx.SerializeAsString());
  ApplyResult r = ProposeAndWait(cc.id(), std::chrono::steady_clock::now() + RequestTimeout(),
                                 [&] { raft_->ProposeConfChange(cc); });
  if (auto* s = std::get_if<Status>(&r)) return *s;
  return std::get<serverpb::Members>(std::move(r));
}

Status EtcdServer::CheckStrictReconfig(raftpb::ConfChangeType type, uint64_t id) const {
  if (!cfg_.strict_reconfig_check) return Status::Ok();
  const serverpb::Members members = applier_->Members();
  const VoterCounts c = CountVoters(members);
  // Voters this member is connected to, itself included (etcd's
  // numConnectedSince over the health interval; here: streams up now).
  auto connected = [&](uint64_t except) {
    int n = 0;
    for (const auto& m : members.members()) {
      if (m.is_learner() || m.id() == except) continue;
      if (m.id() == member_id_ || transport_->IsActive(m.id())) ++n;
    }
    return n;
  };
  switch (type) {
    case raftpb::CONF_CHANGE_ADD_NODE: {  // a new voter, or the promotion of learner `id`
      // The promoted learner counts as started; a second member may always
      // join a single-member cluster (etcd: restoring a cluster's data).
      int started = c.started + (id != 0 ? 1 : 0);
      bool second = id == 0 && c.voters == 1 && c.started == 1;
      if (!second && started < Quorum(c.voters + 1)) return ErrNotEnoughStarted();
      if (id == 0 && connected(0) < c.voters) return ErrUnhealthy();
      return Status::Ok();
    }
    case raftpb::CONF_CHANGE_ADD_LEARNER_NODE:
      return connected(0) < c.voters ? ErrUnhealthy() : Status::Ok();
    case raftpb::CONF_CHANGE_REMOVE_NODE: {
      const serverpb::Member* m = FindMember(members, id);
      if (m == nullptr || m->is_learner()) return Status::Ok();
      int started_after = c.started - (m->client_urls_size() > 0 ? 1 : 0);
      if (started_after < Quorum(c.voters - 1)) return ErrNotEnoughStarted();
      // A member that is down is safe to remove: it is not part of the
      // active quorum.
      if (id != member_id_ && !transport_->IsActive(id)) return Status::Ok();
      if (connected(id) < Quorum(c.voters - 1)) return ErrUnhealthy();
      return Status::Ok();
    }
    default:
      return Status::Ok();
  }
}

Result<pb::MemberAddResponse> EtcdServer::MemberAdd(const pb::MemberAddRequest& req) {
  ASSIGN_OR_RETURN(auto urls, CheckPeerUrls(req.peerurls()));
  serverpb::ConfChangeContext ctx;
  auto* m = ctx.mutable_member();
  // etcd: NewMember("", urls, "", now): the id hashes the URLs and the time.
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  m->set_id(MemberId(urls, std::to_string(now)));
  for (const auto& u : urls) m->add_peer_urls(u);
  m->set_is_learner(req.islearner());
  raftpb::ConfChange cc;
  cc.set_type(req.islearner() ? raftpb::CONF_CHANGE_ADD_LEARNER_NODE
                              : raftpb::CONF_CHANGE_ADD_NODE);
  RETURN_IF_ERROR(CheckStrictReconfig(cc.type(), 0));
  cc.set_node_id(m->id());
  ASSIGN_OR_RETURN(serverpb::Members members, ProposeConfChange(cc, ctx));
  pb::MemberAddResponse resp;
  FillHeader(resp.mutable_header());
  resp.mutable_header()->set_revision(0);  // etcd's ClusterServer header has none
  auto* added = resp.mutable_member();
  added->set_id(m->id());
  for (const auto& u : urls) added->add_peerurls(u);
  added->set_islearner(req.islearner());
  FillMembers(members, resp.mutable_members());
  return resp;
}

Result<pb::MemberRemoveResponse> EtcdServer::MemberRemove(const pb::MemberRemoveRequest& req) {
  RETURN_IF_ERROR(CheckStrictReconfig(raftpb::CONF_CHANGE_REMOVE_NODE, req.id()));
  raftpb::ConfChange cc;
  cc.set_type(raftpb::CONF_CHANGE_REMOVE_NODE);
  cc.set_node_id(req.id());
  ASSIGN_OR_RETURN(serverpb::Members members, ProposeConfChange(cc, {}));
  pb::MemberRemoveResponse resp;
  FillHeader(resp.mutable_header());
  resp.mutable_header()->set_revision(0);
  FillMembers(members, resp.mutable_members());
  return resp;
}

Result<pb::MemberUpdateResponse> EtcdServer::MemberUpdate(const pb::MemberUpdateRequest& req) {
  ASSIGN_OR_RETURN(auto urls, CheckPeerUrls(req.peerurls()));
  serverpb::ConfChangeContext ctx;
  ctx.mutable_member()->set_id(req.id());
  for (const auto& u : urls) ctx.mutable_member()->add_peer_urls(u);
  raftpb::ConfChange cc;
  cc.set_type(raftpb::CONF_CHANGE_UPDATE_NODE);
  cc.set_node_id(req.id());
  ASSIGN_OR_RETURN(serverpb::Members members, ProposeConfChange(cc, ctx));
  pb::MemberUpdateResponse resp;
  FillHeader(resp.mutable_header());
  resp.mutable_header()->set_revision(0);
  FillMembers(members, resp.mutable_members());
  return resp;
}

Status EtcdServer::CheckLearnerReady(uint64_t id) {
  auto progress = raft_->Call([](raft::RawNode& n) { return n.Progress(); });
  if (!progress || progress->empty()) return ErrNotLeader();
  auto self = progress->find(member_id_);
  auto learner = progress->find(id);
  if (self == progress->end() || learner == progress->end()) return ErrLearnerNotReady();
  // etcd's readyPercent: the learner has at least 90% of the leader's log.
  if (static_cast<double>(learner->second.match) < 0.9 * static_cast<double>(self->second.match)) {
    return ErrLearnerNotReady();
  }
  return Status::Ok();
}

Result<pb::MemberPromoteResponse> EtcdServer::MemberPromote(const pb::MemberPromoteRequest& req) {
  if (raft_->Lead() != member_id_) return ForwardPromote(req);
  const serverpb::Members current = applier_->Members();
  const serverpb::Member* m = FindMember(current, req.id());
  if (m == nullptr) return ErrMemberNotFound();
  if (!m->is_learner()) return ErrMemberNotLearner();
  RETURN_IF_ERROR(CheckLearnerReady(req.id()));
  RETURN_IF_ERROR(CheckStrictReconfig(raftpb::CONF_CHANGE_ADD_NODE, req.id()));
  serverpb::ConfChangeContext ctx;
  *ctx.mutable_member() = *m;
  ctx.set_is_promote(true);
  raftpb::ConfChange cc;
  cc.set_type(raftpb::CONF_CHANGE_ADD_NODE);
  cc.set_node_id(req.id());
  ASSIGN_OR_RETURN(serverpb::Members members, ProposeConfChange(cc, ctx));
  pb::MemberPromoteResponse resp;
  FillHeader(resp.mutable_header());
  resp.mutable_header()->set_revision(0);
  FillMembers(members, resp.mutable_members());
  return resp;
}

Result<pb::MemberPromoteResponse> EtcdServer::ForwardPromote(const pb::MemberPromoteRequest& req) {
  const uint64_t lead = raft_->Lead();
  if (lead == 0) return Status::Unavailable("etcdserver: no leader");
  const serverpb::Members members = applier_->Members();
  const serverpb::Member* leader = FindMember(members, lead);
  if (leader == nullptr || leader->client_urls_size() == 0) {
    return Status::Unavailable("etcdserver: no leader");
  }
  Status last = Status::Unavailable("etcdserver: request timed out");
  for (const auto& raw : leader->client_urls()) {
    auto url = ParseUrls(raw);
    if (!url.ok() || url->size() != 1) continue;
    std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
    if ((*url)[0].scheme == "https") {
      // The leader's client listener: this member's own client cert (the
      // leader may require one), without checking the leader's name.
      tls::TlsInfo info = cfg_.client_tls;
      info.insecure_skip_verify = true;
      auto made = tls::ChannelCredentials(info);
      if (!made.ok()) return made.status();
      creds = *made;
    }
    auto stub = pb::Cluster::NewStub(grpc::CreateChannel((*url)[0].HostPort(), creds));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + RequestTimeout());
    pb::MemberPromoteResponse resp;
    grpc::Status st = stub->MemberPromote(&ctx, req, &resp);
    if (st.ok()) {
      // etcd's follower answers with its own header.
      FillHeader(resp.mutable_header());
      resp.mutable_header()->set_revision(0);
      return resp;
    }
    last = FromGrpcStatus(st);
    if (st.error_code() != grpc::StatusCode::UNAVAILABLE) break;
  }
  return last;
}

Result<pb::MoveLeaderResponse> EtcdServer::MoveLeader(
    uint64_t transferee, std::chrono::steady_clock::time_point deadline) {
  if (raft_->Lead() != member_id_) return ErrNotLeader();
  const serverpb::Members members = applier_->Members();
  const serverpb::Member* m = FindMember(members, transferee);
  if (m == nullptr || m->is_learner()) {
    return Status::FailedPrecondition("etcdserver: bad leader transferee");
  }
  logger_.Info("leadership transfer starting", {{"current-leader-member-id", IdToHex(member_id_)},
                                                {"transferee-member-id", IdToHex(transferee)}});
  raft_->Call([transferee](raft::RawNode& n) {
    n.TransferLeader(transferee);
    return true;
  });
  if (!raft_->WaitLeader(transferee, deadline)) {
    return Status(Code::kUnknown, "etcdserver: request timed out, leader transfer took too long");
  }
  logger_.Info("leadership transfer finished", {{"old-leader-member-id", IdToHex(member_id_)},
                                                {"new-leader-member-id", IdToHex(transferee)}});
  return pb::MoveLeaderResponse();  // etcd's carries no header
}

void EtcdServer::TransferLeadershipForStop() {
  if (!raft_ || raft_->Lead() != member_id_) return;
  auto progress = raft_->Call([](raft::RawNode& n) { return n.Progress(); });
  if (!progress) return;
  // etcd picks the longest-connected voter; the one with the most log is
  // the quickest to take over.
  uint64_t best = 0, best_match = 0;
  for (const auto& [id, p] : *progress) {
    if (id == member_id_ || p.is_learner || !transport_->IsActive(id)) continue;
    if (best == 0 || p.match > best_match) best = id, best_match = p.match;
  }
  if (best == 0) return;
  auto r = MoveLeader(best, std::chrono::steady_clock::now() + RequestTimeout());
  if (!r.ok()) {
    logger_.Warn("leadership transfer failed", {{"error", r.status().message()}});
  }
}

}  // namespace etcdd::server
