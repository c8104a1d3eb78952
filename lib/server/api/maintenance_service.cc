// etcd's Maintenance service (etcdserver/api/v3rpc/maintenance.go): Status,
// Hash, HashKV, Snapshot, Defragment, MoveLeader and Alarm.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <future>

#include "base/grpc_status.h"
#include "base/sha256.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "server/api/service_util.h"
#include "server/api/services.h"
#include "snap/file_stream.h"

namespace etcdd::server {

namespace {

namespace pb = etcdserverpb;
using api_internal::Deadline;
using api_internal::Reply;

// etcd's snapshotSendBufferSize: the bbolt bytes go out in pieces this size.
constexpr uint64_t kSnapshotSendBufferBytes = 32 * 1024;

grpc::Status Cancelled() { return grpc::Status(grpc::StatusCode::CANCELLED, "context canceled"); }

// Streams `file` as etcd's maintenance.go Snapshot does: the bbolt part in
// 32 KiB pieces, each with remaining_bytes = bbolt bytes not yet sent after
// it (so the last piece says 0), then one message holding the SHA-256 of
// those bytes, remaining_bytes 0. Stops when the client goes away.
grpc::Status StreamSnapshot(grpc::ServerContext& ctx, const ExportedEtcdSnapshot& file,
                            grpc::ServerWriter<pb::SnapshotResponse>& writer) {
  auto src = snap::FileSource::Open(file.path());
  if (!src.ok()) return ToGrpcStatus(src.status());
  const uint64_t total = file.info().db_bytes;
  if (src.value().size() != total + kSha256Size) {
    return grpc::Status(grpc::StatusCode::INTERNAL, file.path() + ": unexpected size");
  }
  pb::SnapshotResponse resp;
  for (uint64_t sent = 0; sent < total;) {
    if (ctx.IsCancelled()) return Cancelled();
    const uint64_t want = std::min(kSnapshotSendBufferBytes, total - sent);
    if (Status s = src.value().Next(want, resp.mutable_blob()); !s.ok()) return ToGrpcStatus(s);
    if (resp.blob().size() != want) {
      return grpc::Status(grpc::StatusCode::DATA_LOSS, file.path() + ": short read");
    }
    sent += want;
    resp.set_remaining_bytes(total - sent);
    if (!writer.Write(resp)) return Cancelled();
  }
  if (Status s = src.value().Next(kSha256Size, resp.mutable_blob()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  resp.set_remaining_bytes(0);
  if (!writer.Write(resp)) return Cancelled();
  return grpc::Status::OK;
}

class MaintenanceService final : public pb::Maintenance::Service {
 public:
  explicit MaintenanceService(EtcdServer& s) : s_(s) {}
  grpc::Status Status(grpc::ServerContext* ctx, const pb::StatusRequest*,
                      pb::StatusResponse* resp) override {
    ADMIT(ctx, true);
    *resp = s_.MaintenanceStatus();
    return grpc::Status::OK;
  }
  grpc::Status Hash(grpc::ServerContext* ctx, const pb::HashRequest*,
                    pb::HashResponse* resp) override {
    ADMIT(ctx, false);
    REQUIRE_ADMIN(ctx, /*unconverted=*/true);
    return Reply(s_.BackendHash(), resp);
  }
  // A learner refuses it: etcd's stream interceptor serves no stream to a
  // learner. Followers serve it from their own backend, as etcd does.
  grpc::Status Snapshot(grpc::ServerContext* ctx, const pb::SnapshotRequest*,
                        grpc::ServerWriter<pb::SnapshotResponse>* writer) override {
    ADMIT(ctx, false);
    REQUIRE_ADMIN(ctx, /*unconverted=*/true);
    // The file is removed when `file` goes.
    auto file = s_.ExportEtcdSnapshot([ctx] { return ctx->IsCancelled(); });
    if (!file.ok()) return ToGrpcStatus(file.status());
    return StreamSnapshot(*ctx, *file.value(), *writer);
  }
  grpc::Status HashKV(grpc::ServerContext* ctx, const pb::HashKVRequest* req,
                      pb::HashKVResponse* resp) override {
    ADMIT(ctx, false);
    REQUIRE_ADMIN(ctx, /*unconverted=*/true);
    return Reply(s_.HashKV(req->revision()), resp);
  }
  // This member only, as etcd's; readers and writers are not stopped.
  grpc::Status Defragment(grpc::ServerContext* ctx, const pb::DefragmentRequest*,
                          pb::DefragmentResponse* resp) override {
    ADMIT(ctx, false);
    REQUIRE_ADMIN(ctx, /*unconverted=*/true);
    return Reply(s_.Defragment(), resp);
  }
  grpc::Status MoveLeader(grpc::ServerContext* ctx, const pb::MoveLeaderRequest* req,
                          pb::MoveLeaderResponse* resp) override {
    ADMIT(ctx, false);
    REQUIRE_ADMIN(ctx, /*unconverted=*/true);
    return Reply(s_.MoveLeader(req->targetid(), Deadline(*ctx)), resp);
  }
  // etcd 3.4 checks no permission for Alarm (authMaintenanceServer does not
  // wrap it); a bad token still fails.
  grpc::Status Alarm(grpc::ServerContext* ctx, const pb::AlarmRequest* req,
                     pb::AlarmResponse* resp) override {
    ADMIT(ctx, false);
    CALLER(who, ctx);
    std::promise<Result<pb::AlarmResponse>> done;
    auto result = done.get_future();
    s_.Alarm(
        *req, [&done](Result<pb::AlarmResponse> r) { done.set_value(std::move(r)); }, who);
    return Reply(result.get(), resp);
  }

 private:
  EtcdServer& s_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewMaintenanceService(EtcdServer& server) {
  return std::make_unique<MaintenanceService>(server);
}

}  // namespace etcdd::server
