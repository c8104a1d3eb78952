// The receiving side: the transportpb.Peer gRPC service that checks the
// cluster id and hands messages and snapshots to the Transport's handlers.
// Internal to lib/transport. Stream is a callback-API method: each envelope is
// handed to the Handler from the gRPC thread that completed its read (no
// hand-off to a per-call thread), and the next read starts only once the
// Handler returned, which keeps messages in order. Snapshots and ClusterInfo
// are sync methods, each call on its own thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>

#include "base/log.h"
#include "transport/transport.h"
#include "transportpb/peer.grpc.pb.h"

namespace etcdd::transport {

class PeerService final
    : public transportpb::Peer::WithCallbackMethod_Stream<transportpb::Peer::Service> {
 public:
  PeerService(const Options& options, Handler handler, SnapshotHandler snapshot_handler,
              Logger& logger);

  grpc::ServerBidiReactor<transportpb::PeerEnvelope, transportpb::StreamAck>* Stream(
      grpc::CallbackServerContext* ctx) override;
  grpc::Status SendSnapshot(grpc::ServerContext* ctx,
                            grpc::ServerReader<transportpb::SnapshotChunk>* reader,
                            transportpb::SnapshotAck* ack) override;
  grpc::Status ClusterInfo(grpc::ServerContext* ctx, const transportpb::ClusterInfoRequest* req,
                           transportpb::ClusterInfoResponse* resp) override;
  grpc::Status Forward(grpc::ServerContext* ctx, const transportpb::ForwardRequest* req,
                       transportpb::ForwardResponse* resp) override;

  // Refuses `id`'s streams and snapshots from now on, including open ones.
  void MarkRemoved(uint64_t id);

  // Messages handed to the Handler so far.
  uint64_t received() const { return received_.load(); }

 private:
  class StreamReactor;

  // FAILED_PRECONDITION, logged as etcd does, unless `cluster_id` is ours;
  // FAILED_PRECONDITION kMemberRemoved if `from` was removed.
  grpc::Status CheckCluster(uint64_t cluster_id, uint64_t from);
  // The check every envelope of a stream from `from` passes after the
  // handshake: same cluster, same sender, sender not removed meanwhile.
  grpc::Status CheckEnvelope(const transportpb::PeerEnvelope& env, uint64_t from);
  // Hands the envelope's messages to the Handler, in order.
  void Deliver(transportpb::PeerEnvelope& env);
  // Writes the snapshot data (`first`'s and the chunks after it) to its file
  // in options.snapshot_dir, chunk by chunk, checking it against total_bytes;
  // returns the path of the complete, fsynced file. Errors: DataLoss for
  // more or fewer bytes than announced; IOError.
  Result<std::string> ReceiveSnapshotFile(grpc::ServerReader<transportpb::SnapshotChunk>& reader,
                                          transportpb::SnapshotChunk& first);

  const Options options_;
  const Handler handler_;
  const SnapshotHandler snapshot_handler_;
  Logger& logger_;
  std::atomic<uint64_t> received_{0};
  mutable std::mutex removed_mu_;
  std::set<uint64_t> removed_;  // guarded by removed_mu_
};

}  // namespace etcdd::transport
