// The client-facing gRPC server: etcd's v3 services over an EtcdServer.
//
// KV, Maintenance.Status and Cluster.MemberList are served; the other
// services and methods (Watch, Lease, Auth, Lock, Election, the rest of
// Maintenance and Cluster) are registered so clients get UNIMPLEMENTED until
// the issues that build them land.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/status.h"
#include "base/url.h"
#include "server/server.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace etcdd::server {

class GrpcServer {
 public:
  // Listens on every URL (http only; TLS comes later) and serves `server`.
  // Requests up to `max_request_bytes` + 512 KiB are accepted by gRPC (as
  // etcd does) so that the server itself can answer larger ones with
  // "etcdserver: request is too large". Errors: FailedPrecondition when a
  // port cannot be bound ("listen tcp 127.0.0.1:2379: bind: address already in
  // use"), InvalidArgument for an https/unix URL.
  static Result<std::unique_ptr<GrpcServer>> Start(const std::vector<Url>& listen_urls,
                                                   uint64_t max_request_bytes, EtcdServer& server,
                                                   Logger& logger);
  ~GrpcServer();

  // Stops accepting calls and waits up to `grace_ms` for running ones.
  void Shutdown(int grace_ms);

 private:
  GrpcServer() = default;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
};

// Checks that each URL's host:port can be bound now, before any state is
// created, so a port in use fails fast with etcd's message. Errors:
// FailedPrecondition "listen tcp <addr>: bind: address already in use".
Status CheckListenable(const std::vector<Url>& urls);

}  // namespace etcdd::server
