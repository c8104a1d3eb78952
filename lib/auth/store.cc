#include "auth/store.h"

#include <algorithm>
#include <mutex>

#include "auth/password.h"
#include "mvcc/revision.h"

namespace etcdd::auth {

namespace pb = etcdserverpb;

namespace {

constexpr const char* kEnabledKey = kAuthEnabledMetaKey;
constexpr const char* kRevisionKey = kAuthRevisionMetaKey;
constexpr std::string_view kUsersPrefix = kAuthUsersMetaPrefix;
constexpr std::string_view kRolesPrefix = kAuthRolesMetaPrefix;

std::string EncodeRevision(uint64_t v) {
  std::string b(8, '\0');
  mvcc::PutBigEndian64(v, b.data());
  return b;
}

Result<uint64_t> DecodeRevision(std::string_view b) {
  if (b.size() != 8)
    return Status::Corruption("auth revision is not 8 bytes", kAuthRevisionMetaKey);
  return mvcc::GetBigEndian64(b.data());
}

Status Error(Code code, const char* message) { return Status(code, message); }

bool HasRootRole(const authpb::User& u) {
  return std::find(u.roles().begin(), u.roles().end(), kRootRole) != u.roles().end();
}

Status ErrRoleNotFound() {
  return Error(Code::kFailedPrecondition, "etcdserver: role name not found");
}
Status ErrInvalidAuthMgmt() {
  return Error(Code::kInvalidArgument, "etcdserver: invalid auth management");
}

}  // namespace

Status ErrUserEmpty() { return Error(Code::kInvalidArgument, "etcdserver: user name is empty"); }
Status ErrUserNotFound() {
  return Error(Code::kFailedPrecondition, "etcdserver: user name not found");
}
Status ErrPermissionDenied() {
  return Error(Code::kPermissionDenied, "etcdserver: permission denied");
}
Status ErrAuthFailed() {
  return Error(Code::kInvalidArgument,
               "etcdserver: authentication failed, invalid user ID or password");
}
Status ErrAuthOldRevision() {
  return Error(Code::kInvalidArgument, "etcdserver: revision of auth store is old");
}
Status ErrInvalidAuthToken() {
  return Error(Code::kUnauthenticated, "etcdserver: invalid auth token");
}
Status ErrAuthNotEnabled() {
  return Error(Code::kFailedPrecondition, "etcdserver: authentication is not enabled");
}

Result<AuthStore::State> AuthStore::Load(const mvcc::Store& store) {
  State st;
  ASSIGN_OR_RETURN(auto enabled, store.GetMeta(kEnabledKey));
  st.enabled = enabled.has_value() && *enabled == std::string_view("\x01", 1);
  ASSIGN_OR_RETURN(auto revision, store.GetMeta(kRevisionKey));
  if (revision.has_value()) {
    ASSIGN_OR_RETURN(st.revision, DecodeRevision(*revision));
  }
  ASSIGN_OR_RETURN(auto users, store.ListMeta(kUsersPrefix));
  for (const auto& [key, value] : users) {
    authpb::User u;
    if (!u.ParseFromString(value))
      return Status::Corruption("undecodable auth user", "server database key " + key);
    st.users.emplace(key.substr(kUsersPrefix.size()), std::move(u));
  }
  ASSIGN_OR_RETURN(auto roles, store.ListMeta(kRolesPrefix));
  for (const auto& [key, value] : roles) {
    authpb::Role r;
    if (!r.ParseFromString(value))
      return Status::Corruption("undecodable auth role", "server database key " + key);
    st.roles.emplace(key.substr(kRolesPrefix.size()), std::move(r));
  }
  return st;
}

Result<std::unique_ptr<AuthStore>> AuthStore::Open(const mvcc::Store& store,
                                                   std::unique_ptr<TokenProvider> tokens,
                                                   int bcrypt_cost) {
  std::unique_ptr<AuthStore> as(new AuthStore(std::move(tokens), bcrypt_cost));
  RETURN_IF_ERROR(as->Reload(store));
  return as;
}

Status AuthStore::Reload(const mvcc::Store& store) {
  ASSIGN_OR_RETURN(State st, Load(store));
  std::unique_lock lock(mu_);
  state_ = std::move(st);
  RebuildPermsLocked();
  if (state_.enabled) {
    tokens_->Enable();
  } else {
    tokens_->Disable();
  }
  return Status::Ok();
}

void AuthStore::RebuildPermsLocked() {
  perms_.clear();
  for (const auto& [name, user] : state_.users) {
    std::vector<const authpb::Role*> roles;
    for (const auto& r : user.roles()) {
      if (auto it = state_.roles.find(r); it != state_.roles.end()) roles.push_back(&it->second);
    }
    perms_[name] = UserPerms{RangePerms::Build(roles, false), RangePerms::Build(roles, true),
                             HasRootRole(user)};
  }
}

bool AuthStore::enabled() const {
  std::shared_lock lock(mu_);
  return state_.enabled;
}

uint64_t AuthStore::revision() const {
  std::shared_lock lock(mu_);
  return state_.revision;
}

Result<AuthInfo> AuthStore::InfoFromToken(std::string_view token) const {
  auto info = tokens_->Info(token);
  if (!info.ok()) return ErrInvalidAuthToken();
  // etcd's simple tokens carry no revision: they stand for the store's
  // current one (a JWT keeps the revision it was issued at).
  return AuthInfo{info->user, tokens_->IsSimple() ? revision() : info->revision};
}

bool AuthStore::IsSimpleTokens() const { return tokens_->IsSimple(); }

AuthInfo AuthStore::InfoFromCommonName(std::string_view cn) const {
  return AuthInfo{std::string(cn), revision()};
}

Result<uint64_t> AuthStore::CheckPassword(std::string_view user, std::string_view password) const {
  std::string hash;
  uint64_t revision = 0;
  {
    std::shared_lock lock(mu_);
    if (!state_.enabled) return ErrAuthNotEnabled();
    auto it = state_.users.find(user);
    if (it == state_.users.end()) return ErrAuthFailed();
    if (it->second.options().no_password()) {
      // etcd 3.4 has no gRPC error for it: clients get auth's own text.
      return Error(Code::kUnknown,
                   "auth: authentication failed, password was given for no password user");
    }
    hash = it->second.password();
    revision = state_.revision;
  }
  // bcrypt outside the lock: it is slow on purpose.
  if (!auth::CheckPassword(hash, password)) return ErrAuthFailed();
  return revision;
}

std::string AuthStore::GenTokenPrefix() const { return tokens_->GenTokenPrefix(); }

Result<std::string> AuthStore::HashPassword(std::string_view password) const {
  return auth::HashPassword(password, bcrypt_cost_);
}

Status AuthStore::CheckOpLocked(const AuthInfo& who, std::string_view key,
                                std::string_view range_end, bool write) const {
  if (!state_.enabled) return Status::Ok();
  if (who.revision == 0) return ErrUserEmpty();
  if (who.revision < state_.revision) return ErrAuthOldRevision();
  auto it = perms_.find(who.user);
  if (it == perms_.end()) return ErrPermissionDenied();
  if (it->second.root) return Status::Ok();
  const RangePerms& perms = write ? it->second.write : it->second.read;
  return perms.Covers(key, range_end) ? Status::Ok() : ErrPermissionDenied();
}

Status AuthStore::CheckRange(const AuthInfo& who, std::string_view key,
                             std::string_view range_end) const {
  std::shared_lock lock(mu_);
  return CheckOpLocked(who, key, range_end, false);
}

Status AuthStore::CheckPut(const AuthInfo& who, std::string_view key) const {
  std::shared_lock lock(mu_);
  return CheckOpLocked(who, key, "", true);
}

Status AuthStore::CheckDeleteRange(const AuthInfo& who, std::string_view key,
                                   std::string_view range_end) const {
  std::shared_lock lock(mu_);
  return CheckOpLocked(who, key, range_end, true);
}

namespace {

// etcd's checkTxnReqsPermission over one branch of a Txn. `check` is
// CheckOpLocked bound to the caller.
template <typename Check>
Status CheckOps(const google::protobuf::RepeatedPtrField<pb::RequestOp>& ops, const Check& check) {
  for (const auto& op : ops) {
    switch (op.request_case()) {
      case pb::RequestOp::kRequestRange:
        RETURN_IF_ERROR(
            check(op.request_range().key(), op.request_range().range_end(), /*write=*/false));
        break;
      case pb::RequestOp::kRequestPut:
        RETURN_IF_ERROR(check(op.request_put().key(), "", true));
        if (op.request_put().prev_kv()) RETURN_IF_ERROR(check(op.request_put().key(), "", false));
        break;
      case pb::RequestOp::kRequestDeleteRange: {
        const auto& d = op.request_delete_range();
        if (d.prev_kv()) RETURN_IF_ERROR(check(d.key(), d.range_end(), false));
        RETURN_IF_ERROR(check(d.key(), d.range_end(), true));
        break;
      }
      case pb::RequestOp::kRequestTxn: {
        const auto& t = op.request_txn();
        for (const auto& c : t.compare()) RETURN_IF_ERROR(check(c.key(), c.range_end(), false));
        RETURN_IF_ERROR(CheckOps(t.success(), check));
        RETURN_IF_ERROR(CheckOps(t.failure(), check));
        break;
      }
      case pb::RequestOp::REQUEST_NOT_SET:
        break;
    }
  }
  return Status::Ok();
}

}  // namespace

Status AuthStore::CheckTxn(const AuthInfo& who, const pb::TxnRequest& txn) const {
  std::shared_lock lock(mu_);
  auto check = [&](std::string_view key, std::string_view end, bool write) {
    return CheckOpLocked(who, key, end, write);
  };
  for (const auto& c : txn.compare()) RETURN_IF_ERROR(check(c.key(), c.range_end(), false));
  RETURN_IF_ERROR(CheckOps(txn.success(), check));
  return CheckOps(txn.failure(), check);
}

Status AuthStore::CheckAdminLocked(const AuthInfo& who) const {
  if (!state_.enabled) return Status::Ok();
  if (who.user.empty()) return ErrUserEmpty();
  auto it = state_.users.find(who.user);
  if (it == state_.users.end()) return ErrUserNotFound();
  return HasRootRole(it->second) ? Status::Ok() : ErrPermissionDenied();
}

Status AuthStore::CheckAdmin(const AuthInfo& who) const {
  std::shared_lock lock(mu_);
  return CheckAdminLocked(who);
}

bool AuthStore::HasRole(std::string_view user, std::string_view role) const {
  std::shared_lock lock(mu_);
  auto it = state_.users.find(user);
  if (it == state_.users.end()) return false;
  const auto& roles = it->second.roles();
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

AuthStore::State AuthStore::Snapshot() const {
  std::shared_lock lock(mu_);
  return state_;
}

Status AuthStore::Commit(mvcc::Store::WriteTxn& txn, State next,
                         const std::vector<std::string>& changed_users,
                         const std::vector<std::string>& changed_roles, bool bump) {
  if (bump) next.revision++;
  for (const auto& name : changed_users) {
    const std::string key = std::string(kUsersPrefix) + name;
    auto it = next.users.find(name);
    RETURN_IF_ERROR(it == next.users.end() ? txn.DeleteMeta(key)
                                           : txn.PutMeta(key, it->second.SerializeAsString()));
  }
  for (const auto& name : changed_roles) {
    const std::string key = std::string(kRolesPrefix) + name;
    auto it = next.roles.find(name);
    RETURN_IF_ERROR(it == next.roles.end() ? txn.DeleteMeta(key)
                                           : txn.PutMeta(key, it->second.SerializeAsString()));
  }
  RETURN_IF_ERROR(txn.PutMeta(kEnabledKey, std::string(1, next.enabled ? '\x01' : '\x00')));
  RETURN_IF_ERROR(txn.PutMeta(kRevisionKey, EncodeRevision(next.revision)));
  std::unique_lock lock(mu_);
  state_ = std::move(next);
  RebuildPermsLocked();
  return Status::Ok();
}

// Each Apply* below: the admin check (etcd's needAdminPermission), etcd's
// validation in its order, then Commit.

Result<pb::AuthEnableResponse> AuthStore::ApplyEnable(mvcc::Store::WriteTxn& txn,
                                                      const AuthInfo& who) {
  RETURN_IF_ERROR(CheckAdmin(who));
  State next = Snapshot();
  if (next.enabled) return pb::AuthEnableResponse();
  auto root = next.users.find(kRootUser);
  if (root == next.users.end()) {
    return Error(Code::kFailedPrecondition, "etcdserver: root user does not exist");
  }
  if (!HasRootRole(root->second)) {
    return Error(Code::kFailedPrecondition, "etcdserver: root user does not have root role");
  }
  next.enabled = true;
  // etcd keeps the revision on enable (and bumps it on disable).
  RETURN_IF_ERROR(Commit(txn, std::move(next), {}, {}, /*bump=*/false));
  tokens_->Enable();
  return pb::AuthEnableResponse();
}

Result<pb::AuthDisableResponse> AuthStore::ApplyDisable(mvcc::Store::WriteTxn& txn,
                                                        const AuthInfo& who) {
  RETURN_IF_ERROR(CheckAdmin(who));
  State next = Snapshot();
  if (!next.enabled) return pb::AuthDisableResponse();
  next.enabled = false;
  RETURN_IF_ERROR(Commit(txn, std::move(next), {}, {}, true));
  tokens_->Disable();
  return pb::AuthDisableResponse();
}

Result<pb::AuthenticateResponse> AuthStore::ApplyAuthenticate(std::string_view user,
                                                              std::string_view prefix,
                                                              uint64_t index) {
  uint64_t revision = 0;
  {
    std::shared_lock lock(mu_);
    if (!state_.enabled) return ErrAuthNotEnabled();
    auto it = state_.users.find(user);
    if (it == state_.users.end() || it->second.options().no_password()) return ErrAuthFailed();
    revision = state_.revision;
  }
  ASSIGN_OR_RETURN(std::string token,
                   tokens_->Assign(std::string(user), revision, std::string(prefix), index));
  pb::AuthenticateResponse resp;
  resp.set_token(std::move(token));
  return resp;
}

Result<pb::AuthUserAddResponse> AuthStore::ApplyUserAdd(mvcc::Store::WriteTxn& txn,
                                                        const AuthInfo& who,
                                                        const pb::AuthUserAddRequest& req) {
  RETURN_IF_ERROR(CheckAdmin(who));
  if (req.name().empty()) return ErrUserEmpty();
  State next = Snapshot();
  if (next.users.count(req.name()) > 0) {
    return Error(Code::kFailedPrecondition, "etcdserver: user name already exists");
  }
  authpb::User u;
  u.set_name(req.name());
  if (!req.options().no_password()) u.set_password(req.hashedpassword());
  *u.mutable_options() = req.options();
  next.users[req.name()] = std::move(u);
  RETURN_IF_ERROR(Commit(txn, std::move(next), {req.name()}, {}, true));
  return pb::AuthUserAddResponse();
}

Result<pb::AuthUserDeleteResponse> AuthStore::ApplyUserDelete(
    mvcc::Store::WriteTxn& txn, const AuthInfo& who, const pb::AuthUserDeleteRequest& req) {
  RETURN_IF_ERROR(CheckAdmin(who));
  State next = Snapshot();
  if (next.enabled && req.name() == kRootUser) return ErrInvalidAuthMgmt();
  if (next.users.erase(req.name()) == 0) return ErrUserNotFound();
  RETURN_IF_ERROR(Commit(txn, std::move(next), {req.name()}, {}, true));
  tokens_->InvalidateUser(req.name());
  return pb::AuthUserDeleteResponse();
}

Result<pb::AuthUserChangePasswordResponse> AuthStore::ApplyUserChangePassword(
    mvcc::Store::WriteTxn& txn, const AuthInfo& who, const pb::AuthUserChangePasswordRequest& req) {
  RETURN_IF_ERROR(CheckAdmin(who));
  State next = Snapshot();
  auto it = next.users.find(req.name());
  if (it == next.users.end()) return ErrUserNotFound();
  it->second.set_password(req.hashedpassword());
  RETURN_IF_ERROR(Commit(txn, std::move(next), {req.name()}, {}, true));
  tokens_->InvalidateUser(req.name());
  return pb::AuthUserChangePasswordResponse();
}

Result<pb::AuthUserGrantRoleResponse> AuthStore::ApplyUserGrantRole(
    mvcc::Store::WriteTxn& txn, const AuthInfo& who, const pb::AuthUserGrantRoleRequest& req) {
  RETURN_IF_ERROR(CheckAdmin(who));
  State next = Snapshot();
  auto it = next.users.find(req.user());
  if (it == next.users.end()) return ErrUserNotFound();
  if (req.role() != kRootRole && next.roles.count(req.role()) == 0) return ErrRoleNotFound();
  auto* roles = it->second.mutable_roles();
  if (std::find(roles->begin(), roles->end(), req.role()) != roles->end()) {
    return pb::AuthUserGrantRoleResponse();  // etcd ignores a repeated grant
  }
  roles->Add(std::string(req.role()));
  std::sort(roles->begin(), roles->end());
  RETURN_IF_ERROR(Commit(txn, std::move(next), {req.user()}, {}, true));
  return pb::AuthUserGrantRoleResponse();
}

Result<pb::AuthUserRevokeRoleResponse> AuthStore::ApplyUserRevokeRole(
    mvcc::Store::WriteTxn& txn, const AuthInfo& who, const pb::AuthUserRevokeRoleRequest& req) {
  RETURN_IF_ERROR(CheckAdmin(who));
  State next = Snapshot();
  if (next.enabled && req.name() == kRootUser && req.role() == kRootRole) {
    return ErrInvalidAuthMgmt();
  }
  auto it = next.users.find(req.name());
  if (it == next.users.end()) return ErrUserNotFound();
  auto* roles = it->second.mutable_roles();
  auto pos = std::find(roles->begin(), roles->end(), req.role());
  if (pos == roles->end()) {
    return Error(Code::kFailedPrecondition, "etcdserver: role is not granted to the user");
  }
  roles->erase(pos);
  RETURN_IF_ERROR(Commit(txn, std::move(next), {req.name()}, {}, true));
  return pb::AuthUserRevokeRoleResponse();
}

Result<pb::AuthRoleAddResponse> AuthStore::ApplyRoleAdd(mvcc::Store::WriteTxn& txn,
                                                        const AuthInfo& who,
                                                        const pb::AuthRoleAddRequest& req) {
  RETURN_IF_ERROR(CheckAdmin(who));
  if (req.name().empty()) {
    return Error(Code::kInvalidArgument, "etcdserver: role name is empty");
  }
  State next = Snapshot();
  if (next.roles.count(req.name()) > 0) {
    return Error(Code::kFailedPrecondition, "etcdserver: role name already exists");
  }
  authpb::Role r;
  r.set_name(req.name());
  next.roles[req.name()] = std::move(r);
  RETURN_IF_ERROR(Commit(txn, std::move(next), {}, {req.name()}, true));
  return pb::AuthRoleAddResponse();
}

Result<pb::AuthRoleDeleteResponse> AuthStore::ApplyRoleDelete(
    mvcc::Store::WriteTxn& txn, const AuthInfo& who, const pb::AuthRoleDeleteRequest& req) {
  RETURN_IF_ERROR(CheckAdmin(who));
  State next = Snapshot();
  if (next.enabled && req.role() == kRootRole) return ErrInvalidAuthMgmt();
  if (next.roles.erase(req.role()) == 0) return ErrRoleNotFound();
  std::vector<std::string> changed_users;
  for (auto& [name, user] : next.users) {
    auto* roles = user.mutable_roles();
    auto pos = std::find(roles->begin(), roles->end(), req.role());
    if (pos == roles->end()) continue;
    roles->erase(pos);
    changed_users.push_back(name);
  }
  RETURN_IF_ERROR(Commit(txn, std::move(next), changed_users, {req.role()}, true));
  return pb::AuthRoleDeleteResponse();
}

Result<pb::AuthRoleGrantPermissionResponse> AuthStore::ApplyRoleGrantPermission(
    mvcc::Store::WriteTxn& txn, const AuthInfo& who,
    const pb::AuthRoleGrantPermissionRequest& req) {
  RETURN_IF_ERROR(CheckAdmin(who));
  State next = Snapshot();
  auto it = next.roles.find(req.name());
  if (it == next.roles.end()) return ErrRoleNotFound();
  auto* perms = it->second.mutable_keypermission();
  auto same = std::find_if(perms->begin(), perms->end(), [&](const authpb::Permission& p) {
    return p.key() == req.perm().key() && p.range_end() == req.perm().range_end();
  });
  if (same != perms->end()) {
    same->set_permtype(req.perm().permtype());  // etcd updates the type in place
  } else {
    *perms->Add() = req.perm();
    std::stable_sort(
        perms->begin(), perms->end(),
        [](const authpb::Permission& a, const authpb::Permission& b) { return a.key() < b.key(); });
  }
  RETURN_IF_ERROR(Commit(txn, std::move(next), {}, {req.name()}, true));
  return pb::AuthRoleGrantPermissionResponse();
}

Result<pb::AuthRoleRevokePermissionResponse> AuthStore::ApplyRoleRevokePermission(
    mvcc::Store::WriteTxn& txn, const AuthInfo& who,
    const pb::AuthRoleRevokePermissionRequest& req) {
  RETURN_IF_ERROR(CheckAdmin(who));
  State next = Snapshot();
  auto it = next.roles.find(req.role());
  if (it == next.roles.end()) return ErrRoleNotFound();
  auto* perms = it->second.mutable_keypermission();
  auto pos = std::find_if(perms->begin(), perms->end(), [&](const authpb::Permission& p) {
    return p.key() == req.key() && p.range_end() == req.range_end();
  });
  if (pos == perms->end()) {
    return Error(Code::kFailedPrecondition, "etcdserver: permission is not granted to the role");
  }
  perms->erase(pos);
  RETURN_IF_ERROR(Commit(txn, std::move(next), {}, {req.role()}, true));
  return pb::AuthRoleRevokePermissionResponse();
}

Result<pb::AuthUserGetResponse> AuthStore::ApplyUserGet(const AuthInfo& who,
                                                        const pb::AuthUserGetRequest& req) {
  std::shared_lock lock(mu_);
  if (Status admin = CheckAdminLocked(who); !admin.ok() && req.name() != who.user) return admin;
  auto it = state_.users.find(req.name());
  if (it == state_.users.end()) return ErrUserNotFound();
  pb::AuthUserGetResponse resp;
  *resp.mutable_roles() = it->second.roles();
  return resp;
}

Result<pb::AuthUserListResponse> AuthStore::ApplyUserList(const AuthInfo& who) {
  std::shared_lock lock(mu_);
  RETURN_IF_ERROR(CheckAdminLocked(who));
  pb::AuthUserListResponse resp;
  for (const auto& [name, user] : state_.users) resp.add_users(name);
  return resp;
}

Result<pb::AuthRoleGetResponse> AuthStore::ApplyRoleGet(const AuthInfo& who,
                                                        const pb::AuthRoleGetRequest& req) {
  std::shared_lock lock(mu_);
  if (Status admin = CheckAdminLocked(who); !admin.ok()) {
    auto user = state_.users.find(who.user);
    const bool own = user != state_.users.end() &&
                     std::find(user->second.roles().begin(), user->second.roles().end(),
                               req.role()) != user->second.roles().end();
    if (!own) return admin;
  }
  auto it = state_.roles.find(req.role());
  if (it == state_.roles.end()) return ErrRoleNotFound();
  pb::AuthRoleGetResponse resp;
  *resp.mutable_perm() = it->second.keypermission();
  return resp;
}

Result<pb::AuthRoleListResponse> AuthStore::ApplyRoleList(const AuthInfo& who) {
  std::shared_lock lock(mu_);
  RETURN_IF_ERROR(CheckAdminLocked(who));
  pb::AuthRoleListResponse resp;
  for (const auto& [name, role] : state_.roles) resp.add_roles(name);
  return resp;
}

}  // namespace etcdd::auth
