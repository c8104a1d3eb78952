// Snapshot transfers: each runs on its own thread and its own call, streaming
// the data in chunks (transportpb.SnapshotChunk). Internal to lib/transport.
// Thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/log.h"
#include "base/status.h"
#include "raftpb/raft.pb.h"
#include "transport/transport.h"

namespace etcdd::transport {

class SnapshotSender {
 public:
  SnapshotSender(const Options& options, Logger& logger);
  ~SnapshotSender();  // Stop()

  // Sends `msg` (a MsgSnap) with the file at `path` as its data to `target`
  // ("host:port"), one chunk at a time, and calls done(ok) from the
  // transfer's thread; done(false) inline once stopped.
  void Send(const std::string& target, raftpb::Message msg, std::string path,
            std::function<void(bool)> done);
  // Cancels every transfer (each calls done(false)) and joins. Idempotent.
  void Stop();

 private:
  struct Job {
    grpc::ClientContext ctx;
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  Status Transfer(const std::string& target, raftpb::Message& msg, const std::string& path,
                  grpc::ClientContext& ctx);
  // Joins jobs whose thread has ended. Requires mu_ held.
  void ReapLocked();

  const Options options_;
  Logger& logger_;
  std::mutex mu_;
  bool stopping_ = false;                 // guarded by mu_
  std::list<std::unique_ptr<Job>> jobs_;  // guarded by mu_
};

}  // namespace etcdd::transport
