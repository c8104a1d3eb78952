// etcd's Lease service (etcdserver/api/v3rpc/lease.go) over an EtcdServer.
#include <grpcpp/grpcpp.h>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "server/api/service_util.h"
#include "server/api/services.h"

namespace etcdd::server {

namespace {

namespace pb = etcdserverpb;
using api_internal::Deadline;
using api_internal::Reply;
using api_internal::StartUnary;

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
    return StartUnary(s_, ctx, resp, [&](auto done, const auth::AuthInfo& who) {
      s_.LeaseGrant(*req, std::move(done), who);
    });
  }
  grpc::ServerUnaryReactor* LeaseRevoke(grpc::CallbackServerContext* ctx,
                                        const pb::LeaseRevokeRequest* req,
                                        pb::LeaseRevokeResponse* resp) override {
    return StartUnary(s_, ctx, resp, [&](auto done, const auth::AuthInfo& who) {
      s_.LeaseRevoke(*req, std::move(done), who);
    });
  }
  grpc::Status LeaseKeepAlive(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<pb::LeaseKeepAliveResponse, pb::LeaseKeepAliveRequest>* stream)
      override {
    ADMIT(ctx, false);
    pb::LeaseKeepAliveRequest req;
    while (stream->Read(&req)) {
      auto resp = s_.LeaseRenew(req.id(), Deadline(*ctx));
      if (!resp.ok()) return ToGrpcStatus(resp.status());
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

}  // namespace

std::unique_ptr<grpc::Service> NewLeaseService(EtcdServer& server) {
  return std::make_unique<LeaseService>(server);
}

}  // namespace etcdd::server
