// The etcd v3 client that every etcdd tool (kvctl, kvbackup, kvdefrag, kvcheck)
// shares: endpoints, TLS, token auth, per-call deadlines and failover.
//
// A Client holds one gRPC channel per configured endpoint and sends each call
// to a "pinned" endpoint (the one that last answered). Failover follows the
// retry policy of etcd's Go client (clientv3 retry.go):
//   - Immutable calls (Range, MemberList, Status, ...) that fail with
//     UNAVAILABLE are retried on the next endpoint, round after round, until
//     the call's deadline.
//   - Mutable calls (Put, DeleteRange, Txn, Compact, ...) are retried only
//     when the request was certainly not delivered: gRPC found no connection
//     to the endpoint ("failed to connect to all addresses"), the counterpart
//     of clientv3's "there is no connection available".
// Between rounds the client waits until some endpoint is reachable again (an
// event, not a timer), or, when every endpoint was reachable but the servers
// answered UNAVAILABLE ("etcdserver: leader changed"), backs off 25 ms times
// the round number, like clientv3's backoffLinearWithJitter(25ms).
//
// Errors are the server's gRPC code and message unchanged
// ("etcdserver: key is not provided"); an expired deadline is
// DeadlineExceeded "context deadline exceeded", as etcdctl prints it.
//
// Thread-safety: all methods may be called concurrently.
// Ownership: Connect returns the only owner; channels live as long as it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "etcdserverpb/rpc.pb.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace etcdd::client {

struct Config {
  // "host:port", "http://host:port", "https://host:port" or "unix://path".
  // http:// and bare host:port dial in plaintext unless TLS files are given;
  // https:// always dials TLS (clientv3's rule).
  std::vector<std::string> endpoints = {"127.0.0.1:2379"};
  // Connect fails if no endpoint is reachable within this (etcdctl
  // --dial-timeout); 0 waits without a deadline, as clientv3 does.
  std::chrono::milliseconds dial_timeout{2000};
  // Deadline of each call including its retries (etcdctl --command-timeout).
  std::chrono::milliseconds command_timeout{5000};
  // gRPC keepalive pings (etcdctl --keepalive-time / --keepalive-timeout).
  std::chrono::milliseconds keepalive_time{2000};
  std::chrono::milliseconds keepalive_timeout{6000};
  // Token auth, as clientv3 3.4 does it: when both user and password are set,
  // Connect authenticates and every call carries the token. A server with
  // authentication off ("etcdserver: authentication is not enabled") is not
  // an error: calls then go out without a token. A call refused with
  // "etcdserver: invalid auth token", "etcdserver: revision of auth store is
  // old" or "etcdserver: user name is empty" (no token yet, auth enabled
  // since) authenticates again and is retried once. A user without a password
  // sends no token at all (clientv3's rule, for TLS common-name auth).
  std::string user, password;
  // TLS (etcdctl --cacert, --cert, --key, --insecure-skip-tls-verify). Paths
  // to PEM files; empty cacert means the system roots.
  std::string cacert, cert, key;
  bool insecure_skip_verify = false;
  // Dial TLS to "host:port" endpoints (no scheme) even without TLS files
  // (etcdctl --insecure-transport=false); with cacert/cert set they dial TLS
  // anyway.
  bool tls_bare_endpoints = false;
  // Largest request the client sends, in bytes (clientv3's default 2 MiB);
  // responses are unlimited, as in clientv3.
  int max_send_bytes = 2 * 1024 * 1024;
};

namespace internal {
struct Conn;
}
class Watcher;
class LeaseKeepAlive;

class Client {
 public:
  // Dials every endpoint and returns once one is reachable; that one is
  // pinned. (etcdctl 3.4 dials lazily and fails at the first command's
  // deadline instead; the message is the same.)
  // Errors: InvalidArgument for a malformed endpoint or unreadable TLS file;
  // DeadlineExceeded "context deadline exceeded" if none answers within
  // dial_timeout; the server's error if authentication fails.
  static Result<std::unique_ptr<Client>> Connect(const Config& config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // KV service. Range is immutable; the others are mutable (see above).
  Result<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& req);
  Result<etcdserverpb::PutResponse> Put(const etcdserverpb::PutRequest& req);
  Result<etcdserverpb::DeleteRangeResponse> DeleteRange(
      const etcdserverpb::DeleteRangeRequest& req);
  Result<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& req);
  Result<etcdserverpb::CompactionResponse> Compact(const etcdserverpb::CompactionRequest& req);

  // Lease service. TimeToLive and Leases are immutable.
  Result<etcdserverpb::LeaseGrantResponse> LeaseGrant(const etcdserverpb::LeaseGrantRequest& req);
  Result<etcdserverpb::LeaseRevokeResponse> LeaseRevoke(
      const etcdserverpb::LeaseRevokeRequest& req);
  Result<etcdserverpb::LeaseTimeToLiveResponse> LeaseTimeToLive(
      const etcdserverpb::LeaseTimeToLiveRequest& req);
  Result<etcdserverpb::LeaseLeasesResponse> LeaseLeases();

  // Cluster service, sent to the pinned endpoint. MemberList is immutable;
  // the membership changes are mutable (clientv3 does not retry them either).
  // Member ids are the raft ids that MemberList reports; peer URLs are sent
  // as given (clientv3 first checks them with types.NewURLs; kvctl does that
  // with cli::ValidatePeerUrls, and the server checks them again).
  // Errors are the server's, e.g. "etcdserver: member not found",
  // "etcdserver: Peer URLs already exists", "etcdserver: unhealthy cluster"
  // (a strict reconfiguration check failed), "etcdserver: too many learner
  // members in cluster", "etcdserver: can only promote a learner member which
  // is in sync with leader", "etcdserver: can only promote a learner member".
  Result<etcdserverpb::MemberListResponse> MemberList();
  // Adds a voting member, or a learner when req.islearner() is set. The
  // response names the new member (id and peer URLs) and lists all members.
  Result<etcdserverpb::MemberAddResponse> MemberAdd(const etcdserverpb::MemberAddRequest& req);
  // Removes member req.id(); the response lists the remaining members.
  Result<etcdserverpb::MemberRemoveResponse> MemberRemove(
      const etcdserverpb::MemberRemoveRequest& req);
  // Replaces the peer URLs of member req.id().
  Result<etcdserverpb::MemberUpdateResponse> MemberUpdate(
      const etcdserverpb::MemberUpdateRequest& req);
  // Makes learner req.id() a voting member.
  Result<etcdserverpb::MemberPromoteResponse> MemberPromote(
      const etcdserverpb::MemberPromoteRequest& req);

  // Maintenance calls answered by one specific endpoint, as etcdctl's
  // `endpoint status`, `defrag`, `endpoint hashkv` and `move-leader` address
  // each endpoint. `endpoint` is spelled as in Config::endpoints (another
  // endpoint is dialled for the call). No failover to other endpoints;
  // Status, HashKV and MoveLeader are retried on the same endpoint on
  // UNAVAILABLE until the deadline (clientv3's "repeatable" policy).
  Result<etcdserverpb::StatusResponse> Status(const std::string& endpoint);
  Result<etcdserverpb::DefragmentResponse> Defragment(const std::string& endpoint);
  // The hash of the endpoint's key-value history up to `revision` (0: the
  // current revision), as etcd's Maintenance.HashKV; members that applied
  // the same history answer the same hash. Errors: "etcdserver: mvcc:
  // required revision is a future revision", "... has been compacted".
  Result<etcdserverpb::HashKVResponse> HashKV(const std::string& endpoint, int64_t revision);
  // Asks `endpoint`, which must be the leader, to hand leadership to member
  // `target_id` and waits until it has (etcd answers when the transfer is
  // done). Errors: "etcdserver: not leader" from a follower, "etcdserver:
  // bad leader transferee" for an id that is not a voting member, "etcdserver:
  // request timed out, leader transfer took too long".
  Result<etcdserverpb::MoveLeaderResponse> MoveLeader(const std::string& endpoint,
                                                      uint64_t target_id);
  // Alarm list/activate/deactivate, sent to the pinned endpoint (cluster-wide
  // through raft, as etcd applies alarms). GET is immutable.
  Result<etcdserverpb::AlarmResponse> Alarm(const etcdserverpb::AlarmRequest& req);

  // Streams a backend snapshot from `endpoint`, calling `on_chunk` for each
  // message in order; a non-ok Status from `on_chunk` cancels the stream and
  // is returned. `timeout` bounds the whole transfer; zero means no deadline
  // (etcdctl snapshot save has none beyond the command's context).
  etcdd::Status Snapshot(
      const std::string& endpoint, std::chrono::milliseconds timeout,
      const std::function<etcdd::Status(const etcdserverpb::SnapshotResponse&)>& on_chunk);

  // Auth.Authenticate: exchanges a name and password for a token (mutable).
  Result<etcdserverpb::AuthenticateResponse> Authenticate(const std::string& user,
                                                          const std::string& password);

  // Auth service: users, roles and their key permissions, sent to the pinned
  // endpoint (etcd applies them through raft, cluster-wide). UserGet,
  // UserList, RoleGet, RoleList and AuthStatus are immutable, the others
  // mutable, as in clientv3's retryAuthClient. Once authentication is on,
  // they need the root role (else "etcdserver: permission denied"), except
  // AuthStatus, UserGet of the caller and RoleGet of a role the caller has
  // (etcdserver/apply_auth.go); without a token they fail with "etcdserver:
  // user name is empty". Other errors are the server's, e.g. "etcdserver:
  // user name already exists", "etcdserver: user name not found",
  // "etcdserver: role name already exists", "etcdserver: role name not
  // found", "etcdserver: role is not granted to the user", "etcdserver:
  // permission is not granted to the role", "etcdserver: invalid auth
  // management" (removing root's root role or root itself while enabled).
  //
  // Turns authentication on. Errors: "etcdserver: root user does not exist",
  // "etcdserver: root user does not have root role" (etcdctl then creates
  // the role and grants it, see kvctl's auth enable).
  Result<etcdserverpb::AuthEnableResponse> AuthEnable();
  // Turns authentication off; succeeds when it is already off.
  Result<etcdserverpb::AuthDisableResponse> AuthDisable();
  // Whether authentication is on and the auth store's revision (etcd 3.5's
  // Auth.AuthStatus; an etcd 3.4 server answers Unimplemented "unknown
  // method AuthStatus for service etcdserverpb.Auth").
  Result<etcdserverpb::AuthStatusResponse> AuthStatus();
  // Creates user req.name() with req.password() (sent in clear; the server
  // stores a bcrypt hash), or without a password when
  // req.options().no_password() (etcd 3.4.10+). Errors: "etcdserver: user
  // name is empty", "etcdserver: user name already exists".
  Result<etcdserverpb::AuthUserAddResponse> UserAdd(const etcdserverpb::AuthUserAddRequest& req);
  // The roles granted to user req.name(), in the server's (sorted) order.
  Result<etcdserverpb::AuthUserGetResponse> UserGet(const etcdserverpb::AuthUserGetRequest& req);
  // Every user name, sorted.
  Result<etcdserverpb::AuthUserListResponse> UserList();
  Result<etcdserverpb::AuthUserDeleteResponse> UserDelete(
      const etcdserverpb::AuthUserDeleteRequest& req);
  Result<etcdserverpb::AuthUserChangePasswordResponse> UserChangePassword(
      const etcdserverpb::AuthUserChangePasswordRequest& req);
  // Grants role req.role() to user req.user().
  Result<etcdserverpb::AuthUserGrantRoleResponse> UserGrantRole(
      const etcdserverpb::AuthUserGrantRoleRequest& req);
  // Revokes role req.role() from user req.name().
  Result<etcdserverpb::AuthUserRevokeRoleResponse> UserRevokeRole(
      const etcdserverpb::AuthUserRevokeRoleRequest& req);
  Result<etcdserverpb::AuthRoleAddResponse> RoleAdd(const etcdserverpb::AuthRoleAddRequest& req);
  // The key permissions of role req.role(): each a key, a range end (empty
  // for one key, "\0" for every key from `key` on) and READ, WRITE or
  // READWRITE, in the server's order.
  Result<etcdserverpb::AuthRoleGetResponse> RoleGet(const etcdserverpb::AuthRoleGetRequest& req);
  // Every role name, sorted.
  Result<etcdserverpb::AuthRoleListResponse> RoleList();
  Result<etcdserverpb::AuthRoleDeleteResponse> RoleDelete(
      const etcdserverpb::AuthRoleDeleteRequest& req);
  // Adds req.perm() to role req.name(); a permission on the same range
  // replaces the old one's type.
  Result<etcdserverpb::AuthRoleGrantPermissionResponse> RoleGrantPermission(
      const etcdserverpb::AuthRoleGrantPermissionRequest& req);
  // Removes the permission on exactly [req.key(), req.range_end()) from
  // role req.role().
  Result<etcdserverpb::AuthRoleRevokePermissionResponse> RoleRevokePermission(
      const etcdserverpb::AuthRoleRevokePermissionRequest& req);

  // Watch and LeaseKeepAlive streams, with failover and resumption, are in
  // watch.h and lease_keepalive.h; the lock and election recipes in
  // concurrency.h. For streaming RPCs the client does not wrap: the pinned
  // endpoint's channel, and a context prepared with the auth token. The
  // caller sets its own deadline; no failover.
  std::shared_ptr<grpc::Channel> PinnedChannel() const;
  void PrepareContext(grpc::ClientContext* ctx) const;

  // The configured endpoints, as given.
  const std::vector<std::string>& endpoints() const { return config_.endpoints; }
  // The endpoint that answered last.
  const std::string& pinned_endpoint() const;
  const Config& config() const { return config_; }

 private:
  // The streams (watch.h, lease_keepalive.h) open on the pinned endpoint and
  // fail over through ReachableConn.
  friend class Watcher;
  friend class LeaseKeepAlive;
  friend Result<etcdserverpb::LeaseKeepAliveResponse> KeepAliveOnce(Client& client, int64_t id);

  enum class Policy { kImmutable, kMutable };
  explicit Client(Config config);

  // The pinned endpoint's connection.
  internal::Conn* PinnedConn() const;
  // Waits until some endpoint answers, pins it and returns its connection;
  // nullptr if none does before `deadline`.
  internal::Conn* ReachableConn(std::chrono::system_clock::time_point deadline);

  // Runs `call` against the pinned endpoint with failover per `policy`, or
  // only against `only` when it is set. Defined in client.cc.
  template <typename Resp, typename Fn>
  Result<Resp> Invoke(Policy policy, internal::Conn* only, Fn&& call);
  // Runs `call` against `endpoint` alone: a configured endpoint's channel, or
  // a channel dialled for this call.
  template <typename Resp, typename Fn>
  Result<Resp> InvokeOn(const std::string& endpoint, Policy policy, Fn&& call);
  etcdd::Status RefreshToken();
  std::string token() const;
  // Whether calls carry a token: a user and a password are configured.
  bool uses_token() const { return !config_.user.empty() && !config_.password.empty(); }

  Config config_;
  // One per endpoint, in Config order; fixed after Connect.
  std::vector<std::unique_ptr<internal::Conn>> conns_;
  std::atomic<int> pinned_{0};
  mutable std::mutex mu_;
  std::string token_;  // GUARDED_BY(mu_)
};

}  // namespace etcdd::client
