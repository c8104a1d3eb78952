// One remote peer's outgoing Raft stream: a bounded queue and the thread that
// dials, handshakes and writes batches, re-dialling with exponential backoff.
// Internal to lib/transport. Thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/status.h"
#include "raftpb/raft.pb.h"
#include "transport/transport.h"
#include "transportpb/peer.grpc.pb.h"

namespace etcdd::transport {

class PeerSender {
 public:
  // `targets` are "host:port" (see PeerTargets), not empty. Starts the thread.
  PeerSender(const Options& options, uint64_t peer_id, std::vector<std::string> targets,
             Logger& logger);
  ~PeerSender();  // Stop()

  // Queues `m`; when the queue is full drops it, counts it and logs (rate-limited).
  void Enqueue(raftpb::Message m);
  void UpdateTargets(std::vector<std::string> targets);
  // The target the stream uses (or will try next), for the snapshot path.
  std::string CurrentTarget() const;
  bool IsActive() const;
  PeerStats Stats() const;
  // Cancels the stream and any backoff wait, joins the thread. Idempotent.
  void Stop();

 private:
  using Stream = grpc::ClientReaderWriter<transportpb::PeerEnvelope, transportpb::StreamAck>;

  void Run();
  // Dials and handshakes; on success `stream` is open and the peer active.
  Status Connect(const std::string& target, grpc::ClientContext& ctx,
                 std::unique_ptr<Stream>& stream);
  // Writes batches until a write fails or Stop; returns why it ended.
  Status Pump(Stream& stream);
  // Waits for queued messages; false when stopping or the stream ended.
  bool TakeBatch(transportpb::PeerEnvelope& env);
  // Reads until the stream ends (the receiver only sends the handshake ack),
  // so a dead peer is noticed even when there is nothing to send.
  void WatchStream(Stream& stream);
  void OnFailure(const Status& st);
  void WaitBackoff(std::chrono::milliseconds d);

  const Options options_;
  const uint64_t peer_id_;
  Logger& logger_;
  std::unique_ptr<transportpb::Peer::Stub> stub_;  // sender thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                                  // guarded by mu_
  std::deque<raftpb::Message> queue_;                      // guarded by mu_
  std::vector<std::string> targets_;                       // guarded by mu_
  size_t target_index_ = 0;                                // guarded by mu_
  grpc::ClientContext* ctx_ = nullptr;                     // guarded by mu_; the live call
  bool active_ = false;                                    // guarded by mu_
  bool stream_ended_ = false;                              // guarded by mu_
  std::string last_error_;                                 // guarded by mu_
  PeerStats stats_;                                        // guarded by mu_
  std::chrono::steady_clock::time_point last_drop_log_{};  // guarded by mu_
  uint64_t drops_since_log_ = 0;                           // guarded by mu_
  std::thread thread_;
};

}  // namespace etcdd::transport
