#include "transport/peer_sender.h"

#include <algorithm>
#include <utility>

#include "transport/internal.h"

namespace etcdd::transport {

namespace {
constexpr std::chrono::seconds kDropLogInterval{1};
}

// One connection's bidi stream. Sends the handshake, then whatever batches
// the PeerSender hands it; keeps a read open until the stream ends (the
// receiver only sends the handshake ack) so a dead peer is noticed even when
// there is nothing to send. A hold keeps OnDone from running until the
// PeerSender releases it (EndCall), so a write can never start on a finished
// call. Owned by the sender thread, which deletes it after OnDone.
class PeerSender::Call final
    : public grpc::ClientBidiReactor<transportpb::PeerEnvelope, transportpb::StreamAck> {
 public:
  Call(PeerSender& sender, transportpb::Peer::Stub& stub) : sender_(sender) {
    stub.async()->Stream(&ctx_, this);
  }

  // Starts the call with the handshake write in flight (see RunCall).
  void Begin() {
    hello_.set_from(sender_.options_.member_id);
    hello_.set_cluster_id(sender_.options_.cluster_id);
    StartWrite(&hello_);
    StartRead(&ack_);
    AddHold();
    StartCall();
  }
  void Write() { StartWrite(&env_); }
  void Release() { RemoveHold(); }
  void Cancel() { ctx_.TryCancel(); }
  // The batch being written; only its write's owner touches it.
  transportpb::PeerEnvelope& env() { return env_; }

  void OnReadDone(bool ok) override {
    if (!ok) return sender_.OnReadEnded();
    if (!acked_) {
      acked_ = true;
      sender_.OnHandshake(*this);
    }
    StartRead(&ack_);
  }
  void OnWriteDone(bool ok) override { sender_.OnWriteDone(*this, ok); }
  void OnDone(const grpc::Status& st) override { sender_.OnCallDone(st); }

 private:
  PeerSender& sender_;
  grpc::ClientContext ctx_;
  transportpb::PeerEnvelope hello_;
  transportpb::PeerEnvelope env_;
  transportpb::StreamAck ack_;
  bool acked_ = false;  // read callbacks only (they never overlap)
};

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
    if (call_ != nullptr) call_->Cancel();
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
    Call* call = writer_;
    if (call != nullptr && TakeBatchLocked(*call, call->env())) {
      lk.unlock();
      call->Write();  // the hold (see Call) keeps `call` alive until it completes
    }
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
                {"local-member-id", IdToHex(options_.member_id)},
                {"from", IdToHex(m.from())},
                {"remote-peer-id", IdToHex(peer_id_)},
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
    Status st = RunCall(CurrentTarget());
    {
      std::lock_guard lk(mu_);
      if (stopping_) {
        active_ = false;
        return;
      }
      if (handshaken_) backoff = options_.min_backoff;
    }
    OnFailure(st);
    WaitBackoff(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

Status PeerSender::RunCall(const std::string& target) {
  stub_ = transportpb::Peer::NewStub(DialPeer(target, options_));
  std::unique_ptr<Call> call;
  {
    std::lock_guard lk(mu_);
    if (stopping_) return Status(Code::kCancelled, "transport stopped");
    call = std::make_unique<Call>(*this, *stub_);
    call_ = call.get();
    writer_ = nullptr;
    writing_ = true;  // the handshake
    in_flight_ = 0;
    handshaken_ = write_failed_ = read_ended_ = call_done_ = false;
  }
  call->Begin();
  bool handshaken;
  bool newly_active;
  {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return stopping_ || read_ended_ || handshaken_; });
    handshaken = handshaken_;
    newly_active = std::exchange(newly_active_, false);
  }
  if (newly_active) logger_.Info("peer became active", {{"peer-id", IdToHex(peer_id_)}});
  if (handshaken) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return stopping_ || read_ended_; });
  }
  const grpc::Status fin = EndCall(*call);
  std::lock_guard lk(mu_);
  call_ = nullptr;
  // The receiver's reason (e.g. a cluster ID mismatch) beats our own.
  if (!fin.ok()) return FromGrpcStatus(fin);
  if (stopping_) return Status(Code::kCancelled, "transport stopped");
  if (!handshaken) return Status::Unavailable("handshake with peer " + target + " failed");
  if (write_failed_) return Status::Unavailable("stream write to peer failed");
  return Status::Unavailable("stream closed by peer");
}

grpc::Status PeerSender::EndCall(Call& call) {
  {
    std::unique_lock lk(mu_);
    writer_ = nullptr;  // no new writes
    if (stopping_) call.Cancel();
    cv_.wait(lk, [&] { return !writing_; });
  }
  call.Release();
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return call_done_; });
  return final_status_;
}

void PeerSender::OnHandshake(Call& call) {
  bool start;
  {
    std::lock_guard lk(mu_);
    handshaken_ = true;
    newly_active_ = !std::exchange(active_, true);
    last_error_.clear();
    if (!stopping_) writer_ = &call;
    start = TakeBatchLocked(call, call.env());
  }
  cv_.notify_all();
  if (start) call.Write();
}

void PeerSender::OnWriteDone(Call& call, bool ok) {
  bool start = false;
  {
    std::lock_guard lk(mu_);
    writing_ = false;
    if (ok) {
      stats_.sent += in_flight_;
    } else {
      stats_.dropped += in_flight_;
      write_failed_ = true;
      writer_ = nullptr;
    }
    in_flight_ = 0;
    start = TakeBatchLocked(call, call.env());
    // Only EndCall waits for writes (after clearing writer_); waking the
    // sender thread on every write would cost a context switch each.
    if (!writing_ && writer_ == nullptr) cv_.notify_all();
  }
  if (start) call.Write();
}

void PeerSender::OnReadEnded() {
  std::lock_guard lk(mu_);
  read_ended_ = true;
  cv_.notify_all();
}

void PeerSender::OnCallDone(const grpc::Status& st) {
  // Notified under the lock: the sender thread deletes the Call once it sees
  // call_done_, and this callback touches nothing of it after unlocking.
  std::lock_guard lk(mu_);
  call_done_ = true;
  final_status_ = st;
  cv_.notify_all();
}

bool PeerSender::TakeBatchLocked(Call& call, transportpb::PeerEnvelope& env) {
  if (writer_ != &call || writing_ || queue_.empty()) return false;
  env.Clear();
  env.set_from(options_.member_id);
  env.set_cluster_id(options_.cluster_id);
  size_t bytes = 0;
  while (!queue_.empty() && (env.messages_size() == 0 || bytes < options_.max_batch_bytes)) {
    bytes += queue_.front().ByteSizeLong();
    *env.add_messages() = std::move(queue_.front());
    queue_.pop_front();
  }
  writing_ = true;
  in_flight_ = static_cast<uint64_t>(env.messages_size());
  return true;
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
  const std::string id = IdToHex(peer_id_);
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
              {{"local-member-id", IdToHex(options_.member_id)},
               {"remote-peer-id", id},
               {"error", st.ToString()}});
}

void PeerSender::WaitBackoff(std::chrono::milliseconds d) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, d, [&] { return stopping_; });
}

}  // namespace etcdd::transport
