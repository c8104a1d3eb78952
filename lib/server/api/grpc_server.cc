#include "server/api/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <future>

#include "base/file.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "server/api/recipe_services.h"
#include "server/api/service_util.h"
#include "server/api/watch_service.h"
#include "v3electionpb/v3election.grpc.pb.h"
#include "v3lockpb/v3lock.grpc.pb.h"

namespace etcdd::server {

namespace {

namespace pb = etcdserverpb;
using api_internal::Admit;
using api_internal::Deadline;
using api_internal::Reply;
using api_internal::ToGrpc;

// etcd's grpcOverheadBytes: room for gRPC framing above --max-request-bytes.
constexpr uint64_t kGrpcOverheadBytes = 512 * 1024;

// Whether a call asked for a leader (clientv3.WithRequireLeader).
bool AskedForLeader(const grpc::CallbackServerContext& ctx) {
  auto it = ctx.client_metadata().find("hasleader");
  return it != ctx.client_metadata().end() && it->second == "true";
}

// A unary callback-API call through Raft: runs `call` with a completion that
// fills `resp` and finishes the call.
template <typename Response, typename Call>
grpc::ServerUnaryReactor* StartUnary(EtcdServer& s, grpc::CallbackServerContext* ctx,
                                     Response* resp, Call call) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (grpc::Status admitted = Admit(*ctx, s, false); !admitted.ok()) {
    reactor->Finish(admitted);
    return reactor;
  }
  call(EtcdServer::Done<Response>(
      [reactor, resp](Result<Response> r) { reactor->Finish(Reply(std::move(r), resp)); }));
  return reactor;
}

// Put, DeleteRange and Compact use gRPC's callback API: no thread waits while
// a request goes through Raft; the apply thread finishes the call. This took
// put throughput at 100 clients from ~16k/s to ~23k/s here (context switches
// per put 2.6 -> 0.9). Range and Txn stay synchronous: a linearizable read
// (and a read-only Txn is one) waits for its ReadIndex round.
using KvBase = pb::KV::WithCallbackMethod_Put<
    pb::KV::WithCallbackMethod_DeleteRange<pb::KV::WithCallbackMethod_Compact<pb::KV::Service>>>;

class KvService final : public KvBase {
 public:
  explicit KvService(EtcdServer& s) : s_(s) {}
  grpc::Status Range(grpc::ServerContext* ctx, const pb::RangeRequest* req,
                     pb::RangeResponse* resp) override {
    ADMIT(ctx, req->serializable());
    return Reply(s_.Range(*req), resp);
  }
  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* ctx, const pb::PutRequest* req,
                                pb::PutResponse* resp) override {
    return StartUnary(s_, ctx, resp, [&](auto done) { s_.Put(*req, std::move(done)); });
  }
  grpc::ServerUnaryReactor* DeleteRange(grpc::CallbackServerContext* ctx,
                                        const pb::DeleteRangeRequest* req,
                                        pb::DeleteRangeResponse* resp) override {
    return StartUnary(s_, ctx, resp, [&](auto done) { s_.DeleteRange(*req, std::move(done)); });
  }
  // Synchronous: a read-only Txn is answered locally and, when linearizable,
  // waits for a ReadIndex round, which a callback thread must not do.
  grpc::Status Txn(grpc::ServerContext* ctx, const pb::TxnRequest* req,
                   pb::TxnResponse* resp) override {
    ADMIT(ctx, false);
    std::promise<Result<pb::TxnResponse>> done;
    auto result = done.get_future();
    s_.Txn(*req, [&done](Result<pb::TxnResponse> r) { done.set_value(std::move(r)); });
    return Reply(result.get(), resp);
  }
  grpc::ServerUnaryReactor* Compact(grpc::CallbackServerContext* ctx,
                                    const pb::CompactionRequest* req,
                                    pb::CompactionResponse* resp) override {
    return StartUnary(s_, ctx, resp, [&](auto done) { s_.Compact(*req, std::move(done)); });
  }

 private:
  EtcdServer& s_;
};

// Grant and Revoke go through Raft with the callback API, as the KV writes.
// KeepAlive is a synchronous stream: a renewal on a follower blocks while it
// is forwarded to the leader.
using LeaseBase = pb::Lease::WithCallbackMethod_LeaseGrant<
    pb::Lease::WithCallbackMethod_LeaseRevoke<pb::Lease::Service>>;

class LeaseService final : public LeaseBase {
 public:
  explicit LeaseService(EtcdServer& s) : s_(s) {}
  grpc::ServerUnaryReactor* LeaseGrant(grpc::CallbackServerContext* ctx,
                                       const pb::LeaseGrantRequest* req,
                                       pb::LeaseGrantResponse* resp) override {
    return StartUnary(s_, ctx, resp, [&](auto done) { s_.LeaseGrant(*req, std::move(done)); });
  }
  grpc::ServerUnaryReactor* LeaseRevoke(grpc::CallbackServerContext* ctx,
                                        const pb::LeaseRevokeRequest* req,
                                        pb::LeaseRevokeResponse* resp) override {
    return StartUnary(s_, ctx, resp, [&](auto done) { s_.LeaseRevoke(*req, std::move(done)); });
  }
  grpc::Status LeaseKeepAlive(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<pb::LeaseKeepAliveResponse, pb::LeaseKeepAliveRequest>* stream)
      override {
    ADMIT(ctx, false);
    pb::LeaseKeepAliveRequest req;
    while (stream->Read(&req)) {
      auto resp = s_.LeaseRenew(req.id(), Deadline(*ctx));
      if (!resp.ok()) return ToGrpc(resp.status());
      if (!stream->Write(*resp)) break;
    }
    return grpc::Status::OK;
  }
  grpc::Status LeaseTimeToLive(grpc::ServerContext* ctx, const pb::LeaseTimeToLiveRequest* req,
                               pb::LeaseTimeToLiveResponse* resp) override {
    ADMIT(ctx, false);
    return Reply(s_.LeaseTimeToLive(*req, Deadline(*ctx)), resp);
  }
  grpc::Status LeaseLeases(grpc::ServerContext* ctx, const pb::LeaseLeasesRequest*,
                           pb::LeaseLeasesResponse* resp) override {
    ADMIT(ctx, false);
    *resp = s_.LeaseLeases();
    return grpc::Status::OK;
  }

 private:
  EtcdServer& s_;
};

class MaintenanceService final : public pb::Maintenance::Service {
 public:
  explicit MaintenanceService(EtcdServer& s) : s_(s) {}
  grpc::Status Status(grpc::ServerContext* ctx, const pb::StatusRequest*,
                      pb::StatusResponse* resp) override {
    ADMIT(ctx, true);
    *resp = s_.MaintenanceStatus();
    return grpc::Status::OK;
  }
  grpc::Status HashKV(grpc::ServerContext* ctx, const pb::HashKVRequest* req,
                      pb::HashKVResponse* resp) override {
    ADMIT(ctx, false);
    return Reply(s_.HashKV(req->revision()), resp);
  }
  grpc::Status MoveLeader(grpc::ServerContext* ctx, const pb::MoveLeaderRequest* req,
                          pb::MoveLeaderResponse* resp) override {
    ADMIT(ctx, false);
    return Reply(s_.MoveLeader(req->targetid(), Deadline(*ctx)), resp);
  }

 private:
  EtcdServer& s_;
};

class ClusterService final : public pb::Cluster::Service {
 public:
  explicit ClusterService(EtcdServer& s) : s_(s) {}
  grpc::Status MemberList(grpc::ServerContext* ctx, const pb::MemberListRequest*,
                          pb::MemberListResponse* resp) override {
    ADMIT(ctx, false);
    *resp = s_.MemberList();
    return grpc::Status::OK;
  }
  grpc::Status MemberAdd(grpc::ServerContext* ctx, const pb::MemberAddRequest* req,
                         pb::MemberAddResponse* resp) override {
    ADMIT(ctx, false);
    return Reply(s_.MemberAdd(*req), resp);
  }
  grpc::Status MemberRemove(grpc::ServerContext* ctx, const pb::MemberRemoveRequest* req,
                            pb::MemberRemoveResponse* resp) override {
    ADMIT(ctx, false);
    return Reply(s_.MemberRemove(*req), resp);
  }
  grpc::Status MemberUpdate(grpc::ServerContext* ctx, const pb::MemberUpdateRequest* req,
                            pb::MemberUpdateResponse* resp) override {
    ADMIT(ctx, false);
    return Reply(s_.MemberUpdate(*req), resp);
  }
  grpc::Status MemberPromote(grpc::ServerContext* ctx, const pb::MemberPromoteRequest* req,
                             pb::MemberPromoteResponse* resp) override {
    ADMIT(ctx, false);
    return Reply(s_.MemberPromote(*req), resp);
  }

 private:
  EtcdServer& s_;
};

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
      std::string why = std::strerror(err);
      if (!why.empty()) why[0] = static_cast<char>(std::tolower(why[0]));
      return Status::FailedPrecondition("listen tcp " + u.HostPort() + ": bind: " + why);
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<GrpcServer>> GrpcServer::Start(const std::vector<Url>& listen_urls,
                                                      uint64_t max_request_bytes,
                                                      EtcdServer& server, Logger& logger) {
  std::unique_ptr<GrpcServer> g(new GrpcServer(server));
  grpc::ServerBuilder builder;
  for (const auto& u : listen_urls) {
    if (u.scheme != "http") {
      return Status::InvalidArgument("listen URL " + u.ToString() +
                                     ": only http:// client URLs are supported so far");
    }
    builder.AddListeningPort(u.HostPort(), grpc::InsecureServerCredentials());
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
  g->services_.push_back(std::make_unique<KvService>(server));
  g->services_.push_back(std::make_unique<MaintenanceService>(server));
  g->services_.push_back(std::make_unique<ClusterService>(server));
  g->services_.push_back(std::make_unique<LeaseService>(server));
  WatchServiceOptions watch;
  watch.max_request_bytes = max_request_bytes;
  watch.fill_header = [&server](pb::ResponseHeader* h) { server.FillHeader(h); };
  watch.admit = [&server](const grpc::CallbackServerContext& ctx) {
    return Admit(ctx, server, false);
  };
  auto watch_service = std::make_unique<WatchService>(server.watch_hub(), watch, logger);
  g->watch_ = watch_service.get();
  g->services_.push_back(std::move(watch_service));
  g->recipes_ = std::make_unique<Recipes>(server, server.watch_hub());
  g->services_.push_back(NewLockService(server, *g->recipes_));
  g->services_.push_back(NewElectionService(server, *g->recipes_));
  // Registered so that their methods answer UNIMPLEMENTED, as the truth is.
  g->services_.push_back(std::make_unique<pb::Auth::Service>());
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
    logger.Info("serving client traffic insecurely; this is strongly discouraged!",
                {{"address", u.HostPort()}});
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
