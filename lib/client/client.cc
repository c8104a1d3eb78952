#include "client/client.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "client/conn.h"

namespace etcdd::client {
namespace {

using internal::Clock;
using internal::Conn;
namespace pb = etcdserverpb;

// etcdctl's wording for an expired context (Go's ctx.Err()).
constexpr char kDeadlineExceeded[] = "context deadline exceeded";
// clientv3's backoffLinearWithJitter base wait between retry rounds.
constexpr std::chrono::milliseconds kRetryBackoff{25};

bool IsServerError(const grpc::Status& s) {
  return s.error_message().rfind("etcdserver: ", 0) == 0;
}

// clientv3's isSafeRetryImmutableRPC / isSafeRetryMutableRPC. A mutable
// request is retried only when gRPC had no connection to send it on, which
// grpc C++ reports as UNAVAILABLE "failed to connect to all addresses...".
bool IsSafeRetry(bool immutable, const grpc::Status& s) {
  if (s.error_code() != grpc::StatusCode::UNAVAILABLE) return false;
  if (immutable) return true;
  return s.error_message().rfind("failed to connect to all addresses", 0) == 0;
}

// clientv3's shouldRefreshToken: the token expired, auth data changed since
// it was issued, or the call went out without one before auth was enabled.
// Like clientv3 (rpctypes.Error), errors are told apart by their message.
bool ShouldRefreshToken(const grpc::Status& s) {
  const std::string& m = s.error_message();
  return m == "etcdserver: invalid auth token" ||
         m == "etcdserver: revision of auth store is old" || m == "etcdserver: user name is empty";
}

bool IsAuthNotEnabled(const Status& s) {
  return s.message() == "etcdserver: authentication is not enabled";
}

// A unary call of the Auth service's stub `method` with `req`, for Invoke.
template <typename Req, typename Resp>
auto AuthCall(grpc::Status (pb::Auth::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
              const Req& req) {
  return [method, &req](Conn& c, grpc::ClientContext* ctx, Resp* r) {
    return (c.auth.get()->*method)(ctx, req, r);
  };
}

}  // namespace

Client::Client(Config config) : config_(std::move(config)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Connect(const Config& config) {
  if (config.endpoints.empty()) return Status::InvalidArgument("no endpoints given");
  std::unique_ptr<Client> c(new Client(config));
  std::vector<Conn*> all;
  for (const auto& ep : config.endpoints) {
    ASSIGN_OR_RETURN(auto conn, internal::Dial(config, ep));
    all.push_back(conn.get());
    c->conns_.push_back(std::move(conn));
  }
  // etcdctl --dial-timeout 0: no deadline for dialing (gRPC takes
  // time_point::max() as "infinite").
  const auto deadline = config.dial_timeout.count() > 0 ? Clock::now() + config.dial_timeout
                                                        : Clock::time_point::max();
  int ready = -1;
  while (ready < 0 && Clock::now() < deadline) {
    ready = internal::WaitForAnyReachable(all, deadline);
  }
  if (ready < 0) return etcdd::Status(Code::kDeadlineExceeded, kDeadlineExceeded);
  c->pinned_ = ready;
  if (c->uses_token()) {
    etcdd::Status auth = c->RefreshToken();
    if (!auth.ok() && !IsAuthNotEnabled(auth)) return auth;
  }
  return c;
}

std::string Client::token() const {
  std::lock_guard lock(mu_);
  return token_;
}

void Client::PrepareContext(grpc::ClientContext* ctx) const {
  const std::string t = token();
  if (!t.empty()) ctx->AddMetadata("token", t);
}

std::shared_ptr<grpc::Channel> Client::PinnedChannel() const {
  return conns_[pinned_.load()]->channel;
}

const std::string& Client::pinned_endpoint() const { return conns_[pinned_.load()]->endpoint; }

Conn* Client::PinnedConn() const { return conns_[pinned_.load()].get(); }

Conn* Client::ReachableConn(Clock::time_point deadline) {
  std::vector<Conn*> all;
  for (const auto& c : conns_) all.push_back(c.get());
  const int ready = internal::WaitForAnyReachable(all, deadline);
  if (ready < 0) return nullptr;
  pinned_ = ready;
  return conns_[ready].get();
}

// One round tries every candidate once, starting at the pinned endpoint.
// Rounds repeat until success, a non-retryable error or the deadline.
template <typename Resp, typename Fn>
Result<Resp> Client::Invoke(Policy policy, Conn* only, Fn&& call) {
  const auto deadline = Clock::now() + config_.command_timeout;
  const bool immutable = policy == Policy::kImmutable;
  bool token_renewed = false;
  for (int round = 1;; ++round) {
    std::vector<std::pair<int, Conn*>> order;
    if (only != nullptr) {
      order.emplace_back(-1, only);
    } else {
      const int n = static_cast<int>(conns_.size());
      for (int i = 0, start = pinned_.load(); i < n; ++i) {
        order.emplace_back((start + i) % n, conns_[(start + i) % n].get());
      }
    }
    bool server_refused = false;
    for (size_t i = 0; i < order.size();) {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadline);
      PrepareContext(&ctx);
      Resp resp;
      const grpc::Status s = call(*order[i].second, &ctx, &resp);
      if (s.ok()) {
        if (order[i].first >= 0) pinned_ = order[i].first;
        return resp;
      }
      if (ShouldRefreshToken(s) && !token_renewed && uses_token()) {
        token_renewed = true;
        RETURN_IF_ERROR(RefreshToken());
        continue;  // same endpoint, fresh token
      }
      if (!IsSafeRetry(immutable, s)) return FromGrpcStatus(s);
      server_refused = server_refused || IsServerError(s);
      ++i;
    }
    const auto now = Clock::now();
    if (now >= deadline) return etcdd::Status(Code::kDeadlineExceeded, kDeadlineExceeded);
    if (server_refused) {
      // The servers are reachable but refused ("etcdserver: leader changed"):
      // a linear backoff paces the retries, as clientv3's interceptor does.
      const auto wait = std::min<Clock::duration>(kRetryBackoff * round, deadline - now);
      std::this_thread::sleep_for(wait);
    } else {
      std::vector<Conn*> candidates;
      for (const auto& [index, conn] : order) candidates.push_back(conn);
      internal::WaitForAnyReachable(candidates, deadline);
    }
  }
}

template <typename Resp, typename Fn>
Result<Resp> Client::InvokeOn(const std::string& endpoint, Policy policy, Fn&& call) {
  for (const auto& c : conns_) {
    if (c->endpoint == endpoint) return Invoke<Resp>(policy, c.get(), std::forward<Fn>(call));
  }
  ASSIGN_OR_RETURN(auto conn, internal::Dial(config_, endpoint));
  return Invoke<Resp>(policy, conn.get(), std::forward<Fn>(call));
}

etcdd::Status Client::RefreshToken() {
  {
    std::lock_guard lock(mu_);
    token_.clear();  // Authenticate must go out without the stale token
  }
  ASSIGN_OR_RETURN(auto resp, Authenticate(config_.user, config_.password));
  std::lock_guard lock(mu_);
  token_ = resp.token();
  return Status::Ok();
}

// Unary wrappers: one Invoke per RPC with the policy of clientv3's retry*Client.

Result<pb::RangeResponse> Client::Range(const pb::RangeRequest& req) {
  return Invoke<pb::RangeResponse>(Policy::kImmutable, nullptr,
                                   [&](Conn& c, grpc::ClientContext* ctx, pb::RangeResponse* r) {
                                     return c.kv->Range(ctx, req, r);
                                   });
}

Result<pb::PutResponse> Client::Put(const pb::PutRequest& req) {
  return Invoke<pb::PutResponse>(Policy::kMutable, nullptr,
                                 [&](Conn& c, grpc::ClientContext* ctx, pb::PutResponse* r) {
                                   return c.kv->Put(ctx, req, r);
                                 });
}

Result<pb::DeleteRangeResponse> Client::DeleteRange(const pb::DeleteRangeRequest& req) {
  return Invoke<pb::DeleteRangeResponse>(
      Policy::kMutable, nullptr,
      [&](Conn& c, grpc::ClientContext* ctx, pb::DeleteRangeResponse* r) {
        return c.kv->DeleteRange(ctx, req, r);
      });
}

Result<pb::TxnResponse> Client::Txn(const pb::TxnRequest& req) {
  return Invoke<pb::TxnResponse>(Policy::kMutable, nullptr,
                                 [&](Conn& c, grpc::ClientContext* ctx, pb::TxnResponse* r) {
                                   return c.kv->Txn(ctx, req, r);
                                 });
}

Result<pb::CompactionResponse> Client::Compact(const pb::CompactionRequest& req) {
  return Invoke<pb::CompactionResponse>(
      Policy::kMutable, nullptr, [&](Conn& c, grpc::ClientContext* ctx, pb::CompactionResponse* r) {
        return c.kv->Compact(ctx, req, r);
      });
}

Result<pb::LeaseGrantResponse> Client::LeaseGrant(const pb::LeaseGrantRequest& req) {
  return Invoke<pb::LeaseGrantResponse>(
      Policy::kMutable, nullptr, [&](Conn& c, grpc::ClientContext* ctx, pb::LeaseGrantResponse* r) {
        return c.lease->LeaseGrant(ctx, req, r);
      });
}

Result<pb::LeaseRevokeResponse> Client::LeaseRevoke(const pb::LeaseRevokeRequest& req) {
  return Invoke<pb::LeaseRevokeResponse>(
      Policy::kMutable, nullptr,
      [&](Conn& c, grpc::ClientContext* ctx, pb::LeaseRevokeResponse* r) {
        return c.lease->LeaseRevoke(ctx, req, r);
      });
}

Result<pb::LeaseTimeToLiveResponse> Client::LeaseTimeToLive(const pb::LeaseTimeToLiveRequest& req) {
  return Invoke<pb::LeaseTimeToLiveResponse>(
      Policy::kImmutable, nullptr,
      [&](Conn& c, grpc::ClientContext* ctx, pb::LeaseTimeToLiveResponse* r) {
        return c.lease->LeaseTimeToLive(ctx, req, r);
      });
}

Result<pb::MemberAddResponse> Client::MemberAdd(const pb::MemberAddRequest& req) {
  return Invoke<pb::MemberAddResponse>(
      Policy::kMutable, nullptr, [&](Conn& c, grpc::ClientContext* ctx, pb::MemberAddResponse* r) {
        return c.cluster->MemberAdd(ctx, req, r);
      });
}

Result<pb::MemberRemoveResponse> Client::MemberRemove(const pb::MemberRemoveRequest& req) {
  return Invoke<pb::MemberRemoveResponse>(
      Policy::kMutable, nullptr,
      [&](Conn& c, grpc::ClientContext* ctx, pb::MemberRemoveResponse* r) {
        return c.cluster->MemberRemove(ctx, req, r);
      });
}

Result<pb::MemberUpdateResponse> Client::MemberUpdate(const pb::MemberUpdateRequest& req) {
  return Invoke<pb::MemberUpdateResponse>(
      Policy::kMutable, nullptr,
      [&](Conn& c, grpc::ClientContext* ctx, pb::MemberUpdateResponse* r) {
        return c.cluster->MemberUpdate(ctx, req, r);
      });
}

Result<pb::MemberPromoteResponse> Client::MemberPromote(const pb::MemberPromoteRequest& req) {
  return Invoke<pb::MemberPromoteResponse>(
      Policy::kMutable, nullptr,
      [&](Conn& c, grpc::ClientContext* ctx, pb::MemberPromoteResponse* r) {
        return c.cluster->MemberPromote(ctx, req, r);
      });
}

Result<pb::LeaseLeasesResponse> Client::LeaseLeases() {
  const pb::LeaseLeasesRequest req;
  return Invoke<pb::LeaseLeasesResponse>(
      Policy::kImmutable, nullptr,
      [&](Conn& c, grpc::ClientContext* ctx, pb::LeaseLeasesResponse* r) {
        return c.lease->LeaseLeases(ctx, req, r);
      });
}

Result<pb::MemberListResponse> Client::MemberList() {
  const pb::MemberListRequest req;
  return Invoke<pb::MemberListResponse>(
      Policy::kImmutable, nullptr,
      [&](Conn& c, grpc::ClientContext* ctx, pb::MemberListResponse* r) {
        return c.cluster->MemberList(ctx, req, r);
      });
}

Result<pb::AlarmResponse> Client::Alarm(const pb::AlarmRequest& req) {
  const Policy policy =
      req.action() == pb::AlarmRequest::GET ? Policy::kImmutable : Policy::kMutable;
  return Invoke<pb::AlarmResponse>(policy, nullptr,
                                   [&](Conn& c, grpc::ClientContext* ctx, pb::AlarmResponse* r) {
                                     return c.maintenance->Alarm(ctx, req, r);
                                   });
}

Result<pb::StatusResponse> Client::Status(const std::string& endpoint) {
  const pb::StatusRequest req;
  return InvokeOn<pb::StatusResponse>(
      endpoint, Policy::kImmutable, [&](Conn& c, grpc::ClientContext* ctx, pb::StatusResponse* r) {
        return c.maintenance->Status(ctx, req, r);
      });
}

Result<pb::DefragmentResponse> Client::Defragment(const std::string& endpoint) {
  const pb::DefragmentRequest req;
  return InvokeOn<pb::DefragmentResponse>(
      endpoint, Policy::kMutable,
      [&](Conn& c, grpc::ClientContext* ctx, pb::DefragmentResponse* r) {
        return c.maintenance->Defragment(ctx, req, r);
      });
}

Result<pb::HashKVResponse> Client::HashKV(const std::string& endpoint, int64_t revision) {
  pb::HashKVRequest req;
  req.set_revision(revision);
  return InvokeOn<pb::HashKVResponse>(
      endpoint, Policy::kImmutable, [&](Conn& c, grpc::ClientContext* ctx, pb::HashKVResponse* r) {
        return c.maintenance->HashKV(ctx, req, r);
      });
}

Result<pb::MoveLeaderResponse> Client::MoveLeader(const std::string& endpoint, uint64_t target_id) {
  pb::MoveLeaderRequest req;
  req.set_targetid(target_id);
  return InvokeOn<pb::MoveLeaderResponse>(
      endpoint, Policy::kImmutable,
      [&](Conn& c, grpc::ClientContext* ctx, pb::MoveLeaderResponse* r) {
        return c.maintenance->MoveLeader(ctx, req, r);
      });
}

Result<pb::AuthenticateResponse> Client::Authenticate(const std::string& user,
                                                      const std::string& password) {
  pb::AuthenticateRequest req;
  req.set_name(user);
  req.set_password(password);
  return Invoke<pb::AuthenticateResponse>(
      Policy::kMutable, nullptr,
      [&](Conn& c, grpc::ClientContext* ctx, pb::AuthenticateResponse* r) {
        return c.auth->Authenticate(ctx, req, r);
      });
}

etcdd::Status Client::Snapshot(
    const std::string& endpoint, std::chrono::milliseconds timeout,
    const std::function<etcdd::Status(const pb::SnapshotResponse&)>& on_chunk) {
  std::unique_ptr<Conn> dialled;
  Conn* conn = nullptr;
  for (const auto& c : conns_) {
    if (c->endpoint == endpoint) conn = c.get();
  }
  if (conn == nullptr) {
    ASSIGN_OR_RETURN(dialled, internal::Dial(config_, endpoint));
    conn = dialled.get();
  }
  grpc::ClientContext ctx;
  if (timeout.count() > 0) ctx.set_deadline(Clock::now() + timeout);
  PrepareContext(&ctx);
  auto reader = conn->maintenance->Snapshot(&ctx, pb::SnapshotRequest());
  pb::SnapshotResponse chunk;
  etcdd::Status sink_status;
  while (sink_status.ok() && reader->Read(&chunk)) {
    sink_status = on_chunk(chunk);
  }
  if (!sink_status.ok()) ctx.TryCancel();
  const grpc::Status s = reader->Finish();
  if (!sink_status.ok()) return sink_status;
  return s.ok() ? Status::Ok() : FromGrpcStatus(s);
}

}  // namespace etcdd::client

namespace etcdd::client {

// Auth service wrappers, with clientv3's retryAuthClient policies.

Result<pb::AuthEnableResponse> Client::AuthEnable() {
  const pb::AuthEnableRequest req;
  return Invoke<pb::AuthEnableResponse>(Policy::kMutable, nullptr,
                                        AuthCall(&pb::Auth::Stub::AuthEnable, req));
}

Result<pb::AuthDisableResponse> Client::AuthDisable() {
  const pb::AuthDisableRequest req;
  return Invoke<pb::AuthDisableResponse>(Policy::kMutable, nullptr,
                                         AuthCall(&pb::Auth::Stub::AuthDisable, req));
}

Result<pb::AuthStatusResponse> Client::AuthStatus() {
  const pb::AuthStatusRequest req;
  return Invoke<pb::AuthStatusResponse>(Policy::kImmutable, nullptr,
                                        AuthCall(&pb::Auth::Stub::AuthStatus, req));
}

Result<pb::AuthUserAddResponse> Client::UserAdd(const pb::AuthUserAddRequest& req) {
  return Invoke<pb::AuthUserAddResponse>(Policy::kMutable, nullptr,
                                         AuthCall(&pb::Auth::Stub::UserAdd, req));
}

Result<pb::AuthUserGetResponse> Client::UserGet(const pb::AuthUserGetRequest& req) {
  return Invoke<pb::AuthUserGetResponse>(Policy::kImmutable, nullptr,
                                         AuthCall(&pb::Auth::Stub::UserGet, req));
}

Result<pb::AuthUserListResponse> Client::UserList() {
  const pb::AuthUserListRequest req;
  return Invoke<pb::AuthUserListResponse>(Policy::kImmutable, nullptr,
                                          AuthCall(&pb::Auth::Stub::UserList, req));
}

Result<pb::AuthUserDeleteResponse> Client::UserDelete(const pb::AuthUserDeleteRequest& req) {
  return Invoke<pb::AuthUserDeleteResponse>(Policy::kMutable, nullptr,
                                            AuthCall(&pb::Auth::Stub::UserDelete, req));
}

Result<pb::AuthUserChangePasswordResponse> Client::UserChangePassword(
    const pb::AuthUserChangePasswordRequest& req) {
  return Invoke<pb::AuthUserChangePasswordResponse>(
      Policy::kMutable, nullptr, AuthCall(&pb::Auth::Stub::UserChangePassword, req));
}

Result<pb::AuthUserGrantRoleResponse> Client::UserGrantRole(
    const pb::AuthUserGrantRoleRequest& req) {
  return Invoke<pb::AuthUserGrantRoleResponse>(Policy::kMutable, nullptr,
                                               AuthCall(&pb::Auth::Stub::UserGrantRole, req));
}

Result<pb::AuthUserRevokeRoleResponse> Client::UserRevokeRole(
    const pb::AuthUserRevokeRoleRequest& req) {
  return Invoke<pb::AuthUserRevokeRoleResponse>(Policy::kMutable, nullptr,
                                                AuthCall(&pb::Auth::Stub::UserRevokeRole, req));
}

Result<pb::AuthRoleAddResponse> Client::RoleAdd(const pb::AuthRoleAddRequest& req) {
  return Invoke<pb::AuthRoleAddResponse>(Policy::kMutable, nullptr,
                                         AuthCall(&pb::Auth::Stub::RoleAdd, req));
}

Result<pb::AuthRoleGetResponse> Client::RoleGet(const pb::AuthRoleGetRequest& req) {
  return Invoke<pb::AuthRoleGetResponse>(Policy::kImmutable, nullptr,
                                         AuthCall(&pb::Auth::Stub::RoleGet, req));
}

Result<pb::AuthRoleListResponse> Client::RoleList() {
  const pb::AuthRoleListRequest req;
  return Invoke<pb::AuthRoleListResponse>(Policy::kImmutable, nullptr,
                                          AuthCall(&pb::Auth::Stub::RoleList, req));
}

Result<pb::AuthRoleDeleteResponse> Client::RoleDelete(const pb::AuthRoleDeleteRequest& req) {
  return Invoke<pb::AuthRoleDeleteResponse>(Policy::kMutable, nullptr,
                                            AuthCall(&pb::Auth::Stub::RoleDelete, req));
}

Result<pb::AuthRoleGrantPermissionResponse> Client::RoleGrantPermission(
    const pb::AuthRoleGrantPermissionRequest& req) {
  return Invoke<pb::AuthRoleGrantPermissionResponse>(
      Policy::kMutable, nullptr, AuthCall(&pb::Auth::Stub::RoleGrantPermission, req));
}

Result<pb::AuthRoleRevokePermissionResponse> Client::RoleRevokePermission(
    const pb::AuthRoleRevokePermissionRequest& req) {
  return Invoke<pb::AuthRoleRevokePermissionResponse>(
      Policy::kMutable, nullptr, AuthCall(&pb::Auth::Stub::RoleRevokePermission, req));
}

}  // namespace etcdd::client
