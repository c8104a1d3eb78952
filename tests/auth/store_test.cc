// AuthStore over a real mvcc::Store: etcd's rules for users, roles and
// permissions, what is persisted, and that a refused change changes nothing.
#include "auth/store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "auth/password.h"

namespace etcdd::auth {
namespace {

namespace pb = etcdserverpb;

class AuthStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "auth_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = mvcc::Store::Open(dir_, {});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    as_ = OpenAuth();
  }
  void TearDown() override {
    as_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<AuthStore> OpenAuth() {
    auto tokens = NewTokenProvider("simple", std::chrono::seconds(300));
    EXPECT_TRUE(tokens.ok());
    auto as = AuthStore::Open(*store_, std::move(tokens).value(), 4);
    EXPECT_TRUE(as.ok()) << as.status().message();
    return std::move(as).value();
  }
  // Runs `apply` in one write transaction and commits it.
  template <typename Fn>
  Status Apply(Fn apply) {
    auto txn = store_->BeginWrite();
    EXPECT_TRUE(txn.ok());
    auto r = apply(**txn);
    if (!r.ok()) return r.status();
    return (*txn)->Commit();
  }
  Status AddUser(const std::string& name, const std::string& password, const AuthInfo& who = {}) {
    pb::AuthUserAddRequest req;
    req.set_name(name);
    req.set_hashedpassword(HashPassword(password, 4).value());
    return Apply([&](auto& txn) { return as_->ApplyUserAdd(txn, who, req); });
  }
  Status AddRole(const std::string& name, const AuthInfo& who = {}) {
    pb::AuthRoleAddRequest req;
    req.set_name(name);
    return Apply([&](auto& txn) { return as_->ApplyRoleAdd(txn, who, req); });
  }
  Status Grant(const std::string& user, const std::string& role, const AuthInfo& who = {}) {
    pb::AuthUserGrantRoleRequest req;
    req.set_user(user);
    req.set_role(role);
    return Apply([&](auto& txn) { return as_->ApplyUserGrantRole(txn, who, req); });
  }
  Status Permit(const std::string& role, const std::string& key, const std::string& end,
                authpb::Permission::Type type) {
    pb::AuthRoleGrantPermissionRequest req;
    req.set_name(role);
    req.mutable_perm()->set_key(key);
    req.mutable_perm()->set_range_end(end);
    req.mutable_perm()->set_permtype(type);
    return Apply([&](auto& txn) { return as_->ApplyRoleGrantPermission(txn, {}, req); });
  }
  Status Enable(const AuthInfo& who = {}) {
    return Apply([&](auto& txn) { return as_->ApplyEnable(txn, who); });
  }
  // root (root role) and app (readwrite on /app/), auth enabled.
  void SetUpRbac() {
    ASSERT_TRUE(AddUser("root", "rootpw").ok());
    ASSERT_TRUE(Grant("root", "root").ok());
    ASSERT_TRUE(AddRole("app-admin").ok());
    ASSERT_TRUE(Permit("app-admin", "/app/", "/app0", authpb::Permission::READWRITE).ok());
    ASSERT_TRUE(AddUser("app", "apppw").ok());
    ASSERT_TRUE(Grant("app", "app-admin").ok());
    ASSERT_TRUE(Enable().ok());
  }
  AuthInfo As(const std::string& user) { return {user, as_->revision()}; }

  std::string dir_;
  std::unique_ptr<mvcc::Store> store_;
  std::unique_ptr<AuthStore> as_;
};

TEST_F(AuthStoreTest, FreshStoreIsDisabledAtRevisionOne) {
  EXPECT_FALSE(as_->enabled());
  EXPECT_EQ(as_->revision(), 1u);
  // Disabled: everything is permitted, even without a user.
  EXPECT_TRUE(as_->CheckPut({}, "any").ok());
  EXPECT_TRUE(as_->CheckAdmin({}).ok());
}

TEST_F(AuthStoreTest, EnableNeedsRootUserWithRootRole) {
  EXPECT_EQ(Enable().message(), "etcdserver: root user does not exist");
  ASSERT_TRUE(AddUser("root", "pw").ok());
  EXPECT_EQ(Enable().message(), "etcdserver: root user does not have root role");
  ASSERT_TRUE(Grant("root", "root").ok());
  const uint64_t before = as_->revision();
  ASSERT_TRUE(Enable().ok());
  EXPECT_TRUE(as_->enabled());
  EXPECT_EQ(as_->revision(), before);  // etcd does not bump it on enable
}

TEST_F(AuthStoreTest, PermissionsFollowRoles) {
  SetUpRbac();
  EXPECT_TRUE(as_->CheckPut(As("app"), "/app/x").ok());
  EXPECT_TRUE(as_->CheckRange(As("app"), "/app/", "/app0").ok());
  EXPECT_EQ(as_->CheckPut(As("app"), "/other").message(), "etcdserver: permission denied");
  EXPECT_EQ(as_->CheckPut({}, "/app/x").message(), "etcdserver: user name is empty");
  EXPECT_EQ(as_->CheckPut(As("nobody"), "/app/x").message(), "etcdserver: permission denied");
  EXPECT_TRUE(as_->CheckPut(As("root"), "/other").ok());
  EXPECT_TRUE(as_->CheckAdmin(As("root")).ok());
  EXPECT_EQ(as_->CheckAdmin(As("app")).message(), "etcdserver: permission denied");
  EXPECT_EQ(as_->CheckAdmin(As("nobody")).message(), "etcdserver: user name not found");

  pb::TxnRequest txn;
  txn.add_compare()->set_key("/app/a");
  txn.add_success()->mutable_request_put()->set_key("/app/b");
  EXPECT_TRUE(as_->CheckTxn(As("app"), txn).ok());
  txn.add_failure()->mutable_request_txn()->add_success()->mutable_request_range()->set_key(
      "/other");
  EXPECT_EQ(as_->CheckTxn(As("app"), txn).message(), "etcdserver: permission denied");
}

TEST_F(AuthStoreTest, ChangesMakeOlderAuthorisationsStale) {
  SetUpRbac();
  const AuthInfo app = As("app");
  ASSERT_TRUE(AddRole("other", As("root")).ok());
  EXPECT_EQ(as_->CheckPut(app, "/app/x").message(), "etcdserver: revision of auth store is old");
  EXPECT_TRUE(as_->CheckPut(As("app"), "/app/x").ok());
}

TEST_F(AuthStoreTest, OnlyRootManagesOnceEnabled) {
  SetUpRbac();
  EXPECT_EQ(AddUser("eve", "pw", As("app")).message(), "etcdserver: permission denied");
  EXPECT_EQ(AddUser("eve", "pw").message(), "etcdserver: user name is empty");
  EXPECT_TRUE(AddUser("eve", "pw", As("root")).ok());
  // A user reads itself and its roles, not others'.
  pb::AuthUserGetRequest get;
  get.set_name("app");
  EXPECT_TRUE(as_->ApplyUserGet(As("app"), get).ok());
  get.set_name("root");
  EXPECT_FALSE(as_->ApplyUserGet(As("app"), get).ok());
  pb::AuthRoleGetRequest role;
  role.set_role("app-admin");
  auto perms = as_->ApplyRoleGet(As("app"), role);
  ASSERT_TRUE(perms.ok());
  ASSERT_EQ(perms->perm_size(), 1);
  EXPECT_EQ(perms->perm(0).key(), "/app/");
}

TEST_F(AuthStoreTest, RefusedChangesChangeNothing) {
  SetUpRbac();
  const uint64_t revision = as_->revision();
  EXPECT_EQ(AddUser("app", "x", As("root")).message(), "etcdserver: user name already exists");
  EXPECT_EQ(Grant("app", "nope", As("root")).message(), "etcdserver: role name not found");
  EXPECT_EQ(Grant("nobody", "root", As("root")).message(), "etcdserver: user name not found");
  pb::AuthUserDeleteRequest del;
  del.set_name("root");
  EXPECT_EQ(Apply([&](auto& txn) { return as_->ApplyUserDelete(txn, As("root"), del); }).message(),
            "etcdserver: invalid auth management");
  EXPECT_EQ(as_->revision(), revision);
  auto users = as_->ApplyUserList(As("root"));
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(users->users_size(), 2);
}

TEST_F(AuthStoreTest, StateSurvivesReopen) {
  SetUpRbac();
  const uint64_t revision = as_->revision();
  as_ = OpenAuth();
  EXPECT_TRUE(as_->enabled());
  EXPECT_EQ(as_->revision(), revision);
  EXPECT_TRUE(as_->CheckPut(As("app"), "/app/x").ok());
  EXPECT_FALSE(as_->CheckPut(As("app"), "/other").ok());
  EXPECT_TRUE(as_->CheckPassword("app", "apppw").ok());
  EXPECT_EQ(as_->CheckPassword("app", "wrong").status().message(),
            "etcdserver: authentication failed, invalid user ID or password");
  // Stored hashes, never passwords.
  auto stored = store_->GetMeta(std::string(kAuthUsersMetaPrefix) + "app");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->find("apppw"), std::string::npos);
}

TEST_F(AuthStoreTest, TokensNameTheirUser) {
  SetUpRbac();
  auto token = as_->ApplyAuthenticate("app", as_->GenTokenPrefix(), 42);
  ASSERT_TRUE(token.ok());
  auto info = as_->InfoFromToken(token->token());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->user, "app");
  EXPECT_EQ(info->revision, as_->revision());
  EXPECT_EQ(as_->InfoFromToken("bogus.1").status().message(), "etcdserver: invalid auth token");
  pb::AuthUserDeleteRequest del;
  del.set_name("app");
  ASSERT_TRUE(Apply([&](auto& txn) { return as_->ApplyUserDelete(txn, As("root"), del); }).ok());
  EXPECT_FALSE(as_->InfoFromToken(token->token()).ok());
}

}  // namespace
}  // namespace etcdd::auth
