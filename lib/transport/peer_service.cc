#include "transport/peer_service.h"

#include <algorithm>
#include <string>
#include <utility>

#include "snap/file_stream.h"
#include "snap/snapshot_dir.h"
#include "transport/internal.h"

namespace etcdd::transport {

PeerService::PeerService(const Options& options, Handler handler, SnapshotHandler snapshot_handler,
                         Logger& logger)
    : options_(options),
      handler_(std::move(handler)),
      snapshot_handler_(std::move(snapshot_handler)),
      logger_(logger) {}

void PeerService::MarkRemoved(uint64_t id) {
  std::lock_guard lock(removed_mu_);
  removed_.insert(id);
}

grpc::Status PeerService::CheckCluster(uint64_t cluster_id, uint64_t from) {
  {
    std::lock_guard lock(removed_mu_);
    if (removed_.count(from) > 0) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, kMemberRemoved);
    }
  }
  if (cluster_id == options_.cluster_id) return grpc::Status::OK;
  logger_.Warn("request cluster ID mismatch",
               {{"local-member-id", IdToHex(options_.member_id)},
                {"local-member-cluster-id", IdToHex(options_.cluster_id)},
                {"remote-peer-id", IdToHex(from)},
                {"remote-peer-cluster-id", IdToHex(cluster_id)}});
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "request cluster ID mismatch");
}

grpc::Status PeerService::ClusterInfo(grpc::ServerContext*, const transportpb::ClusterInfoRequest*,
                                      transportpb::ClusterInfoResponse* resp) {
  if (!options_.members) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "member list not available");
  }
  resp->set_cluster_id(options_.cluster_id);
  resp->set_member_id(options_.member_id);
  resp->set_members(options_.members());
  return grpc::Status::OK;
}

grpc::Status PeerService::Forward(grpc::ServerContext* ctx, const transportpb::ForwardRequest* req,
                                  transportpb::ForwardResponse* resp) {
  grpc::Status st = CheckCluster(req->cluster_id(), req->from());
  if (!st.ok()) return st;
  if (!options_.forward) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "cannot forward");
  // Capped, so that a call without a deadline cannot overflow the clock.
  const auto now = std::chrono::system_clock::now();
  const auto until = std::min(ctx->deadline(), now + std::chrono::seconds(30));
  const auto deadline = std::chrono::steady_clock::now() + (until - now);
  Result<std::string> r = options_.forward(req->request(), deadline);
  if (!r.ok()) {
    return grpc::Status(static_cast<grpc::StatusCode>(r.status().code()), r.status().message());
  }
  resp->set_response(std::move(r).value());
  return grpc::Status::OK;
}

// One inbound Raft stream. Reads are chained: OnReadDone delivers the
// envelope and only then starts the next read, so at most one callback of a
// stream runs at a time. Finish waits for the handshake ack's write.
class PeerService::StreamReactor final
    : public grpc::ServerBidiReactor<transportpb::PeerEnvelope, transportpb::StreamAck> {
 public:
  explicit StreamReactor(PeerService& service) : service_(service) { StartRead(&env_); }

  void OnReadDone(bool ok) override {
    if (!ok && !handshaken_) {
      return FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "no handshake"));
    }
    if (!ok) return FinishOnce(grpc::Status::OK);  // the sender closed or went away
    if (!handshaken_) return OnHandshake();
    grpc::Status st = service_.CheckEnvelope(env_, from_);
    if (!st.ok()) return FinishOnce(st);
    service_.Deliver(env_);
    StartRead(&env_);
  }

  void OnWriteDone(bool) override {
    grpc::Status finish;
    {
      std::lock_guard lk(mu_);
      writing_ = false;
      if (!finish_pending_) return;
      finish = std::move(finish_status_);
    }
    Finish(finish);
  }

  void OnDone() override { delete this; }

 private:
  void OnHandshake() {
    grpc::Status st = service_.CheckCluster(env_.cluster_id(), env_.from());
    if (!st.ok()) return FinishOnce(st);
    handshaken_ = true;
    from_ = env_.from();
    service_.logger_.Debug("established stream from remote peer",
                           {{"remote-peer-id", IdToHex(from_)}});
    {
      std::lock_guard lk(mu_);
      writing_ = true;
    }
    StartWrite(&ack_);
    StartRead(&env_);
  }

  // Finish must not overlap the ack's write; it then runs from OnWriteDone.
  void FinishOnce(grpc::Status st) {
    {
      std::lock_guard lk(mu_);
      if (writing_) {
        finish_pending_ = true;
        finish_status_ = std::move(st);
        return;
      }
    }
    Finish(st);
  }

  PeerService& service_;
  transportpb::PeerEnvelope env_;  // the read in flight; one at a time
  transportpb::StreamAck ack_;
  bool handshaken_ = false;  // read callbacks only (they never overlap)
  uint64_t from_ = 0;        // read callbacks only
  std::mutex mu_;
  bool writing_ = false;         // guarded by mu_
  bool finish_pending_ = false;  // guarded by mu_
  grpc::Status finish_status_;   // guarded by mu_
};

grpc::ServerBidiReactor<transportpb::PeerEnvelope, transportpb::StreamAck>* PeerService::Stream(
    grpc::CallbackServerContext*) {
  return new StreamReactor(*this);
}

grpc::Status PeerService::CheckEnvelope(const transportpb::PeerEnvelope& env, uint64_t from) {
  // The handshake already checked these; a change mid-stream is a bug or an
  // attack. A member removed meanwhile is refused here.
  if (env.cluster_id() == options_.cluster_id && env.from() == from &&
      CheckCluster(env.cluster_id(), from).ok()) {
    return grpc::Status::OK;
  }
  grpc::Status refused = CheckCluster(env.cluster_id(), env.from());
  return refused.ok()
             ? grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "sender changed mid-stream")
             : refused;
}

void PeerService::Deliver(transportpb::PeerEnvelope& env) {
  for (auto& m : *env.mutable_messages()) {
    handler_(std::move(m));
    received_.fetch_add(1);
  }
}

Result<std::string> PeerService::ReceiveSnapshotFile(
    grpc::ServerReader<transportpb::SnapshotChunk>& reader, transportpb::SnapshotChunk& first) {
  const std::string path = snap::SnapshotDir(options_.snapshot_dir)
                               .ReceivedPath(first.message().snapshot().metadata().index());
  ASSIGN_OR_RETURN(snap::FileSink sink,
                   snap::FileSink::Create(options_.env ? *options_.env : *Env::Default(), path,
                                          first.total_bytes()));
  RETURN_IF_ERROR(sink.Append(first.data()));
  transportpb::SnapshotChunk chunk;
  while (reader.Read(&chunk)) RETURN_IF_ERROR(sink.Append(chunk.data()));
  RETURN_IF_ERROR(sink.Commit().Annotate("snapshot from member " + IdToHex(first.from())));
  return path;
}

grpc::Status PeerService::SendSnapshot(grpc::ServerContext* ctx,
                                       grpc::ServerReader<transportpb::SnapshotChunk>* reader,
                                       transportpb::SnapshotAck* ack) {
  transportpb::SnapshotChunk first;
  if (!reader->Read(&first)) return grpc::Status(grpc::StatusCode::CANCELLED, "no snapshot");
  grpc::Status st = CheckCluster(first.cluster_id(), first.from());
  if (!st.ok()) return st;
  if (first.message().type() != raftpb::MSG_SNAP) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "snapshot call without a MsgSnap");
  }
  Result<std::string> path = ReceiveSnapshotFile(*reader, first);
  if (!path.ok()) {
    if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "sender went away");
    logger_.Warn("failed to receive database snapshot",
                 {{"remote-peer-id", IdToHex(first.from())}, {"error", path.status().ToString()}});
    return ToGrpcStatus(path.status());
  }
  logger_.Info("received database snapshot",
               {{"remote-peer-id", IdToHex(first.from())},
                {"bytes", first.total_bytes()},
                {"snapshot-index", first.message().snapshot().metadata().index()}});
  return ToGrpcStatus(snapshot_handler_(first.message(), *path));
}

}  // namespace etcdd::transport
