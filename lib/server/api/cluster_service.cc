// etcd's Cluster service (etcdserver/api/v3rpc/member.go) over an EtcdServer.
#include <grpcpp/grpcpp.h>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "server/api/service_util.h"
#include "server/api/services.h"

namespace etcdd::server {

namespace {

namespace pb = etcdserverpb;
using api_internal::Reply;

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
    REQUIRE_ADMIN(ctx, /*unconverted=*/false);
    return Reply(s_.MemberAdd(*req), resp);
  }
  grpc::Status MemberRemove(grpc::ServerContext* ctx, const pb::MemberRemoveRequest* req,
                            pb::MemberRemoveResponse* resp) override {
    ADMIT(ctx, false);
    REQUIRE_ADMIN(ctx, /*unconverted=*/false);
    return Reply(s_.MemberRemove(*req), resp);
  }
  grpc::Status MemberUpdate(grpc::ServerContext* ctx, const pb::MemberUpdateRequest* req,
                            pb::MemberUpdateResponse* resp) override {
    ADMIT(ctx, false);
    REQUIRE_ADMIN(ctx, /*unconverted=*/false);
    return Reply(s_.MemberUpdate(*req), resp);
  }
  grpc::Status MemberPromote(grpc::ServerContext* ctx, const pb::MemberPromoteRequest* req,
                             pb::MemberPromoteResponse* resp) override {
    ADMIT(ctx, false);
    REQUIRE_ADMIN(ctx, /*unconverted=*/false);
    return Reply(s_.MemberPromote(*req), resp);
  }

 private:
  EtcdServer& s_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewClusterService(EtcdServer& server) {
  return std::make_unique<ClusterService>(server);
}

}  // namespace etcdd::server
