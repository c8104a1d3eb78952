// The Lease service on the server: grants and revokes through Raft, renewals
// and TimeToLive answered by the leader (followers forward them), and the
// leader's loop that revokes expired leases (etcd's v3_server.go lease
// methods and lessor runLoop).
#include <algorithm>

#include "server/server.h"

namespace etcdd::server {

namespace pb = etcdserverpb;

namespace {

// etcd's lessor runLoop period, and its revoke rate limit per period
// (leaseRevokeRate / 2).
constexpr auto kLeaseLoopInterval = std::chrono::milliseconds(500);
constexpr size_t kMaxRevokesPerInterval = 500;
// How long a follower waits for a leader change before asking the same
// leader again after a refusal.
constexpr auto kForwardRetryWait = std::chrono::milliseconds(100);

Status Timeout() { return Status::Unavailable("etcdserver: request timed out"); }

bool IsLeaseNotFound(const Status& s) {
  return s.code() == Code::kNotFound && s.message() == lease::kErrLeaseNotFound;
}

}  // namespace

void EtcdServer::LeaseGrant(const pb::LeaseGrantRequest& req, Done<pb::LeaseGrantResponse> done,
                            const auth::AuthInfo& who) {
  serverpb::InternalRequest ir;
  *ir.mutable_lease_grant() = req;
  // etcd: only positive ids, from the request id generator.
  while (ir.lease_grant().id() == lease::kNoLease) {
    ir.mutable_lease_grant()->set_id(static_cast<int64_t>(++next_request_id_ & INT64_MAX));
  }
  Propose(ir, std::move(done), &who);
}

void EtcdServer::LeaseRevoke(const pb::LeaseRevokeRequest& req, Done<pb::LeaseRevokeResponse> done,
                             const auth::AuthInfo& who) {
  serverpb::InternalRequest ir;
  *ir.mutable_lease_revoke() = req;
  Propose(ir, std::move(done), &who);
}

Result<pb::LeaseKeepAliveResponse> EtcdServer::RenewOnLeader(
    int64_t id, std::chrono::steady_clock::time_point deadline) {
  // etcd waits for the applied index first, so a lease granted just before
  // is known.
  if (!applier_->WaitApplied(raft_->CommitIndex(), deadline)) return Timeout();
  pb::LeaseKeepAliveResponse resp;
  resp.set_id(id);
  ASSIGN_OR_RETURN(lease::RenewResult r, leases_->Renew(id));
  resp.set_ttl(r.ttl);
  if (r.clear_checkpoint) {
    // Every member forgets the checkpointed remaining TTL too (etcd's
    // Renew proposes the same).
    serverpb::InternalRequest ir;
    auto* cp = ir.mutable_lease_checkpoint()->add_checkpoints();
    cp->set_id(id);
    cp->set_remaining_ttl(0);
    Propose(ir, Done<pb::LeaseCheckpointResponse>([](auto) {}));
  }
  return resp;
}

Result<pb::LeaseTimeToLiveResponse> EtcdServer::TimeToLiveOnLeader(
    const pb::LeaseTimeToLiveRequest& req, std::chrono::steady_clock::time_point deadline) {
  if (!applier_->WaitApplied(raft_->CommitIndex(), deadline)) return Timeout();
  if (!leases_->IsPrimary()) return Status::FailedPrecondition(std::string(lease::kErrNotPrimary));
  ASSIGN_OR_RETURN(lease::LeaseInfo info, leases_->Lookup(req.id()));
  pb::LeaseTimeToLiveResponse resp;
  resp.set_id(req.id());
  resp.set_ttl(info.remaining_ttl);
  resp.set_grantedttl(info.granted_ttl);
  if (req.keys()) {
    for (auto& k : info.keys) resp.add_keys(std::move(k));
  }
  return resp;
}

Result<std::string> EtcdServer::OnLeader(const serverpb::Forwarded& forwarded,
                                         const std::function<Result<std::string>()>& local,
                                         std::chrono::steady_clock::time_point deadline) {
  const std::string request = forwarded.SerializeAsString();
  while (!stopped_) {
    const uint64_t lead = raft_->Lead();
    Result<std::string> r = Timeout();
    if (lead == member_id_) {
      r = local();
    } else if (lead != 0) {
      r = transport_->Forward(lead, request, deadline);
    }
    if (r.ok() || IsLeaseNotFound(r.status())) return r;
    if (std::chrono::steady_clock::now() >= deadline) break;
    // No leader, a leader that just lost office, or one out of reach: wait
    // for the next leader (or a short while) and ask again.
    raft_->WaitLeaderChange(
        lead, std::min(deadline, std::chrono::steady_clock::now() +
                                     (lead == 0 ? RequestTimeout() : kForwardRetryWait)));
  }
  return stopped_ ? Status::Unavailable("etcdserver: server stopped") : Timeout();
}

Result<std::string> EtcdServer::HandleForwarded(const std::string& request,
                                                std::chrono::steady_clock::time_point deadline) {
  serverpb::Forwarded f;
  if (!f.ParseFromString(request)) return Status::InvalidArgument("undecodable forwarded request");
  // The leader answers; anything else makes the follower ask again.
  if (raft_->Lead() != member_id_) return Status::Unavailable("etcdserver: not leader");
  switch (f.request_case()) {
    case serverpb::Forwarded::kLeaseRenew: {
      ASSIGN_OR_RETURN(auto resp, RenewOnLeader(f.lease_renew().id(), deadline));
      return resp.SerializeAsString();
    }
    case serverpb::Forwarded::kLeaseTimeToLive: {
      ASSIGN_OR_RETURN(auto resp, TimeToLiveOnLeader(f.lease_time_to_live(), deadline));
      return resp.SerializeAsString();
    }
    case serverpb::Forwarded::REQUEST_NOT_SET:
      break;
  }
  return Status::InvalidArgument("empty forwarded request");
}

Result<pb::LeaseKeepAliveResponse> EtcdServer::LeaseRenew(
    int64_t id, std::chrono::steady_clock::time_point deadline) {
  // The header is taken before the renewal, as etcd does, so that its
  // revision is never after a revoke the renewal did not see.
  pb::LeaseKeepAliveResponse resp;
  FillHeader(resp.mutable_header());
  serverpb::Forwarded f;
  f.mutable_lease_renew()->set_id(id);
  Result<std::string> r = OnLeader(
      f,
      [&]() -> Result<std::string> {
        ASSIGN_OR_RETURN(auto renewed, RenewOnLeader(id, deadline));
        return renewed.SerializeAsString();
      },
      deadline);
  resp.set_id(id);
  if (IsLeaseNotFound(r.status())) return resp;  // TTL 0: etcd's "not found"
  RETURN_IF_ERROR(r.status());
  pb::LeaseKeepAliveResponse renewed;
  if (!renewed.ParseFromString(*r)) return Status::Internal("undecodable renewal answer");
  resp.set_ttl(renewed.ttl());
  return resp;
}

Result<pb::LeaseTimeToLiveResponse> EtcdServer::LeaseTimeToLive(
    const pb::LeaseTimeToLiveRequest& req, std::chrono::steady_clock::time_point deadline) {
  serverpb::Forwarded f;
  *f.mutable_lease_time_to_live() = req;
  Result<std::string> r = OnLeader(
      f,
      [&]() -> Result<std::string> {
        ASSIGN_OR_RETURN(auto answer, TimeToLiveOnLeader(req, deadline));
        return answer.SerializeAsString();
      },
      deadline);
  pb::LeaseTimeToLiveResponse resp;
  if (IsLeaseNotFound(r.status())) {
    resp.set_id(req.id());
    resp.set_ttl(-1);  // etcd's answer for a lease that does not exist
  } else {
    RETURN_IF_ERROR(r.status());
    if (!resp.ParseFromString(*r)) return Status::Internal("undecodable TimeToLive answer");
  }
  FillHeader(resp.mutable_header());
  return resp;
}

pb::LeaseLeasesResponse EtcdServer::LeaseLeases() const {
  pb::LeaseLeasesResponse resp;
  FillHeader(resp.mutable_header());
  for (int64_t id : leases_->IdsByExpiry()) resp.add_leases()->set_id(id);
  return resp;
}

void EtcdServer::OnLeaderChanged(uint64_t lead) {
  if (lead == member_id_) {
    leases_->Promote(std::chrono::milliseconds(cfg_.election_timeout_ms));
  } else if (leases_->IsPrimary()) {
    leases_->Demote();
  }
  if (compactor_) {
    if (lead == member_id_) {
      compactor_->Resume();
    } else {
      compactor_->Pause();
    }
  }
  if (lead == 0) {
    std::lock_guard lock(leader_lost_mu_);
    if (leader_lost_) leader_lost_();
  }
}

void EtcdServer::SetLeaderLostHook(std::function<void()> hook) {
  std::lock_guard lock(leader_lost_mu_);
  leader_lost_ = std::move(hook);
}

void EtcdServer::RunLeaseLoop() {
  std::unique_lock lock(lease_loop_mu_);
  while (!lease_loop_cv_.wait_for(lock, kLeaseLoopInterval, [&] { return lease_loop_stop_; })) {
    lock.unlock();
    // Proposals whose outcome nobody waits for: a lost one is proposed again
    // (the lessor reports an expired lease again after 3 s).
    for (int64_t id : leases_->Expired(kMaxRevokesPerInterval)) {
      serverpb::InternalRequest ir;
      ir.mutable_lease_revoke()->set_id(id);
      Propose(ir, Done<pb::LeaseRevokeResponse>([](auto) {}));
    }
    if (auto due = leases_->DueCheckpoints(); !due.empty()) {
      serverpb::InternalRequest ir;
      for (const auto& c : due) {
        auto* cp = ir.mutable_lease_checkpoint()->add_checkpoints();
        cp->set_id(c.id);
        cp->set_remaining_ttl(c.remaining_ttl);
      }
      Propose(ir, Done<pb::LeaseCheckpointResponse>([](auto) {}));
    }
    lock.lock();
  }
}

}  // namespace etcdd::server
