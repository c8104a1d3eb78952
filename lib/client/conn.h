// Internal to lib/client: one endpoint's gRPC channel and stubs, endpoint
// parsing, and waiting for any of several endpoints to become reachable.
//
// Thread-safety: a Conn is immutable after Dial and its stubs are
// thread-safe; WaitForAnyReachable may run concurrently with calls.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/grpc_status.h"
#include "base/status.h"
#include "client/client.h"
#include "etcdserverpb/rpc.grpc.pb.h"

namespace etcdd::client::internal {

using Clock = std::chrono::system_clock;

// Where and how to dial one configured endpoint.
struct Target {
  std::string grpc_target;  // "host:port" or "unix:path"
  bool tls = false;
};

// Parses "host:port", "http://host:port", "https://host:port",
// "unix://path" or "unixs://path". A bare host:port dials TLS iff
// `tls_configured` (TLS files were given), as clientv3 decides.
// Errors: InvalidArgument naming the endpoint.
Result<Target> ParseEndpoint(const std::string& endpoint, bool tls_configured);

struct Conn {
  std::string endpoint;  // as configured
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  std::unique_ptr<etcdserverpb::Cluster::Stub> cluster;
  std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
  std::unique_ptr<etcdserverpb::Auth::Stub> auth;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch;
};

// clientv3's isHaltErr: a stream error that is not worth retrying (anything
// but UNAVAILABLE and INTERNAL).
bool IsHaltError(const grpc::Status& s);

// Creates the channel and stubs for `endpoint`. Does not wait for a
// connection. Errors: InvalidArgument (bad endpoint, unreadable TLS file).
Result<std::unique_ptr<Conn>> Dial(const Config& config, const std::string& endpoint);

// Blocks until one of `conns` accepts an RPC on a working transport, and
// returns its index; -1 if none does before `deadline`. Each endpoint is
// probed with a gRPC health check that waits for the connection; any answer,
// even UNIMPLEMENTED, shows the transport works. Returns as soon as one
// answers, cancelling the other probes.
int WaitForAnyReachable(const std::vector<Conn*>& conns, Clock::time_point deadline);

}  // namespace etcdd::client::internal
