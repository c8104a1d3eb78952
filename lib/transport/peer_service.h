// The receiving side: the transportpb.Peer gRPC service that checks the
// cluster id and hands messages and snapshots to the Transport's handlers.
// Internal to lib/transport. gRPC runs each call on its own thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>

#include "base/log.h"
#include "transport/transport.h"
#include "transportpb/peer.grpc.pb.h"

namespace etcdd::transport {

class PeerService final : public transportpb::Peer::Service {
 public:
  PeerService(const Options& options, Handler handler, SnapshotHandler snapshot_handler,
              Logger& logger);

  grpc::Status Stream(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<transportpb::StreamAck, transportpb::PeerEnvelope>* stream) override;
  grpc::Status SendSnapshot(grpc::ServerContext* ctx,
                            grpc::ServerReader<transportpb::SnapshotChunk>* reader,
                            transportpb::SnapshotAck* ack) override;
  grpc::Status ClusterInfo(grpc::ServerContext* ctx, const transportpb::ClusterInfoRequest* req,
                           transportpb::ClusterInfoResponse* resp) override;

  // Refuses `id`'s streams and snapshots from now on, including open ones.
  void MarkRemoved(uint64_t id);

  // Messages handed to the Handler so far.
  uint64_t received() const { return received_.load(); }

 private:
  // FAILED_PRECONDITION, logged as etcd does, unless `cluster_id` is ours;
  // FAILED_PRECONDITION kMemberRemoved if `from` was removed.
  grpc::Status CheckCluster(uint64_t cluster_id, uint64_t from);
  // Reads the snapshot data after `first`, checking it against total_bytes.
  Status ReadSnapshotData(grpc::ServerReader<transportpb::SnapshotChunk>& reader,
                          transportpb::SnapshotChunk& first, std::string& data);

  const Options options_;
  const Handler handler_;
  const SnapshotHandler snapshot_handler_;
  Logger& logger_;
  std::atomic<uint64_t> received_{0};
  mutable std::mutex removed_mu_;
  std::set<uint64_t> removed_;  // guarded by removed_mu_
};

}  // namespace etcdd::transport
