// etcd's Watch gRPC service (etcdserver/api/v3rpc/watch.go) over a watch::WatchHub.
//
// Each Watch call is one watch::WatchStream driven by a callback reactor: no thread
// waits per stream. The reactor keeps one read and at most one write in
// flight; requests become hub calls (create, cancel, progress), and the
// hub's queued messages are written one after the other, each serialized
// into one or more (fragmented) WatchResponses; a write with more queued
// behind it is corked (gRPC's buffer hint), so the responses a stream has
// queued leave in one flush rather than one syscall each. The method is registered in
// its raw (ByteBuffer) form so that an event serialized once by the hub is
// spliced into every response that carries it; the bytes on the wire are
// etcd's WatchResponse.
//
// As in etcd: a client's half-close does not end the stream (events keep
// coming until the client cancels); the reader stops reading while 16
// control responses are queued (etcd's ctrlStreamBufLen), so a client that
// floods requests without reading responses is slowed down; a cancelled
// call ends with CANCELLED "etcdserver: watch canceled".
//
// Thread-safety: gRPC calls the service from its threads; AbortStreams may
// be called from any thread. The hub and the callbacks in the options must
// outlive the service, which must outlive the grpc::Server it is registered
// in (the server's Shutdown ends every stream).
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_set>

#include "base/log.h"
#include "base/status.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "watch/watch_hub.h"

namespace etcdd::server {

struct WatchServiceOptions {
  // --max-request-bytes. Responses of fragment watchers are split at this
  // plus 512 KiB of gRPC overhead, as etcd does.
  uint64_t max_request_bytes = 1536 * 1024;
  // Fills cluster_id, member_id and raft_term of a response header (the
  // service sets the revision). Called for every response, on gRPC or hub
  // threads; must not block. Unset: those fields stay 0.
  std::function<void(etcdserverpb::ResponseHeader*)> fill_header;
  // Admission of a new stream (etcd's stream interceptor: "etcdserver: rpc
  // not supported for learner", "etcdserver: no leader" for hasleader
  // streams). A non-OK status ends the call with it. Unset: all admitted.
  std::function<grpc::Status(const grpc::CallbackServerContext&)> admit;
  // Authorization of a create request (etcd's isWatchPermitted). A non-OK
  // status refuses it with {watch_id -1, created, canceled, cancel_reason =
  // its message}, e.g. "etcdserver: permission denied". Unset: all allowed.
  std::function<Status(const grpc::CallbackServerContext&, const etcdserverpb::WatchCreateRequest&)>
      authorize;
};

class WatchService final
    : public etcdserverpb::Watch::WithRawCallbackMethod_Watch<etcdserverpb::Watch::Service> {
 public:
  WatchService(watch::WatchHub& hub, WatchServiceOptions options, Logger& logger);
  ~WatchService() override;

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Watch(
      grpc::CallbackServerContext* ctx) override;

  // Ends every open stream for which `which` is true with `status`, e.g. the
  // streams that asked for a leader ("hasleader" metadata) with UNAVAILABLE
  // "etcdserver: no leader" after this member lost its leader, as etcd's
  // monitorLeader does, or every stream before a shutdown.
  void AbortStreams(const std::function<bool(const grpc::CallbackServerContext&)>& which,
                    const grpc::Status& status);

  // Open streams.
  size_t StreamCount() const;

 private:
  class Reactor;
  friend class Reactor;
  void Unregister(Reactor* r);

  watch::WatchHub& hub_;
  const WatchServiceOptions options_;
  Logger& logger_;
  mutable std::mutex mu_;
  std::unordered_set<Reactor*> reactors_;  // guarded by mu_
};

}  // namespace etcdd::server
