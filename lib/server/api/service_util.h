// Internal to lib/server/api: what every client-facing service does with a
// call: etcd's admission checks, deadlines, and Status -> grpc::Status.
#pragma once

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "auth/store.h"
#include "base/grpc_status.h"
#include "base/status.h"
#include "server/server.h"

namespace etcdd::server::api_internal {

// The client's deadline, capped at 30 s (a call without one would wait
// forever).
inline std::chrono::steady_clock::time_point Deadline(const grpc::ServerContext& ctx) {
  auto cap = std::chrono::system_clock::now() + std::chrono::seconds(30);
  auto until = std::min(ctx.deadline(), cap);
  return std::chrono::steady_clock::now() + (until - std::chrono::system_clock::now());
}

// etcd's unary interceptor: a learner serves only Status and serializable
// Range ("etcdserver: rpc not supported for learner"); a request whose
// metadata says "hasleader: true" (clientv3.WithRequireLeader) fails with
// "etcdserver: no leader" while this member has none, instead of waiting.
inline grpc::Status Admit(const grpc::ServerContextBase& ctx, const EtcdServer& s,
                          bool learner_ok) {
  if (!learner_ok && s.is_learner()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: rpc not supported for learner");
  }
  if (s.leader() != 0) return grpc::Status::OK;
  auto it = ctx.client_metadata().find("hasleader");
  if (it == ctx.client_metadata().end() || it->second != "true") return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: no leader");
}

// The common name (CN) of the client certificate that the TLS handshake of
// this call's connection verified, or "" for a connection without one
// (http://, or https:// without --client-cert-auth / --trusted-ca-file).
// gRPC exposes it as the auth context's "x509_common_name" property. For
// CN-based authentication: etcd 3.4's AuthInfoFromTLS uses the CN of the
// verified chain's leaf as the user name when a call carries no token.
inline std::string CommonNameOf(const grpc::ServerContextBase& ctx) {
  auto auth = ctx.auth_context();
  if (!auth) return "";
  auto values = auth->FindPropertyValues("x509_common_name");
  if (values.empty()) return "";
  return std::string(values.front().data(), values.front().size());
}

// The client of a call, as etcd's AuthInfoFromCtx finds it: the user and
// revision of its "token" metadata; without one, with --client-cert-auth,
// its verified certificate's common name. An empty AuthInfo while auth is
// disabled, or for a call with neither. Errors: Unauthenticated
// "etcdserver: invalid auth token".
inline Result<auth::AuthInfo> Caller(const grpc::ServerContextBase& ctx, const EtcdServer& s) {
  const auth::AuthStore& as = s.auth_store();
  if (!as.enabled()) return auth::AuthInfo{};
  const auto& md = ctx.client_metadata();
  if (auto it = md.find("token"); it != md.end()) {
    const std::string_view token(it->second.data(), it->second.size());
    // etcd's isValidSimpleToken: a token issued through another member is
    // known here once its entry is applied.
    if (as.IsSimpleTokens()) {
      if (auto index = auth::SimpleTokenIndex(token)) {
        s.WaitApplied(*index, std::chrono::steady_clock::now() + std::chrono::seconds(5));
      }
    }
    return as.InfoFromToken(token);
  }
  if (s.config().client_tls.client_cert_auth) {
    if (std::string cn = CommonNameOf(ctx); !cn.empty()) return as.InfoFromCommonName(cn);
  }
  return auth::AuthInfo{};
}

// Declares `who`, the Caller of the handler's call, or returns its error.
#define CALLER(who, ctx)                                               \
  auto who##_or = ::etcdd::server::api_internal::Caller(*(ctx), s_);   \
  if (!who##_or.ok()) return ::etcdd::ToGrpcStatus(who##_or.status()); \
  const ::etcdd::auth::AuthInfo& who = *who##_or

// Whether the call's Caller has the root role while auth is enabled (etcd's
// IsAdminPermitted), as a gRPC status. Membership changes convert the
// error to etcd's rpctypes ("etcdserver: permission denied"); etcd 3.4's
// Maintenance returns the auth store's own error unconverted, which clients
// see as UNKNOWN "auth: permission denied" (`unconverted`).
inline grpc::Status CheckAdmin(const grpc::ServerContextBase& ctx, const EtcdServer& s,
                               bool unconverted) {
  auto who = Caller(ctx, s);
  Status st = who.ok() ? s.auth_store().CheckAdmin(*who) : who.status();
  if (st.ok() || !unconverted) return ToGrpcStatus(st);
  constexpr std::pair<std::string_view, std::string_view> kAuthText[] = {
      {"etcdserver: user name is empty", "auth: user name is empty"},
      {"etcdserver: user name not found", "auth: user not found"},
      {"etcdserver: permission denied", "auth: permission denied"},
      {"etcdserver: invalid auth token", "auth: invalid auth token"},
  };
  for (const auto& [converted, raw] : kAuthText) {
    if (st.message() == converted) return grpc::Status(grpc::StatusCode::UNKNOWN, std::string(raw));
  }
  return ToGrpcStatus(st);
}

// Returns from the handler unless CheckAdmin passes.
#define REQUIRE_ADMIN(ctx, unconverted)                                                        \
  if (grpc::Status admin = ::etcdd::server::api_internal::CheckAdmin(*(ctx), s_, unconverted); \
      !admin.ok()) {                                                                           \
    return admin;                                                                              \
  }

// Returns the Admit error from the calling handler, if any.
#define ADMIT(ctx, learner_ok)                                                              \
  if (grpc::Status admitted = ::etcdd::server::api_internal::Admit(*(ctx), s_, learner_ok); \
      !admitted.ok()) {                                                                     \
    return admitted;                                                                        \
  }

template <typename Response>
grpc::Status Reply(Result<Response> r, Response* out) {
  if (!r.ok()) return ToGrpcStatus(r.status());
  *out = std::move(r).value();
  return grpc::Status::OK;
}

// A unary callback-API call through Raft: runs `call` with a completion that
// fills `resp` and finishes the call, and the call's Caller.
template <typename Response, typename Call>
grpc::ServerUnaryReactor* StartUnary(EtcdServer& s, grpc::CallbackServerContext* ctx,
                                     Response* resp, Call call) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (grpc::Status admitted = Admit(*ctx, s, false); !admitted.ok()) {
    reactor->Finish(admitted);
    return reactor;
  }
  auto who = Caller(*ctx, s);
  if (!who.ok()) {
    reactor->Finish(ToGrpcStatus(who.status()));
    return reactor;
  }
  call(EtcdServer::Done<Response>(
           [reactor, resp](Result<Response> r) { reactor->Finish(Reply(std::move(r), resp)); }),
       *who);
  return reactor;
}

}  // namespace etcdd::server::api_internal
