// etcd's Auth service (etcdserver/api/v3rpc/auth.go over v3_server.go's
// Auth* methods): every request goes through Raft and is checked when
// applied (auth::AuthStore). Passwords are bcrypt-hashed here, before
// proposing, so the WAL never holds one in plain text; Authenticate checks
// the password here too and proposes only the user name and a token prefix.
#include <grpcpp/grpcpp.h>

#include <future>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "server/api/service_util.h"
#include "server/api/services.h"

namespace etcdd::server {

namespace {

namespace pb = etcdserverpb;
using api_internal::Deadline;
using api_internal::Reply;

class AuthService final : public pb::Auth::Service {
 public:
  explicit AuthService(EtcdServer& s) : s_(s) {}

  grpc::Status AuthEnable(grpc::ServerContext* ctx, const pb::AuthEnableRequest* req,
                          pb::AuthEnableResponse* resp) override {
    serverpb::InternalRequest ir;
    *ir.mutable_auth_enable() = *req;
    return Call(ctx, std::move(ir), resp);
  }
  grpc::Status AuthDisable(grpc::ServerContext* ctx, const pb::AuthDisableRequest* req,
                           pb::AuthDisableResponse* resp) override {
    serverpb::InternalRequest ir;
    *ir.mutable_auth_disable() = *req;
    return Call(ctx, std::move(ir), resp);
  }

  // etcd 3.5's AuthStatus: whether auth is on and the auth revision, after
  // a ReadIndex round (etcd 3.5 orders it through the log); any client may
  // ask.
  grpc::Status AuthStatus(grpc::ServerContext* ctx, const pb::AuthStatusRequest*,
                          pb::AuthStatusResponse* resp) override {
    ADMIT(ctx, false);
    if (Status s = s_.WaitLinearizable(); !s.ok()) return ToGrpcStatus(s);
    resp->set_enabled(s_.auth_store().enabled());
    resp->set_authrevision(s_.auth_store().revision());
    s_.FillHeader(resp->mutable_header());
    return grpc::Status::OK;
  }

  // etcd's Authenticate: after a ReadIndex round, checks the password
  // against the auth store, proposes the name and a token prefix, and
  // starts over if the auth store changed in between.
  grpc::Status Authenticate(grpc::ServerContext* ctx, const pb::AuthenticateRequest* req,
                            pb::AuthenticateResponse* resp) override {
    ADMIT(ctx, false);
    if (Status s = s_.WaitLinearizable(); !s.ok()) return ToGrpcStatus(s);
    const auto deadline = Deadline(*ctx);
    auth::AuthStore& as = s_.auth_store();
    while (true) {
      auto checked = as.CheckPassword(req->name(), req->password());
      if (!checked.ok()) return ToGrpcStatus(checked.status());
      serverpb::InternalRequest ir;
      ir.mutable_authenticate()->set_name(req->name());
      ir.mutable_authenticate()->set_simple_token(as.GenTokenPrefix());
      grpc::Status st = Propose(std::move(ir), auth::AuthInfo{}, resp);
      if (!st.ok() || *checked == as.revision()) return st;
      if (std::chrono::steady_clock::now() >= deadline) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: request timed out");
      }
    }
  }

  grpc::Status UserAdd(grpc::ServerContext* ctx, const pb::AuthUserAddRequest* req,
                       pb::AuthUserAddResponse* resp) override {
    serverpb::InternalRequest ir;
    pb::AuthUserAddRequest* add = ir.mutable_user_add();
    add->set_name(req->name());
    *add->mutable_options() = req->options();
    if (!req->options().no_password()) {
      auto hash = s_.auth_store().HashPassword(req->password());
      if (!hash.ok()) return ToGrpcStatus(hash.status());
      add->set_hashedpassword(std::move(hash).value());
    }
    return Call(ctx, std::move(ir), resp);
  }
  grpc::Status UserGet(grpc::ServerContext* ctx, const pb::AuthUserGetRequest* req,
                       pb::AuthUserGetResponse* resp) override {
    serverpb::InternalRequest ir;
    *ir.mutable_user_get() = *req;
    return Call(ctx, std::move(ir), resp);
  }
  grpc::Status UserList(grpc::ServerContext* ctx, const pb::AuthUserListRequest* req,
                        pb::AuthUserListResponse* resp) override {
    serverpb::InternalRequest ir;
    *ir.mutable_user_list() = *req;
    return Call(ctx, std::move(ir), resp);
  }
  grpc::Status UserDelete(grpc::ServerContext* ctx, const pb::AuthUserDeleteRequest* req,
                          pb::AuthUserDeleteResponse* resp) override {
    serverpb::InternalRequest ir;
    *ir.mutable_user_delete() = *req;
    return Call(ctx, std::move(ir), resp);
  }
  grpc::Status UserChangePassword(grpc::ServerContext* ctx,
                                  const pb::AuthUserChangePasswordRequest* req,
                                  pb::AuthUserChangePasswordResponse* resp) override {
    serverpb::InternalRequest ir;
    ir.mutable_user_change_password()->set_name(req->name());
    auto hash = s_.auth_store().HashPassword(req->password());
    if (!hash.ok()) return ToGrpcStatus(hash.status());
    ir.mutable_user_change_password()->set_hashedpassword(std::move(hash).value());
    return Call(ctx, std::move(ir), resp);
  }
  grpc::Status UserGrantRole(grpc::ServerContext* ctx, const pb::AuthUserGrantRoleRequest* req,
                             pb::AuthUserGrantRoleResponse* resp) override {
    serverpb::InternalRequest ir;
    *ir.mutable_user_grant_role() = *req;
    return Call(ctx, std::move(ir), resp);
  }
  grpc::Status UserRevokeRole(grpc::ServerContext* ctx, const pb::AuthUserRevokeRoleRequest* req,
                              pb::AuthUserRevokeRoleResponse* resp) override {
    serverpb::InternalRequest ir;
    *ir.mutable_user_revoke_role() = *req;
    return Call(ctx, std::move(ir), resp);
  }
  grpc::Status RoleAdd(grpc::ServerContext* ctx, const pb::AuthRoleAddRequest* req,
                       pb::AuthRoleAddResponse* resp) override {
    serverpb::InternalRequest ir;
    *ir.mutable_role_add() = *req;
    return Call(ctx, std::move(ir), resp);
  }
  grpc::Status RoleGet(grpc::ServerContext* ctx, const pb::AuthRoleGetRequest* req,
                       pb::AuthRoleGetResponse* resp) override {
    serverpb::InternalRequest ir;
    *ir.mutable_role_get() = *req;
    return Call(ctx, std::move(ir), resp);
  }
  grpc::Status RoleList(grpc::ServerContext* ctx, const pb::AuthRoleListRequest* req,
                        pb::AuthRoleListResponse* resp) override {
    serverpb::InternalRequest ir;
    *ir.mutable_role_list() = *req;
    return Call(ctx, std::move(ir), resp);
  }
  grpc::Status RoleDelete(grpc::ServerContext* ctx, const pb::AuthRoleDeleteRequest* req,
                          pb::AuthRoleDeleteResponse* resp) override {
    serverpb::InternalRequest ir;
    *ir.mutable_role_delete() = *req;
    return Call(ctx, std::move(ir), resp);
  }
  grpc::Status RoleGrantPermission(grpc::ServerContext* ctx,
                                   const pb::AuthRoleGrantPermissionRequest* req,
                                   pb::AuthRoleGrantPermissionResponse* resp) override {
    serverpb::InternalRequest ir;
    *ir.mutable_role_grant_permission() = *req;
    return Call(ctx, std::move(ir), resp);
  }
  grpc::Status RoleRevokePermission(grpc::ServerContext* ctx,
                                    const pb::AuthRoleRevokePermissionRequest* req,
                                    pb::AuthRoleRevokePermissionResponse* resp) override {
    serverpb::InternalRequest ir;
    *ir.mutable_role_revoke_permission() = *req;
    return Call(ctx, std::move(ir), resp);
  }

 private:
  // Proposes `ir` from the call's client and waits for its answer.
  template <typename Response>
  grpc::Status Call(grpc::ServerContext* ctx, serverpb::InternalRequest ir, Response* resp) {
    ADMIT(ctx, false);
    CALLER(who, ctx);
    return Propose(std::move(ir), who, resp);
  }
  template <typename Response>
  grpc::Status Propose(serverpb::InternalRequest ir, const auth::AuthInfo& who, Response* resp) {
    std::promise<Result<Response>> done;
    auto result = done.get_future();
    s_.ProposeAuth<Response>(std::move(ir), who,
                             [&done](Result<Response> r) { done.set_value(std::move(r)); });
    return Reply(result.get(), resp);
  }

  EtcdServer& s_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewAuthService(EtcdServer& server) {
  return std::make_unique<AuthService>(server);
}

}  // namespace etcdd::server
