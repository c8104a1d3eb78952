#include "transport/peer_sender.h"

#include <algorithm>
#include <utility>

#include "transport/internal.h"

namespace etcdd::transport {

namespace {
constexpr std::chrono::seconds kDropLogInterval{1};
}

PeerSender::PeerSender(const Options& options, uint64_t peer_id, std::vector<std::string> targets,
                       Logger& logger)
    : options_(options), peer_id_(peer_id), logger_(logger), targets_(std::move(targets)) {
  thread_ = std::thread([this] { Run(); });
}

PeerSender::~PeerSender() { Stop(); }

void PeerSender::Stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    if (ctx_ != nullptr) ctx_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeerSender::Enqueue(raftpb::Message m) {
  std::unique_lock lk(mu_);
  if (stopping_) return;
  // A peer that is down (a connection attempt failed and none has succeeded
  // since) gets nothing queued: delivered later, a stale proposal would
  // apply after its client gave up and retried. Raft re-sends what matters,
  // as it does after etcd's rafthttp drops messages to an inactive peer.
  if (!active_ && stats_.failures > 0) {
    ++stats_.dropped;
    return;
  }
  if (queue_.size() < options_.queue_messages) {
    queue_.push_back(std::move(m));
    lk.unlock();
    cv_.notify_all();
    return;
  }
  ++stats_.dropped;
  ++drops_since_log_;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_drop_log_ < kDropLogInterval) return;
  last_drop_log_ = now;
  const uint64_t dropped = std::exchange(drops_since_log_, 0);
  const bool active = active_;
  lk.unlock();
  logger_.Warn("dropped internal Raft message since sending buffer is full (overloaded network)",
               {{"message-type", raftpb::MessageType_Name(m.type())},
                {"local-member-id", IdHex(options_.member_id)},
                {"from", IdHex(m.from())},
                {"remote-peer-id", IdHex(peer_id_)},
                {"remote-peer-active", active},
                {"dropped-since-last-log", dropped}});
}

void PeerSender::UpdateTargets(std::vector<std::string> targets) {
  std::lock_guard lk(mu_);
  targets_ = std::move(targets);
  target_index_ = 0;
}

std::string PeerSender::CurrentTarget() const {
  std::lock_guard lk(mu_);
  return targets_[target_index_ % targets_.size()];
}

bool PeerSender::IsActive() const {
  std::lock_guard lk(mu_);
  return active_;
}

PeerStats PeerSender::Stats() const {
  std::lock_guard lk(mu_);
  PeerStats s = stats_;
  s.active = active_;
  return s;
}

void PeerSender::Run() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  while (true) {
    const std::string target = CurrentTarget();
    grpc::ClientContext ctx;
    std::unique_ptr<Stream> stream;
    Status st = Connect(target, ctx, stream);
    if (st.ok()) {
      backoff = options_.min_backoff;
      std::thread watcher([this, &stream] { WatchStream(*stream); });
      st = Pump(*stream);
      watcher.join();
    }
    if (stream) {
      // The receiver's reason (e.g. a cluster ID mismatch) beats "write failed".
      Status fin = FromGrpc(stream->Finish());
      if (!fin.ok()) st = fin;
    }
    {
      std::lock_guard lk(mu_);
      ctx_ = nullptr;
      if (stopping_) {
        active_ = false;
        return;
      }
    }
    OnFailure(st);
    WaitBackoff(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

Status PeerSender::Connect(const std::string& target, grpc::ClientContext& ctx,
                           std::unique_ptr<Stream>& stream) {
  stub_ = transportpb::Peer::NewStub(DialPeer(target, options_));
  {
    std::lock_guard lk(mu_);
    if (stopping_) return Status(Code::kCancelled, "transport stopped");
    ctx_ = &ctx;
    stream_ended_ = false;
  }
  stream = stub_->Stream(&ctx);
  transportpb::PeerEnvelope hello;
  hello.set_from(options_.member_id);
  hello.set_cluster_id(options_.cluster_id);
  transportpb::StreamAck ack;
  if (!stream->Write(hello) || !stream->Read(&ack)) {
    return Status::Unavailable("handshake with peer " + target + " failed");
  }
  bool was_active;
  {
    std::lock_guard lk(mu_);
    was_active = std::exchange(active_, true);
    last_error_.clear();
  }
  if (!was_active) logger_.Info("peer became active", {{"peer-id", IdHex(peer_id_)}});
  return Status::Ok();
}

void PeerSender::WatchStream(Stream& stream) {
  transportpb::StreamAck ack;
  while (stream.Read(&ack)) {
  }
  {
    std::lock_guard lk(mu_);
    stream_ended_ = true;
  }
  cv_.notify_all();
}

bool PeerSender::TakeBatch(transportpb::PeerEnvelope& env) {
  env.Clear();
  env.set_from(options_.member_id);
  env.set_cluster_id(options_.cluster_id);
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return stopping_ || stream_ended_ || !queue_.empty(); });
  if (stopping_ || stream_ended_) return false;
  size_t bytes = 0;
  while (!queue_.empty() && (env.messages_size() == 0 || bytes < options_.max_batch_bytes)) {
    bytes += queue_.front().ByteSizeLong();
    *env.add_messages() = std::move(queue_.front());
    queue_.pop_front();
  }
  return true;
}

Status PeerSender::Pump(Stream& stream) {
  transportpb::PeerEnvelope env;
  while (TakeBatch(env)) {
    const uint64_t n = static_cast<uint64_t>(env.messages_size());
    const bool ok = stream.Write(env);
    std::lock_guard lk(mu_);
    if (!ok) {
      stats_.dropped += n;
      return Status::Unavailable("stream write to peer failed");
    }
    stats_.sent += n;
  }
  std::lock_guard lk(mu_);
  if (stopping_) return Status(Code::kCancelled, "transport stopped");
  return Status::Unavailable("stream closed by peer");
}

void PeerSender::OnFailure(const Status& st) {
  bool was_active;
  bool repeated;
  {
    std::lock_guard lk(mu_);
    was_active = std::exchange(active_, false);
    ++stats_.failures;
    stats_.dropped += queue_.size();  // see Enqueue
    queue_.clear();
    ++target_index_;
    repeated = !was_active && st.ToString() == last_error_;
    last_error_ = st.ToString();
  }
  const std::string id = IdHex(peer_id_);
  if (st.code() == Code::kFailedPrecondition && st.message() == kMemberRemoved &&
      options_.removed_by_peer) {
    options_.removed_by_peer(peer_id_);
  }
  if (was_active) {
    logger_.Warn("peer became inactive (message send to peer failed)",
                 {{"peer-id", id}, {"error", st.ToString()}});
  }
  // A peer that stays down would log every backoff; say it once per error.
  logger_.Log(repeated ? LogLevel::kDebug : LogLevel::kWarn, "failed to send",
              {{"local-member-id", IdHex(options_.member_id)},
               {"remote-peer-id", id},
               {"error", st.ToString()}});
}

void PeerSender::WaitBackoff(std::chrono::milliseconds d) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, d, [&] { return stopping_; });
}

}  // namespace etcdd::transport
