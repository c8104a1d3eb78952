// The client-facing gRPC server: etcd's v3 services over an EtcdServer.
//
// KV, Watch, Lease, Cluster, Auth, Lock, Election and Maintenance (Status,
// Hash, HashKV, Snapshot, Defragment, MoveLeader, Alarm) are served. With
// auth enabled, every call is checked against its caller
// (api/service_util.h Caller).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/status.h"
#include "base/url.h"
#include "server/api/recipes.h"
#include "server/api/watch_service.h"
#include "server/server.h"
#include "tls/tls.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace etcdd::server {

class GrpcServer {
 public:
  // Listens on every URL and serves `server`: http:// in the clear, https://
  // with `tls` (tls::ServerCredentials: certificates reloaded from disk,
  // client certs verified as `tls` says), as etcd serves both kinds at once.
  // Requests up to `max_request_bytes` + 512 KiB are accepted by gRPC (as
  // etcd does) so that the server itself can answer larger ones with
  // "etcdserver: request is too large". Errors: FailedPrecondition when a
  // port cannot be bound ("listen tcp 127.0.0.1:2379: bind: address already in
  // use"; a port is never shared with another process through SO_REUSEPORT),
  // InvalidArgument for a unix URL, or an https URL without a cert/key in
  // `tls` or with unusable TLS files (see server::PrepareTls).
  static Result<std::unique_ptr<GrpcServer>> Start(const std::vector<Url>& listen_urls,
                                                   uint64_t max_request_bytes,
                                                   const tls::TlsInfo& tls, EtcdServer& server,
                                                   Logger& logger);
  ~GrpcServer();

  // Stops accepting calls, ends the watch streams (they never end by
  // themselves) with UNAVAILABLE "etcdserver: server stopped", and waits up
  // to `grace_ms` for the other running calls.
  void Shutdown(int grace_ms);

 private:
  explicit GrpcServer(EtcdServer& server) : server_ref_(server) {}
  EtcdServer& server_ref_;
  std::unique_ptr<Recipes> recipes_;  // for the Lock and Election services
  WatchService* watch_ = nullptr;     // owned by services_
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
};

// Checks that each URL's host:port can be bound now, before any state is
// created, so a port in use fails fast with etcd's message. Errors:
// FailedPrecondition "listen tcp <addr>: bind: address already in use".
Status CheckListenable(const std::vector<Url>& urls);

}  // namespace etcdd::server
