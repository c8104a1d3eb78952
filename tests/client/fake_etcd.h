// An in-process gRPC server that answers a few etcd RPCs with behaviour the
// test chooses, on a free loopback port. HashKV answers with the requested
// revision as the hash, so a test sees which revision was asked for. Lets client tests observe
// which endpoint received a call and inject server errors without a real etcd.
//
// Thread-safety: handlers run on gRPC threads; the hooks and counters are
// guarded by an internal mutex.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "etcdserverpb/rpc.grpc.pb.h"

namespace etcdd::client::testing {

class FakeEtcd {
 public:
  // Range/Put answer with this unless the hook is set; member id identifies
  // the server in response headers.
  explicit FakeEtcd(uint64_t member_id);
  ~FakeEtcd();

  const std::string& endpoint() const { return endpoint_; }
  uint64_t member_id() const { return member_id_; }
  // Stops listening; later dials are refused.
  void Shutdown();

  // Hooks: return a non-OK status to fail the call. Called with the request's
  // "token" metadata ("" if none).
  std::function<grpc::Status(const std::string& token)> on_range;
  std::function<grpc::Status(const std::string& token)> on_put;
  // MemberAdd and MoveLeader fail with this status when set (called once per
  // request received).
  std::function<grpc::Status()> on_member_add;
  std::function<grpc::Status()> on_move_leader;
  // Authenticate answers with this token (for name "root", password "pw"),
  // or with "etcdserver: authentication is not enabled" while auth_enabled
  // is false.
  std::string token = "tok1";
  std::atomic<bool> auth_enabled{true};
  // UserList answers users ["root"] unless the hook fails it; called with the
  // request's token.
  std::function<grpc::Status(const std::string& token)> on_user_list;

  std::atomic<int> ranges{0};
  std::atomic<int> puts{0};
  std::atomic<int> statuses{0};
  std::atomic<int> authenticates{0};
  std::atomic<int> user_lists{0};
  std::atomic<int> member_adds{0};
  std::atomic<int> move_leaders{0};
  // The target of the last MoveLeader that succeeded.
  std::atomic<uint64_t> moved_to{0};

 private:
  class Kv;
  class Maintenance;
  class Auth;
  class Cluster;
  uint64_t member_id_;
  std::string endpoint_;
  std::unique_ptr<Kv> kv_;
  std::unique_ptr<Maintenance> maintenance_;
  std::unique_ptr<Auth> auth_;
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<grpc::Server> server_;
};

// A loopback endpoint with nothing listening on it.
std::string DeadEndpoint();

}  // namespace etcdd::client::testing
