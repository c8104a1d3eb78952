#include "server/api/watch_service.h"

#include <string>
#include <utility>
#include <vector>

namespace etcdd::server {

namespace {

namespace pb = etcdserverpb;

// etcd's grpcOverheadBytes, added to --max-request-bytes for the fragment size.
constexpr uint64_t kGrpcOverheadBytes = 512 * 1024;
// etcd's ctrlStreamBufLen: queued control responses before reading pauses.
constexpr size_t kControlBacklog = 16;

// A call refused at admission.
class RefusedReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit RefusedReactor(const grpc::Status& st) { Finish(st); }
  void OnDone() override { delete this; }
};

// Wraps serialized bytes in a ByteBuffer without copying them.
grpc::ByteBuffer ToByteBuffer(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  grpc::Slice slice(
      owned->data(), owned->size(), [](void* p) { delete static_cast<std::string*>(p); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

// One Watch call. The writer role (see watch::WatchStream) runs from on_writable
// through a chain of OnWriteDone calls until Pop finds the queue empty;
// `writers_` counts the chains running (a new one may start the moment Pop
// released the role, before the old one has counted itself out), so Finish
// waits for the last write.
class WatchService::Reactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Reactor(WatchService& service, grpc::CallbackServerContext* ctx)
      : service_(service),
        ctx_(*ctx),
        fragment_limit_(service.options_.max_request_bytes + kGrpcOverheadBytes),
        stream_(service.hub_.NewStream([this] { OnWritable(); })) {}

  void Begin() { ReadNext(); }

  const grpc::CallbackServerContext& context() const { return ctx_; }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the client half-closed: keep sending until it cancels, as etcd
    pb::WatchRequest req;
    grpc::Status parsed = grpc::SerializationTraits<pb::WatchRequest>::Deserialize(&in_, &req);
    if (!parsed.ok()) {
      return Abort(grpc::Status(grpc::StatusCode::INTERNAL,
                                "grpc: failed to unmarshal the received message"));
    }
    switch (req.request_union_case()) {
      case pb::WatchRequest::kCreateRequest:
        Create(req.create_request());
        break;
      case pb::WatchRequest::kCancelRequest:
        stream_->Cancel(req.cancel_request().watch_id());
        break;
      case pb::WatchRequest::kProgressRequest:
        stream_->RequestProgress();
        break;
      case pb::WatchRequest::REQUEST_UNION_NOT_SET:
        break;  // etcd ignores what it does not know
    }
    ReadNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Abort(grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: failed to send"));
      WriterDone();
      return;
    }
    wrote_ = true;
    WriteNext();
  }

  void OnCancel() override {
    Abort(grpc::Status(grpc::StatusCode::CANCELLED, "etcdserver: watch canceled"));
  }

  void OnDone() override {
    stream_->Close();
    service_.Unregister(this);
    delete this;
  }

  // Ends the call with `st` once no write is in flight. Idempotent.
  void Abort(const grpc::Status& st) {
    stream_->Close();  // no on_writable after this
    bool finish = false;
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      closing_ = true;
      status_ = st;
      finish = writers_ == 0 && !finished_;
      finished_ = finished_ || finish;
    }
    if (finish) Finish(st);
  }

 private:
  void Create(const pb::WatchCreateRequest& req) {
    if (service_.options_.authorize) {
      Status allowed = service_.options_.authorize(ctx_, req);
      if (!allowed.ok()) return stream_->RejectCreate(allowed.message());
    }
    stream_->Create(req);
  }

  // Starts the next read unless the control backlog is full; ResumeRead
  // starts it once the writer has drained the backlog.
  void ReadNext() {
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      if (stream_->PendingControl() >= kControlBacklog) {
        read_paused_ = true;
        return;
      }
    }
    StartRead(&in_);
  }

  void ResumeRead() {
    {
      std::lock_guard lock(mu_);
      if (!read_paused_ || closing_ || stream_->PendingControl() >= kControlBacklog) return;
      read_paused_ = false;
    }
    StartRead(&in_);
  }

  void OnWritable() {
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      ++writers_;
    }
    WriteNext();
  }

  void WriteNext() {
    if (next_part_ == parts_.size()) {
      watch::WatchMessage m;
      if (!stream_->Pop(&m, &more_)) return WriterDone();
      pb::ResponseHeader header;
      if (service_.options_.fill_header) service_.options_.fill_header(&header);
      parts_ = EncodeWatchResponse(m, header, fragment_limit_);
      next_part_ = 0;
      if (m.events.empty()) ResumeRead();  // a control response left the backlog
    }
    out_ = ToByteBuffer(std::move(parts_[next_part_++]));
    if (next_part_ == parts_.size()) {
      parts_.clear();
      next_part_ = 0;
    }
    // More to write right after this one: let the transport hold it and send
    // both in one flush (a hinted write completes once buffered, while the
    // stream buffers at most grpc.http2.write_buffer_size bytes; beyond that it
    // flushes). Not the first write, which carries the initial metadata: that
    // one completes only once sent.
    grpc::WriteOptions opts;
    if (wrote_ && (more_ || next_part_ != 0)) opts.set_buffer_hint();
    StartWrite(&out_, opts);
  }

  void WriterDone() {
    bool finish = false;
    grpc::Status st;
    {
      std::lock_guard lock(mu_);
      --writers_;
      finish = closing_ && writers_ == 0 && !finished_;
      finished_ = finished_ || finish;
      st = status_;
    }
    if (finish) Finish(st);
  }

  WatchService& service_;
  const grpc::CallbackServerContext& ctx_;
  const size_t fragment_limit_;
  const std::shared_ptr<watch::WatchStream> stream_;
  grpc::ByteBuffer in_;  // the read in flight
  // Writer role only:
  grpc::ByteBuffer out_;
  std::vector<std::string> parts_;  // fragments of the message being written
  size_t next_part_ = 0;
  bool more_ = false;   // another message was queued after the one being written
  bool wrote_ = false;  // a write completed (the initial metadata went out)

  std::mutex mu_;
  int writers_ = 0;
  bool read_paused_ = false;
  bool closing_ = false;
  bool finished_ = false;
  grpc::Status status_;
};

WatchService::WatchService(watch::WatchHub& hub, WatchServiceOptions options, Logger& logger)
    : hub_(hub), options_(std::move(options)), logger_(logger) {}

WatchService::~WatchService() = default;

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* WatchService::Watch(
    grpc::CallbackServerContext* ctx) {
  if (options_.admit) {
    grpc::Status admitted = options_.admit(*ctx);
    if (!admitted.ok()) return new RefusedReactor(admitted);
  }
  auto* r = new Reactor(*this, ctx);
  {
    std::lock_guard lock(mu_);
    reactors_.insert(r);
  }
  r->Begin();
  return r;
}

void WatchService::Unregister(Reactor* r) {
  std::lock_guard lock(mu_);
  reactors_.erase(r);
}

void WatchService::AbortStreams(
    const std::function<bool(const grpc::CallbackServerContext&)>& which,
    const grpc::Status& status) {
  // Under mu_: a reactor is deleted only after it has left reactors_.
  std::lock_guard lock(mu_);
  for (Reactor* r : reactors_) {
    if (which(r->context())) r->Abort(status);
  }
}

size_t WatchService::StreamCount() const {
  std::lock_guard lock(mu_);
  return reactors_.size();
}

}  // namespace etcdd::server
