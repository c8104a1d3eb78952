#include "transport/snapshot_sender.h"

#include <algorithm>
#include <utility>

#include "transport/internal.h"
#include "transportpb/peer.grpc.pb.h"

namespace etcdd::transport {

SnapshotSender::SnapshotSender(const Options& options, Logger& logger)
    : options_(options), logger_(logger) {}

SnapshotSender::~SnapshotSender() { Stop(); }

void SnapshotSender::Send(const std::string& target, raftpb::Message msg,
                          std::function<void(bool)> done) {
  std::lock_guard lk(mu_);
  if (stopping_) {
    done(false);
    return;
  }
  ReapLocked();
  auto job = std::make_unique<Job>();
  Job* j = job.get();
  j->thread =
      std::thread([this, j, target, msg = std::move(msg), done = std::move(done)]() mutable {
        const uint64_t to = msg.to();
        const size_t bytes = msg.snapshot().data().size();
        const uint64_t index = msg.snapshot().metadata().index();
        logger_.Info("sending database snapshot",
                     {{"remote-peer-id", IdHex(to)}, {"bytes", bytes}, {"snapshot-index", index}});
        Status st = Transfer(target, msg, j->ctx);
        if (st.ok()) {
          logger_.Info("sent database snapshot", {{"remote-peer-id", IdHex(to)}, {"bytes", bytes}});
        } else {
          logger_.Warn("failed to send database snapshot",
                       {{"remote-peer-id", IdHex(to)}, {"bytes", bytes}, {"error", st.ToString()}});
        }
        done(st.ok());
        j->finished = true;
      });
  jobs_.push_back(std::move(job));
}

Status SnapshotSender::Transfer(const std::string& target, raftpb::Message& msg,
                                grpc::ClientContext& ctx) {
  const std::string data = std::move(*msg.mutable_snapshot()->mutable_data());
  msg.mutable_snapshot()->clear_data();
  auto stub = transportpb::Peer::NewStub(DialPeer(target, options_));
  transportpb::SnapshotAck ack;
  auto writer = stub->SendSnapshot(&ctx, &ack);
  const size_t chunk = std::max<size_t>(options_.snapshot_chunk_bytes, 1);
  transportpb::SnapshotChunk first;
  first.set_from(options_.member_id);
  first.set_cluster_id(options_.cluster_id);
  *first.mutable_message() = std::move(msg);
  first.set_total_bytes(data.size());
  first.set_data(data.substr(0, chunk));
  bool ok = writer->Write(first);
  for (size_t off = chunk; ok && off < data.size(); off += chunk) {
    transportpb::SnapshotChunk c;
    c.set_data(data.data() + off, std::min(chunk, data.size() - off));
    ok = writer->Write(c);
  }
  if (ok) writer->WritesDone();
  return FromGrpc(writer->Finish());
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
