// etcd's Maintenance service (etcdserver/api/v3rpc/maintenance.go): Status,
// HashKV and MoveLeader; the other methods answer UNIMPLEMENTED until built.
#include <grpcpp/grpcpp.h>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "server/api/service_util.h"
#include "server/api/services.h"

namespace etcdd::server {

namespace {

namespace pb = etcdserverpb;
using api_internal::Deadline;
using api_internal::Reply;

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

}  // namespace

std::unique_ptr<grpc::Service> NewMaintenanceService(EtcdServer& server) {
  return std::make_unique<MaintenanceService>(server);
}

}  // namespace etcdd::server
