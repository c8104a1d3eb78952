// One remote peer's outgoing Raft stream: a bounded queue, a callback-API
// call that writes batches, and the thread that dials, handshakes and
// re-dials with exponential backoff. Writes need no thread hand-off: when no
// write is in flight, Enqueue starts one from the caller's thread; when one
// completes, its callback starts the next from the queue. One write at a time
// keeps messages in order. Internal to lib/transport. Thread-safe.
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
  class Call;  // one connection's stream (peer_sender.cc)

  void Run();
  // Dials, handshakes and waits until the stream ends or Stop; returns why.
  Status RunCall(const std::string& target);
  // Stops new writes on `call`, waits for the write in flight and for the
  // call's end; returns its final gRPC status.
  grpc::Status EndCall(Call& call);
  // With mu_ held: when `call` may write, nothing is in flight and messages
  // are queued, moves a batch into `env`, marks it in flight and returns true;
  // the caller then starts the write (after releasing mu_).
  bool TakeBatchLocked(Call& call, transportpb::PeerEnvelope& env);
  // Call callbacks (any gRPC thread).
  void OnHandshake(Call& call);
  void OnWriteDone(Call& call, bool ok);
  void OnReadEnded();
  void OnCallDone(const grpc::Status& st);
  void OnFailure(const Status& st);
  void WaitBackoff(std::chrono::milliseconds d);

  const Options options_;
  const uint64_t peer_id_;
  Logger& logger_;
  std::unique_ptr<transportpb::Peer::Stub> stub_;  // sender thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;              // guarded by mu_
  std::deque<raftpb::Message> queue_;  // guarded by mu_
  std::vector<std::string> targets_;   // guarded by mu_
  size_t target_index_ = 0;            // guarded by mu_
  // The live call (from dial to end), and the state of its stream.
  Call* call_ = nullptr;       // guarded by mu_
  Call* writer_ = nullptr;     // guarded by mu_; the call when writes may start
  bool writing_ = false;       // guarded by mu_; a write is in flight
  uint64_t in_flight_ = 0;     // guarded by mu_; messages in that write
  bool handshaken_ = false;    // guarded by mu_
  bool write_failed_ = false;  // guarded by mu_
  bool read_ended_ = false;    // guarded by mu_; the stream is over
  bool call_done_ = false;     // guarded by mu_; OnDone ran
  grpc::Status final_status_;  // guarded by mu_; set by OnDone
  bool active_ = false;        // guarded by mu_
  bool newly_active_ = false;  // guarded by mu_; the handshake made the peer active
  std::string last_error_;     // guarded by mu_
  PeerStats stats_;            // guarded by mu_
  std::chrono::steady_clock::time_point last_drop_log_{};  // guarded by mu_
  uint64_t drops_since_log_ = 0;                           // guarded by mu_
  std::thread thread_;
};

}  // namespace etcdd::transport
