#include "client/watch.h"

#include <grpcpp/client_context.h>
#include <grpcpp/support/sync_stream.h>

#include <set>
#include <utility>

#include "client/conn.h"

namespace etcdd::client {

namespace {

namespace pb = etcdserverpb;
using internal::Clock;

// clientv3's InvalidWatchID: broadcast progress notifications, failed creates.
constexpr int64_t kNoWatchId = -1;
// How long one wait for a reachable endpoint lasts before Close() is
// checked again.
constexpr std::chrono::seconds kReachableHorizon{1};

// clientv3's WatchResponse.Err() for a response from the server.
Status ResponseErr(const pb::WatchResponse& r) {
  if (r.compact_revision() != 0) {
    return Status(Code::kOutOfRange, "etcdserver: mvcc: required revision has been compacted");
  }
  if (r.canceled()) {
    if (!r.cancel_reason().empty()) return Status(Code::kFailedPrecondition, r.cancel_reason());
    return Status(Code::kOutOfRange, "etcdserver: mvcc: required revision is a future revision");
  }
  return Status::Ok();
}

}  // namespace

bool WatchResponse::IsProgressNotify() const {
  return response.events().empty() && !response.canceled() && !response.created() &&
         response.compact_revision() == 0 && response.header().revision() != 0;
}

struct Watcher::Sub {
  // start_revision is advanced past every delivered response, so that a
  // re-created watch resumes where this one stopped.
  pb::WatchCreateRequest request;
  int64_t server_id = kNoWatchId;  // kNoWatchId until created on the current stream
  bool created_once = false;
  bool ended = false;
  std::deque<WatchResponse> queue;
};

struct Watcher::Stream {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>> rw;
  std::set<int64_t> cancel_sent;  // unknown watch ids already cancelled
};

Watcher::Watcher(Client& client, bool require_leader)
    : client_(client), require_leader_(require_leader), thread_([this] { Run(); }) {}

Watcher::~Watcher() {
  Close();
  thread_.join();
}

int Watcher::Watch(const pb::WatchCreateRequest& request) {
  std::lock_guard lock(mu_);
  const int handle = next_handle_++;
  auto sub = std::make_unique<Sub>();
  sub->request = request;
  sub->ended = closed_;
  subs_[handle] = std::move(sub);
  if (!closed_) {
    creating_.push_back(handle);
    if (creating_.size() == 1) SendNextCreate();
  }
  cv_.notify_all();
  return handle;
}

bool Watcher::Next(int handle, WatchResponse* out) {
  std::unique_lock lock(mu_);
  auto it = subs_.find(handle);
  if (it == subs_.end()) return false;
  Sub& sub = *it->second;
  cv_.wait(lock, [&] { return !sub.queue.empty() || sub.ended; });
  if (!sub.queue.empty()) {
    *out = std::move(sub.queue.front());
    sub.queue.pop_front();
    return true;
  }
  subs_.erase(it);
  return false;
}

Status Watcher::RequestProgress() {
  pb::WatchRequest req;
  req.mutable_progress_request();
  std::lock_guard lock(mu_);
  if (!stream_ || !stream_->rw) return Status::Ok();
  return Send(req);
}

void Watcher::Close() {
  std::lock_guard lock(mu_);
  if (closed_) return;
  closed_ = true;
  if (stream_) stream_->ctx.TryCancel();
  EndAll(Status::Ok());
}

Status Watcher::Send(const pb::WatchRequest& req) {
  if (!stream_ || !stream_->rw) return Status(Code::kUnavailable, "watch stream is not open");
  if (!stream_->rw->Write(req)) return Status(Code::kUnavailable, "watch stream broke");
  return Status::Ok();
}

void Watcher::SendNextCreate() {
  if (creating_.empty()) return;
  auto it = subs_.find(creating_.front());
  if (it == subs_.end()) return;
  pb::WatchRequest req;
  *req.mutable_create_request() = it->second->request;
  // A failed write breaks the stream; the read side sees it and reopens.
  (void)Send(req);
}

void Watcher::EndAll(const Status& err) {
  for (auto& [handle, sub] : subs_) {
    if (sub->ended) continue;
    if (!err.ok()) {
      WatchResponse last;
      last.response.set_canceled(true);
      last.err = err;
      sub->queue.push_back(std::move(last));
    }
    sub->ended = true;
    sub->server_id = kNoWatchId;
  }
  creating_.clear();
  by_server_id_.clear();
  cv_.notify_all();
}

void Watcher::Deliver(Sub& sub, const pb::WatchResponse& resp, Status err) {
  // The revision to resume from: past the last event, or past the revision
  // a progress notification vouches for.
  if (!resp.events().empty()) {
    sub.request.set_start_revision(resp.events().rbegin()->kv().mod_revision() + 1);
  } else {
    sub.request.set_start_revision(resp.header().revision() + 1);
  }
  WatchResponse wr;
  wr.response = resp;
  wr.response.clear_watch_id();
  wr.response.clear_created();
  wr.response.clear_cancel_reason();
  wr.response.clear_fragment();
  wr.err = std::move(err);
  const bool last = !wr.err.ok();
  sub.queue.push_back(std::move(wr));
  if (last) {
    by_server_id_.erase(sub.server_id);
    sub.server_id = kNoWatchId;
    sub.ended = true;
  }
  cv_.notify_all();
}

void Watcher::Dispatch(pb::WatchResponse resp) {
  if (resp.created()) {
    if (creating_.empty()) return;
    const int handle = creating_.front();
    creating_.pop_front();
    Sub& sub = *subs_.at(handle);
    if (resp.watch_id() == kNoWatchId || (resp.canceled() && !resp.cancel_reason().empty())) {
      WatchResponse last;
      last.response.set_canceled(true);
      last.err = Status(Code::kFailedPrecondition, resp.cancel_reason());
      sub.queue.push_back(std::move(last));
      sub.ended = true;
      cv_.notify_all();
    } else {
      sub.server_id = resp.watch_id();
      by_server_id_[sub.server_id] = handle;
      // A watch from "now" resumes after the revision it was created at.
      if (!sub.created_once && sub.request.start_revision() == 0) {
        sub.request.set_start_revision(resp.header().revision() + 1);
      }
      sub.created_once = true;
    }
    SendNextCreate();
    return;
  }
  auto found = by_server_id_.find(resp.watch_id());
  if (resp.canceled() && resp.compact_revision() == 0) {
    if (found == by_server_id_.end()) return;
    Sub& sub = *subs_.at(found->second);
    sub.ended = true;
    sub.server_id = kNoWatchId;
    by_server_id_.erase(found);
    cv_.notify_all();
    return;
  }
  WatchResponse probe;
  probe.response = resp;
  if (resp.watch_id() == kNoWatchId && probe.IsProgressNotify()) {
    for (auto& [id, handle] : by_server_id_) Deliver(*subs_.at(handle), resp, Status::Ok());
    return;
  }
  if (found == by_server_id_.end()) {
    // Events for a watch nobody holds: cancel it once, as clientv3 does.
    if (stream_ && stream_->cancel_sent.insert(resp.watch_id()).second) {
      pb::WatchRequest cancel;
      cancel.mutable_cancel_request()->set_watch_id(resp.watch_id());
      (void)Send(cancel);
    }
    return;
  }
  Deliver(*subs_.at(found->second), resp, ResponseErr(resp));
}

// Opens a stream on the pinned endpoint, or after a failure on the first
// endpoint that answers. Returns false if Close() came first.
bool Watcher::OpenStream(bool after_failure) {
  internal::Conn* conn = after_failure ? nullptr : client_.PinnedConn();
  while (conn == nullptr) {
    {
      std::lock_guard lock(mu_);
      if (closed_) return false;
    }
    conn = client_.ReachableConn(Clock::now() + kReachableHorizon);
  }
  Stream* stream = nullptr;
  {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    stream_ = std::make_unique<Stream>();
    stream = stream_.get();
    client_.PrepareContext(&stream->ctx);
    if (require_leader_) stream->ctx.AddMetadata("hasleader", "true");
  }
  // Close() may cancel the context while the call starts.
  auto rw = conn->watch->Watch(&stream->ctx);
  std::lock_guard lock(mu_);
  stream->rw = std::move(rw);
  SendNextCreate();
  return true;
}

void Watcher::ReadStream(Stream* stream) {
  pb::WatchResponse resp;
  while (stream->rw->Read(&resp)) {
    std::lock_guard lock(mu_);
    Dispatch(std::move(resp));
    resp.Clear();
  }
}

void Watcher::Run() {
  bool after_failure = false;
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closed_ || !creating_.empty(); });
      if (closed_) return;
    }
    if (!OpenStream(after_failure)) return;
    ReadStream(stream_.get());  // stream_ is replaced only by this thread
    const grpc::Status status = stream_->rw->Finish();
    std::lock_guard lock(mu_);
    stream_.reset();
    if (closed_) return;
    const bool no_leader = status.error_message() == "etcdserver: no leader";
    if (internal::IsHaltError(status) || (require_leader_ && no_leader)) {
      EndAll(FromGrpcStatus(status));
      after_failure = false;
      continue;
    }
    // Re-create every established watch, after the ones still waiting.
    for (auto& [handle, sub] : subs_) {
      if (sub->ended || sub->server_id == kNoWatchId) continue;
      sub->server_id = kNoWatchId;
      creating_.push_back(handle);
    }
    by_server_id_.clear();
    after_failure = true;
  }
}

}  // namespace etcdd::client
