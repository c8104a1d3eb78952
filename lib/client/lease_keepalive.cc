#include "client/lease_keepalive.h"

#include <grpcpp/client_context.h>
#include <grpcpp/support/sync_stream.h>

#include <algorithm>

#include "client/conn.h"

namespace etcdd::client {

namespace {

namespace pb = etcdserverpb;

// clientv3's retryConnWait: the send loop's period and the pause before a
// broken stream is reopened.
constexpr std::chrono::milliseconds kRetryConnWait{500};
// clientv3's defaultTTL, the first answer's deadline when the dial timeout
// is zero.
constexpr std::chrono::seconds kDefaultTtl{5};
// clientv3's LeaseResponseChSize.
constexpr size_t kQueueSize = 16;
constexpr std::chrono::seconds kReachableHorizon{1};

Status LeaseNotFound() { return Status(Code::kNotFound, "etcdserver: requested lease not found"); }

}  // namespace

struct LeaseKeepAlive::Stream {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReaderWriter<pb::LeaseKeepAliveRequest, pb::LeaseKeepAliveResponse>>
      rw;
  std::thread reader;
};

LeaseKeepAlive::LeaseKeepAlive(Client& client, int64_t id) : client_(client), id_(id) {
  const auto now = Clock::now();
  const auto first = client.config().dial_timeout + std::chrono::seconds(1);
  next_send_ = now;
  deadline_ = now + (first == std::chrono::seconds(1) ? kDefaultTtl : first);
  thread_ = std::thread([this] { Run(); });
}

LeaseKeepAlive::~LeaseKeepAlive() {
  Stop();
  thread_.join();
}

bool LeaseKeepAlive::Next(pb::LeaseKeepAliveResponse* out) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !queue_.empty() || ended_; });
  if (queue_.empty()) return false;
  *out = std::move(queue_.front());
  queue_.pop_front();
  return true;
}

bool LeaseKeepAlive::WaitEnded(std::stop_token stop) {
  std::unique_lock lock(mu_);
  return cv_.wait(lock, stop, [&] { return ended_; });
}

void LeaseKeepAlive::Stop() {
  std::lock_guard lock(mu_);
  End();
}

void LeaseKeepAlive::End() {
  ended_ = true;
  if (stream_) stream_->ctx.TryCancel();
  cv_.notify_all();
}

void LeaseKeepAlive::ReadStream(Stream* stream) {
  pb::LeaseKeepAliveResponse resp;
  while (stream->rw->Read(&resp)) {
    std::lock_guard lock(mu_);
    if (resp.id() != id_) continue;
    if (resp.ttl() <= 0) {  // expired or revoked
      End();
      break;
    }
    const auto now = Clock::now();
    next_send_ = now + std::chrono::seconds(resp.ttl()) / 3;
    deadline_ = now + std::chrono::seconds(resp.ttl());
    if (queue_.size() < kQueueSize) queue_.push_back(resp);
    cv_.notify_all();
  }
  (void)stream->rw->Finish();
  std::lock_guard lock(mu_);
  stream_failed_ = true;
  cv_.notify_all();
}

void LeaseKeepAlive::Run() {
  bool reopening = false;
  std::unique_lock lock(mu_);
  while (!ended_) {
    if (!stream_ || stream_failed_) {
      if (stream_) {
        stream_->ctx.TryCancel();
        std::unique_ptr<Stream> old = std::move(stream_);
        lock.unlock();
        old->reader.join();
        lock.lock();
        cv_.wait_for(lock, kRetryConnWait, [&] { return ended_; });
        reopening = true;
        continue;
      }
      internal::Conn* conn = nullptr;
      lock.unlock();
      if (!reopening) conn = client_.PinnedConn();
      if (conn == nullptr) {
        conn = client_.ReachableConn(internal::Clock::now() + kReachableHorizon);
      }
      lock.lock();
      if (ended_) break;
      if (conn != nullptr) {
        stream_failed_ = false;
        stream_ = std::make_unique<Stream>();
        Stream* s = stream_.get();
        client_.PrepareContext(&s->ctx);
        s->ctx.AddMetadata("hasleader", "true");  // clientv3's lessor requires a leader
        lock.unlock();
        s->rw = conn->lease->LeaseKeepAlive(&s->ctx);
        s->reader = std::thread([this, s] { ReadStream(s); });
        lock.lock();
      }
    }
    const auto now = Clock::now();
    if (now >= deadline_) {  // no answer within the TTL: the lease may be gone
      End();
      break;
    }
    if (stream_ && !stream_failed_ && now >= next_send_) {
      pb::LeaseKeepAliveRequest req;
      req.set_id(id_);
      (void)stream_->rw->Write(req);  // a failed write shows as a failed read
    }
    cv_.wait_until(lock, std::min(now + kRetryConnWait, deadline_),
                   [&] { return ended_ || stream_failed_; });
  }
  if (stream_) {
    stream_->ctx.TryCancel();
    std::unique_ptr<Stream> old = std::move(stream_);
    lock.unlock();
    old->reader.join();
  }
}

Result<pb::LeaseKeepAliveResponse> KeepAliveOnce(Client& client, int64_t id) {
  const auto deadline = internal::Clock::now() + client.config().command_timeout;
  internal::Conn* conn = client.PinnedConn();
  while (true) {
    if (conn == nullptr) conn = client.ReachableConn(deadline);
    if (conn == nullptr) return Status(Code::kDeadlineExceeded, "context deadline exceeded");
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline);
    client.PrepareContext(&ctx);
    auto rw = conn->lease->LeaseKeepAlive(&ctx);
    pb::LeaseKeepAliveRequest req;
    req.set_id(id);
    pb::LeaseKeepAliveResponse resp;
    if (rw->Write(req) && rw->Read(&resp)) {
      ctx.TryCancel();
      (void)rw->Finish();
      if (resp.ttl() <= 0) return LeaseNotFound();
      return resp;
    }
    const grpc::Status status = rw->Finish();
    if (internal::IsHaltError(status)) return FromGrpcStatus(status);
    conn = nullptr;
  }
}

}  // namespace etcdd::client
