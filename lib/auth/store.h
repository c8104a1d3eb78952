// The auth store: users, roles and their key-range permissions, whether
// authentication is enabled, and the auth revision (etcd 3.4 auth/store.go).
//
// State lives in the backend's server metadata (mvcc::Store meta space) under
// "auth/": "auth/enabled" (one byte, 1 or 0), "auth/revision" (8 bytes big
// endian), "auth/users/<name>" (authpb.User) and "auth/roles/<name>"
// (authpb.Role); an in-memory copy answers the permission checks. Every
// change is applied from the Raft log on every member, in the apply
// transaction, so all members hold the same state; each change bumps the
// revision, and a request authorised against an older revision is refused
// (etcd's ErrAuthOldRevision).
//
// Passwords are bcrypt hashes. They are hashed by the member that receives
// the request, before it is proposed (HashPassword), so no plain-text
// password reaches the WAL, and the apply path never runs bcrypt.
//
// Errors carry etcd's gRPC codes and messages (etcdserver/api/v3rpc/rpctypes
// /error.go), e.g. FailedPrecondition "etcdserver: user name not found",
// PermissionDenied "etcdserver: permission denied".
//
// Thread-safety: the Apply* methods run on the apply thread only; every other
// method may be called from any thread concurrently with them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "auth/range_perms.h"
#include "auth/token.h"
#include "authpb/auth.pb.h"
#include "base/status.h"
#include "etcdserverpb/rpc.pb.h"
#include "mvcc/store.h"

namespace etcdd::auth {

// Who sent a request: the user its token or client certificate names and the
// auth revision it was authorised at. An empty user: the request carried
// neither (refused with "etcdserver: user name is empty" while auth is on).
struct AuthInfo {
  std::string user;
  uint64_t revision = 0;
};

inline constexpr char kRootUser[] = "root";
inline constexpr char kRootRole[] = "root";

// The auth records in the server metadata. Values are in etcd's bucket
// formats, so a snapshot copies them as they are: enabled is one byte (1 or
// 0), revision 8 bytes big endian, users authpb.User, roles authpb.Role.
inline constexpr char kAuthEnabledMetaKey[] = "auth/enabled";
inline constexpr char kAuthRevisionMetaKey[] = "auth/revision";
inline constexpr char kAuthUsersMetaPrefix[] = "auth/users/";  // + user name
inline constexpr char kAuthRolesMetaPrefix[] = "auth/roles/";  // + role name

// etcd's errors (rpctypes), as values.
Status ErrUserEmpty();
Status ErrUserNotFound();
Status ErrPermissionDenied();
Status ErrAuthFailed();
Status ErrAuthOldRevision();
Status ErrInvalidAuthToken();
Status ErrAuthNotEnabled();

class AuthStore {
 public:
  // Loads the state from `store`'s metadata (absent keys: a fresh store,
  // auth disabled, revision 1 as etcd starts). `tokens` issues and checks
  // tokens; `bcrypt_cost` is --bcrypt-cost. Errors: Corruption for an
  // undecodable record, IOError.
  static Result<std::unique_ptr<AuthStore>> Open(const mvcc::Store& store,
                                                 std::unique_ptr<TokenProvider> tokens,
                                                 int bcrypt_cost);

  // Reloads everything from `store`, after a snapshot from the leader
  // replaced the backend (etcd's authStore.Recover). Errors: as Open.
  Status Reload(const mvcc::Store& store);

  bool enabled() const;
  uint64_t revision() const;

  // --- the API layer (any thread) ---

  // The user and revision of a request's "token" metadata: a JWT's issuing
  // revision, or for a simple token the current one (etcd's tokenSimple).
  // A simple token is known once its Raft index (SimpleTokenIndex) is
  // applied here; the caller waits for that first. Errors: Unauthenticated
  // "etcdserver: invalid auth token".
  Result<AuthInfo> InfoFromToken(std::string_view token) const;
  // Whether tokens are etcd's simple tokens (--auth-token simple).
  bool IsSimpleTokens() const;
  // A client certificate's common name as the user (etcd's AuthInfoFromTLS),
  // at the current revision.
  AuthInfo InfoFromCommonName(std::string_view cn) const;
  // etcd's CheckPassword: the auth revision the password was checked at.
  // Errors: FailedPrecondition ErrAuthNotEnabled; InvalidArgument
  // ErrAuthFailed for an unknown user or a wrong password; Unknown "auth:
  // authentication failed, password was given for no password user" (etcd's
  // unconverted ErrNoPasswordUser). Runs bcrypt: slow by design (tens of ms
  // at cost 10).
  Result<uint64_t> CheckPassword(std::string_view user, std::string_view password) const;
  // A random token prefix for an Authenticate proposal.
  std::string GenTokenPrefix() const;
  // bcrypt hash of `password` at --bcrypt-cost, for a UserAdd or
  // UserChangePassword proposal. Errors: Internal.
  Result<std::string> HashPassword(std::string_view password) const;

  // Permission checks (etcd's isOpPermitted): Ok while auth is disabled or
  // for a user with the root role. Errors: InvalidArgument ErrUserEmpty for
  // an empty user (revision 0), ErrAuthOldRevision when `who.revision` is
  // older than the store's; PermissionDenied for an unknown user or a range
  // not granted.
  Status CheckRange(const AuthInfo& who, std::string_view key, std::string_view range_end) const;
  Status CheckPut(const AuthInfo& who, std::string_view key) const;
  Status CheckDeleteRange(const AuthInfo& who, std::string_view key,
                          std::string_view range_end) const;
  // A Txn's compares (read), and each operation, nested ones included
  // (etcd's checkTxnAuth). Errors: as above.
  Status CheckTxn(const AuthInfo& who, const etcdserverpb::TxnRequest& txn) const;
  // etcd's IsAdminPermitted: the user has the root role. Errors:
  // InvalidArgument ErrUserEmpty, FailedPrecondition ErrUserNotFound,
  // PermissionDenied.
  Status CheckAdmin(const AuthInfo& who) const;
  // Whether `user` has `role` (a user may read its own roles).
  bool HasRole(std::string_view user, std::string_view role) const;

  // --- the apply path: each writes `txn` and then updates the memory copy ---
  // (an error leaves both unchanged). `who` is the proposer, checked as etcd's
  // authApplierV3 does: admin for everything but Authenticate, UserGet of
  // oneself and RoleGet of one's own role.

  Result<etcdserverpb::AuthEnableResponse> ApplyEnable(mvcc::Store::WriteTxn& txn,
                                                       const AuthInfo& who);
  Result<etcdserverpb::AuthDisableResponse> ApplyDisable(mvcc::Store::WriteTxn& txn,
                                                         const AuthInfo& who);
  // Issues a token for `user` (prefix from GenTokenPrefix, `index` the
  // entry's Raft index). The password was checked before proposing.
  Result<etcdserverpb::AuthenticateResponse> ApplyAuthenticate(std::string_view user,
                                                               std::string_view prefix,
                                                               uint64_t index);
  // `req.hashedpassword()` holds the bcrypt hash (the plain password field
  // is empty).
  Result<etcdserverpb::AuthUserAddResponse> ApplyUserAdd(
      mvcc::Store::WriteTxn& txn, const AuthInfo& who, const etcdserverpb::AuthUserAddRequest& req);
  Result<etcdserverpb::AuthUserDeleteResponse> ApplyUserDelete(
      mvcc::Store::WriteTxn& txn, const AuthInfo& who,
      const etcdserverpb::AuthUserDeleteRequest& req);
  Result<etcdserverpb::AuthUserChangePasswordResponse> ApplyUserChangePassword(
      mvcc::Store::WriteTxn& txn, const AuthInfo& who,
      const etcdserverpb::AuthUserChangePasswordRequest& req);
  Result<etcdserverpb::AuthUserGrantRoleResponse> ApplyUserGrantRole(
      mvcc::Store::WriteTxn& txn, const AuthInfo& who,
      const etcdserverpb::AuthUserGrantRoleRequest& req);
  Result<etcdserverpb::AuthUserRevokeRoleResponse> ApplyUserRevokeRole(
      mvcc::Store::WriteTxn& txn, const AuthInfo& who,
      const etcdserverpb::AuthUserRevokeRoleRequest& req);
  Result<etcdserverpb::AuthRoleAddResponse> ApplyRoleAdd(
      mvcc::Store::WriteTxn& txn, const AuthInfo& who, const etcdserverpb::AuthRoleAddRequest& req);
  Result<etcdserverpb::AuthRoleDeleteResponse> ApplyRoleDelete(
      mvcc::Store::WriteTxn& txn, const AuthInfo& who,
      const etcdserverpb::AuthRoleDeleteRequest& req);
  Result<etcdserverpb::AuthRoleGrantPermissionResponse> ApplyRoleGrantPermission(
      mvcc::Store::WriteTxn& txn, const AuthInfo& who,
      const etcdserverpb::AuthRoleGrantPermissionRequest& req);
  Result<etcdserverpb::AuthRoleRevokePermissionResponse> ApplyRoleRevokePermission(
      mvcc::Store::WriteTxn& txn, const AuthInfo& who,
      const etcdserverpb::AuthRoleRevokePermissionRequest& req);
  // Reads, ordered through the log as etcd 3.4 does.
  Result<etcdserverpb::AuthUserGetResponse> ApplyUserGet(
      const AuthInfo& who, const etcdserverpb::AuthUserGetRequest& req);
  Result<etcdserverpb::AuthUserListResponse> ApplyUserList(const AuthInfo& who);
  Result<etcdserverpb::AuthRoleGetResponse> ApplyRoleGet(
      const AuthInfo& who, const etcdserverpb::AuthRoleGetRequest& req);
  Result<etcdserverpb::AuthRoleListResponse> ApplyRoleList(const AuthInfo& who);

 private:
  struct State {
    bool enabled = false;
    uint64_t revision = 1;
    std::map<std::string, authpb::User, std::less<>> users;
    std::map<std::string, authpb::Role, std::less<>> roles;
  };
  AuthStore(std::unique_ptr<TokenProvider> tokens, int bcrypt_cost)
      : tokens_(std::move(tokens)), bcrypt_cost_(bcrypt_cost) {}
  static Result<State> Load(const mvcc::Store& store);

  // Checks under the read lock.
  Status CheckAdminLocked(const AuthInfo& who) const;
  Status CheckOpLocked(const AuthInfo& who, std::string_view key, std::string_view range_end,
                       bool write) const;
  // Writes `next` (users/roles named in `changed_users`/`changed_roles`,
  // deletions included), with the revision bumped if `bump`, then installs
  // it.
  Status Commit(mvcc::Store::WriteTxn& txn, State next,
                const std::vector<std::string>& changed_users,
                const std::vector<std::string>& changed_roles, bool bump);
  // A copy of the state for an Apply* to modify.
  State Snapshot() const;

  const std::unique_ptr<TokenProvider> tokens_;
  const int bcrypt_cost_;
  mutable std::shared_mutex mu_;
  State state_;  // guarded by mu_
  // Per user: merged READ and WRITE ranges, rebuilt on each change.
  struct UserPerms {
    RangePerms read, write;
    bool root = false;
  };
  std::map<std::string, UserPerms, std::less<>> perms_;  // guarded by mu_
  void RebuildPermsLocked();
};

}  // namespace etcdd::auth
