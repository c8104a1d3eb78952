#include "transport/snapshot_sender.h"

#include <algorithm>
#include <utility>

#include "snap/file_stream.h"
#include "transport/internal.h"
#include "transportpb/peer.grpc.pb.h"

namespace etcdd::transport {

SnapshotSender::SnapshotSender(const Options& options, Logger& logger)
    : options_(options), logger_(logger) {}

SnapshotSender::~SnapshotSender() { Stop(); }

void SnapshotSender::Send(const std::string& target, raftpb::Message msg, std::string path,
                          std::function<void(bool)> done) {
  std::lock_guard lk(mu_);
  if (stopping_) {
    done(false);
    return;
  }
  ReapLocked();
  auto job = std::make_unique<Job>();
  Job* j = job.get();
  j->thread = std::thread([this, j, target, msg = std::move(msg), path = std::move(path),
                           done = std::move(done)]() mutable {
    const uint64_t to = msg.to();
    const uint64_t index = msg.snapshot().metadata().index();
    logger_.Info("sending database snapshot",
                 {{"remote-peer-id", IdToHex(to)}, {"path", path}, {"snapshot-index", index}});
    Status st = Transfer(target, msg, path, j->ctx);
    if (st.ok()) {
      logger_.Info("sent database snapshot", {{"remote-peer-id", IdToHex(to)}});
    } else {
      logger_.Warn("failed to send database snapshot",
                   {{"remote-peer-id", IdToHex(to)}, {"error", st.ToString()}});
    }
    done(st.ok());
    j->finished = true;
  });
  jobs_.push_back(std::move(job));
}

Status SnapshotSender::Transfer(const std::string& target, raftpb::Message& msg,
                                const std::string& path, grpc::ClientContext& ctx) {
  ASSIGN_OR_RETURN(snap::FileSource source, snap::FileSource::Open(path));
  msg.mutable_snapshot()->clear_data();
  auto stub = transportpb::Peer::NewStub(DialPeer(target, options_));
  transportpb::SnapshotAck ack;
  auto writer = stub->SendSnapshot(&ctx, &ack);
  const size_t chunk = std::max<size_t>(options_.snapshot_chunk_bytes, 1);
  transportpb::SnapshotChunk c;
  c.set_from(options_.member_id);
  c.set_cluster_id(options_.cluster_id);
  *c.mutable_message() = std::move(msg);
  c.set_total_bytes(source.size());
  // Write blocks until gRPC has taken the chunk (flow control), so at most
  // one chunk is held here at a time.
  bool ok = true;
  bool first = true;
  do {
    Status read = source.Next(chunk, c.mutable_data());
    if (!read.ok()) {
      ctx.TryCancel();
      writer->Finish();
      return read;
    }
    if (!first && c.data().empty()) break;
    ok = writer->Write(c);
    if (first) {
      c.clear_message();
      c.clear_from();
      c.clear_cluster_id();
      c.clear_total_bytes();
      first = false;
    }
  } while (ok && !c.data().empty());
  if (ok) writer->WritesDone();
  return FromGrpcStatus(writer->Finish());
}

void SnapshotSender::ReapLocked() {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if ((*it)->finished) {
      (*it)->thread.join();
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

void SnapshotSender::Stop() {
  std::list<std::unique_ptr<Job>> jobs;
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    for (auto& j : jobs_) j->ctx.TryCancel();
    jobs.swap(jobs_);
  }
  for (auto& j : jobs) j->thread.join();
}

}  // namespace etcdd::transport
