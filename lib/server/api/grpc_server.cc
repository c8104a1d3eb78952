#include "server/api/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>

#include "base/file.h"
#include "base/go_text.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "server/api/service_util.h"
#include "server/api/services.h"
#include "server/api/watch_service.h"

namespace etcdd::server {

namespace {

namespace pb = etcdserverpb;
using api_internal::Admit;

// etcd's grpcOverheadBytes: room for gRPC framing above --max-request-bytes.
constexpr uint64_t kGrpcOverheadBytes = 512 * 1024;

// Whether a call asked for a leader (clientv3.WithRequireLeader).
bool AskedForLeader(const grpc::CallbackServerContext& ctx) {
  auto it = ctx.client_metadata().find("hasleader");
  return it != ctx.client_metadata().end() && it->second == "true";
}

}  // namespace

Status CheckListenable(const std::vector<Url>& urls) {
  for (const auto& u : urls) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* res = nullptr;
    std::string port = std::to_string(u.port);
    int rc = ::getaddrinfo(u.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0) {
      return Status::FailedPrecondition("listen tcp " + u.HostPort() + ": lookup " + u.host + ": " +
                                        gai_strerror(rc));
    }
    int err = 0;
    {
      UniqueFd fd(::socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol));
      int one = 1;
      if (!fd.valid() || ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
          ::bind(fd.get(), res->ai_addr, res->ai_addrlen) != 0) {
        err = errno;
      }
    }
    ::freeaddrinfo(res);
    if (err != 0) {
      // Go's wording, which operators grep for: "bind: address already in use".
      return Status::FailedPrecondition("listen tcp " + u.HostPort() + ": bind: " +
                                        GoErrnoText(err));
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<GrpcServer>> GrpcServer::Start(const std::vector<Url>& listen_urls,
                                                      uint64_t max_request_bytes,
                                                      const tls::TlsInfo& tls, EtcdServer& server,
                                                      Logger& logger) {
  std::unique_ptr<GrpcServer> g(new GrpcServer(server));
  grpc::ServerBuilder builder;
  std::shared_ptr<grpc::ServerCredentials> secure;
  for (const auto& u : listen_urls) {
    if (u.scheme != "http" && u.scheme != "https") {
      return Status::InvalidArgument("listen URL " + u.ToString() +
                                     ": only http:// and https:// client URLs are supported");
    }
    if (u.scheme == "http") {
      if (!tls.Empty()) {
        logger.Warn(
            "scheme is HTTP while key and cert files are present; ignoring key and cert "
            "files",
            {{"client-url", u.ToString()}});
      }
      if (tls.client_cert_auth) {
        logger.Warn(
            "scheme is HTTP while --client-cert-auth is enabled; ignoring client cert "
            "auth for this URL",
            {{"client-url", u.ToString()}});
      }
      builder.AddListeningPort(u.HostPort(), grpc::InsecureServerCredentials());
      continue;
    }
    if (tls.Empty()) {
      return Status::InvalidArgument(
          "TLS key/cert (--cert-file, --key-file) must be provided for "
          "client url " +
          u.ToString() + " with HTTPS scheme");
    }
    if (!secure) {
      ASSIGN_OR_RETURN(secure, tls::ServerCredentials(tls, "client", logger));
    }
    builder.AddListeningPort(u.HostPort(), secure);
  }
  // gRPC binds with SO_REUSEPORT by default, which would let a second etcdd
  // on the same port take half of this one's connections; etcd's listeners
  // refuse a port in use, and so do ours.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(static_cast<int>(max_request_bytes + kGrpcOverheadBytes));
  builder.SetMaxSendMessageSize(INT_MAX);
  // Keep idle handler threads as pollers instead of ending them: with many
  // concurrent blocking calls the default (2) made gRPC create and destroy a
  // thread for most requests.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 256);
  g->services_.push_back(NewKvService(server));
  g->services_.push_back(NewMaintenanceService(server));
  g->services_.push_back(NewClusterService(server));
  g->services_.push_back(NewLeaseService(server));
  WatchServiceOptions watch;
  watch.max_request_bytes = max_request_bytes;
  watch.fill_header = [&server](pb::ResponseHeader* h) { server.FillHeader(h); };
  watch.admit = [&server](const grpc::CallbackServerContext& ctx) {
    return Admit(ctx, server, false);
  };
  // etcd's isWatchPermitted: any failure, an invalid token included, is
  // "permission denied".
  watch.authorize = [&server](const grpc::CallbackServerContext& ctx,
                              const pb::WatchCreateRequest& req) -> Status {
    auto who = api_internal::Caller(ctx, server);
    if (who.ok() && server.auth_store().CheckRange(*who, req.key(), req.range_end()).ok()) {
      return Status::Ok();
    }
    return auth::ErrPermissionDenied();
  };
  auto watch_service = std::make_unique<WatchService>(server.watch_hub(), watch, logger);
  g->watch_ = watch_service.get();
  g->services_.push_back(std::move(watch_service));
  g->recipes_ = std::make_unique<Recipes>(server, server.watch_hub());
  g->services_.push_back(NewLockService(server, *g->recipes_));
  g->services_.push_back(NewElectionService(server, *g->recipes_));
  g->services_.push_back(NewAuthService(server));
  for (auto& s : g->services_) builder.RegisterService(s.get());
  g->server_ = builder.BuildAndStart();
  if (!g->server_) {
    return Status::FailedPrecondition("cannot listen on the client URLs");
  }
  // etcd's monitorLeader: streams that asked for a leader end without one.
  WatchService* watch_service_ptr = g->watch_;
  server.SetLeaderLostHook([watch_service_ptr] {
    watch_service_ptr->AbortStreams(
        AskedForLeader, grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: no leader"));
  });
  for (const auto& u : listen_urls) {
    if (u.scheme == "https") {
      logger.Info("serving client traffic securely", {{"address", u.HostPort()}});
    } else {
      logger.Info("serving client traffic insecurely; this is strongly discouraged!",
                  {{"address", u.HostPort()}});
    }
  }
  return g;
}

GrpcServer::~GrpcServer() { Shutdown(0); }

void GrpcServer::Shutdown(int grace_ms) {
  if (!server_) return;
  server_ref_.SetLeaderLostHook({});
  watch_->AbortStreams([](const grpc::CallbackServerContext&) { return true; },
                       grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: server stopped"));
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(grace_ms));
  server_->Wait();
  server_.reset();
}

}  // namespace etcdd::server
