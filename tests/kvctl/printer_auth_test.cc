// The user, role and auth printers print what etcdctl prints. Every expected
// string below was printed by etcdctl 3.4 against etcd 3.4 for a response
// with the same fields (auth status: etcdctl 3.5's printers).
#include "cli/printer_auth.h"

#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <vector>

namespace etcdd::cli {
namespace {

namespace pb = etcdserverpb;

constexpr uint64_t kCluster = 15118495548433857066ULL;
constexpr uint64_t kMember = 13668033151171901709ULL;
constexpr char kJsonHeader[] =
    "{\"header\":{\"cluster_id\":15118495548433857066,\"member_id\":13668033151171901709,"
    "\"revision\":1,\"raft_term\":2}";
constexpr char kFieldsHeader[] =
    "\"ClusterID\" : 15118495548433857066\n\"MemberID\" : 13668033151171901709\n"
    "\"Revision\" : 1\n\"RaftTerm\" : 2\n";
const std::string kOpenEnded(1, '\0');

struct Output {
  int exit_code;
  std::string out;
  std::string err;
};

template <typename Fn>
Output Print(const std::string& format, Fn fn, bool hex = false) {
  std::ostringstream out;
  auto printer = NewAuthPrinter({format, hex, false}, out);
  if (!printer.ok()) return {printer.status().exit_code(), "", printer.status().message()};
  ExitStatus st = fn(*printer.value());
  return {st.exit_code(), out.str(), st.message()};
}

template <typename Response>
Response WithHeader() {
  Response r;
  auto* h = r.mutable_header();
  h->set_cluster_id(kCluster);
  h->set_member_id(kMember);
  h->set_revision(1);
  h->set_raft_term(2);
  return r;
}

void AddPerm(pb::AuthRoleGetResponse* r, authpb::Permission::Type type, const std::string& key,
             const std::string& end) {
  auto* p = r->add_perm();
  p->set_permtype(type);
  p->set_key(key);
  p->set_range_end(end);
}

// The role of etcdctl's own run: every kind of range, in etcd's key order.
pb::AuthRoleGetResponse MixedRole() {
  auto r = WithHeader<pb::AuthRoleGetResponse>();
  AddPerm(&r, authpb::Permission::READ, kOpenEnded, kOpenEnded);  // --prefix ""
  AddPerm(&r, authpb::Permission::READ, kOpenEnded, "");          // ""
  AddPerm(&r, authpb::Permission::READWRITE, "/app/", "/app0");   // --prefix /app/
  AddPerm(&r, authpb::Permission::READ, "a", "z");
  AddPerm(&r, authpb::Permission::WRITE, "f", kOpenEnded);  // --from-key f
  AddPerm(&r, authpb::Permission::WRITE, "k", "");
  return r;
}

void ExpectUnsupported(const Output& o, const std::string& format) {
  EXPECT_EQ(o.exit_code, 4);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, format + " not supported as output format");
}

TEST(AuthPrinter, RoleGetInEveryFormat) {
  auto get = [](AuthPrinter& p) { return p.RoleGet("r1", MixedRole()); };
  const std::string simple = std::string("Role r1\nKV Read:\n\t[") + kOpenEnded +
                             ", <open ended>\n\t" + kOpenEnded +
                             "\n\t[/app/, /app0) (prefix /app/)\n\t[a, z)\nKV Write:\n"
                             "\t[/app/, /app0) (prefix /app/)\n\t[f, <open ended>\n\tk\n";
  EXPECT_EQ(Print("simple", get).out, simple);
  EXPECT_EQ(Print("simple", get, true).out, simple);  // --hex changes nothing
  EXPECT_EQ(Print("json", get).out,
            std::string(kJsonHeader) +
                ",\"perm\":[{\"key\":\"AA==\",\"range_end\":\"AA==\"},{\"key\":\"AA==\"},"
                "{\"permType\":2,\"key\":\"L2FwcC8=\",\"range_end\":\"L2FwcDA=\"},"
                "{\"key\":\"YQ==\",\"range_end\":\"eg==\"},"
                "{\"permType\":1,\"key\":\"Zg==\",\"range_end\":\"AA==\"},"
                "{\"permType\":1,\"key\":\"aw==\"}]}\n");
  EXPECT_EQ(Print("fields", get).out,
            std::string(kFieldsHeader) +
                "\"PermType\" :  READ\n\"Key\" : \"\\x00\"\n\"RangeEnd\" : \"\\x00\"\n"
                "\"PermType\" :  READ\n\"Key\" : \"\\x00\"\n\"RangeEnd\" : \"\"\n"
                "\"PermType\" :  READWRITE\n\"Key\" : \"/app/\"\n\"RangeEnd\" : \"/app0\"\n"
                "\"PermType\" :  READ\n\"Key\" : \"a\"\n\"RangeEnd\" : \"z\"\n"
                "\"PermType\" :  WRITE\n\"Key\" : \"f\"\n\"RangeEnd\" : \"\\x00\"\n"
                "\"PermType\" :  WRITE\n\"Key\" : \"k\"\n\"RangeEnd\" : \"\"\n");
  EXPECT_EQ(Print("protobuf", get).out, MixedRole().SerializeAsString());
  ExpectUnsupported(Print("table", get), "table");
}

TEST(AuthPrinter, RoleWithoutPermissions) {
  auto get = [](AuthPrinter& p) {
    return p.RoleGet("root", WithHeader<pb::AuthRoleGetResponse>());
  };
  EXPECT_EQ(Print("simple", get).out, "Role root\nKV Read:\nKV Write:\n");
  EXPECT_EQ(Print("json", get).out, std::string(kJsonHeader) + "}\n");
  EXPECT_EQ(Print("fields", get).out, kFieldsHeader);
}

TEST(AuthPrinter, UserGetAndList) {
  auto user = WithHeader<pb::AuthUserGetResponse>();
  user.add_roles("app-admin");
  user.add_roles("reader");
  auto get = [&](AuthPrinter& p) { return p.UserGet("app", user); };
  EXPECT_EQ(Print("simple", get).out, "User: app\nRoles: app-admin reader\n");
  EXPECT_EQ(Print("json", get).out,
            std::string(kJsonHeader) + ",\"roles\":[\"app-admin\",\"reader\"]}\n");
  EXPECT_EQ(Print("protobuf", get).out, user.SerializeAsString());
  ExpectUnsupported(Print("fields", get), "fields");  // etcdctl has no fields form
  ExpectUnsupported(Print("table", get), "table");

  auto no_roles = [](AuthPrinter& p) {
    return p.UserGet("a", WithHeader<pb::AuthUserGetResponse>());
  };
  EXPECT_EQ(Print("simple", no_roles).out, "User: a\nRoles:\n");

  auto users = WithHeader<pb::AuthUserListResponse>();
  users.add_users("a");
  users.add_users("b<&>");
  auto list = [&](AuthPrinter& p) { return p.UserList(users); };
  EXPECT_EQ(Print("simple", list).out, "a\nb<&>\n");
  EXPECT_EQ(Print("json", list).out,
            std::string(kJsonHeader) + ",\"users\":[\"a\",\"b\\u003c\\u0026\\u003e\"]}\n");
  EXPECT_EQ(Print("protobuf", list).out, users.SerializeAsString());
  ExpectUnsupported(Print("fields", list), "fields");
  ExpectUnsupported(Print("table", list), "table");
}

TEST(AuthPrinter, RoleList) {
  auto roles = WithHeader<pb::AuthRoleListResponse>();
  roles.add_roles("app-admin");
  roles.add_roles("r\"1");
  auto list = [&](AuthPrinter& p) { return p.RoleList(roles); };
  EXPECT_EQ(Print("simple", list).out, "app-admin\nr\"1\n");
  EXPECT_EQ(Print("json", list).out,
            std::string(kJsonHeader) + ",\"roles\":[\"app-admin\",\"r\\\"1\"]}\n");
  EXPECT_EQ(Print("fields", list).out,
            std::string(kFieldsHeader) + "\"Roles\" : \"app-admin\" \"r\\\"1\"\n");
  EXPECT_EQ(Print("protobuf", list).out, roles.SerializeAsString());
  ExpectUnsupported(Print("table", list), "table");

  auto none = [](AuthPrinter& p) { return p.RoleList(WithHeader<pb::AuthRoleListResponse>()); };
  EXPECT_EQ(Print("simple", none).out, "");
  EXPECT_EQ(Print("fields", none).out, std::string(kFieldsHeader) + "\"Roles\" :\n");
}

// The responses that hold only a header: a sentence in simple, the header
// elsewhere.
TEST(AuthPrinter, HeaderOnlyResponses) {
  struct Case {
    std::function<ExitStatus(AuthPrinter&)> print;
    std::string simple;
  };
  const std::vector<Case> cases = {
      {[](AuthPrinter& p) { return p.UserAdd("app", WithHeader<pb::AuthUserAddResponse>()); },
       "User app created\n"},
      {[](AuthPrinter& p) { return p.UserDelete("app", WithHeader<pb::AuthUserDeleteResponse>()); },
       "User app deleted\n"},
      {[](AuthPrinter& p) {
         return p.UserChangePassword(WithHeader<pb::AuthUserChangePasswordResponse>());
       },
       "Password updated\n"},
      {[](AuthPrinter& p) {
         return p.UserGrantRole("app", "r1", WithHeader<pb::AuthUserGrantRoleResponse>());
       },
       "Role r1 is granted to user app\n"},
      {[](AuthPrinter& p) {
         return p.UserRevokeRole("app", "r1", WithHeader<pb::AuthUserRevokeRoleResponse>());
       },
       "Role r1 is revoked from user app\n"},
      {[](AuthPrinter& p) { return p.RoleAdd("r1", WithHeader<pb::AuthRoleAddResponse>()); },
       "Role r1 created\n"},
      {[](AuthPrinter& p) { return p.RoleDelete("r1", WithHeader<pb::AuthRoleDeleteResponse>()); },
       "Role r1 deleted\n"},
      {[](AuthPrinter& p) {
         return p.RoleGrantPermission("r1", WithHeader<pb::AuthRoleGrantPermissionResponse>());
       },
       "Role r1 updated\n"},
      {[](AuthPrinter& p) {
         return p.RoleRevokePermission("r1", "k", "",
                                       WithHeader<pb::AuthRoleRevokePermissionResponse>());
       },
       "Permission of key k is revoked from role r1\n"},
  };
  // Every header-only response encodes the same bytes.
  const std::string protobuf = WithHeader<pb::AuthUserAddResponse>().SerializeAsString();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.simple);
    EXPECT_EQ(Print("simple", c.print).out, c.simple);
    EXPECT_EQ(Print("json", c.print).out, std::string(kJsonHeader) + "}\n");
    EXPECT_EQ(Print("fields", c.print).out, kFieldsHeader);
    EXPECT_EQ(Print("protobuf", c.print).out, protobuf);
    ExpectUnsupported(Print("table", c.print), "table");
  }
}

TEST(AuthPrinter, RevokedRanges) {
  auto revoke = [](const std::string& key, const std::string& end) {
    return [key, end](AuthPrinter& p) {
      return p.RoleRevokePermission("r1", key, end, pb::AuthRoleRevokePermissionResponse());
    };
  };
  EXPECT_EQ(Print("simple", revoke("/app/", "/app0")).out,
            "Permission of range [/app/, /app0) is revoked from role r1\n");
  EXPECT_EQ(Print("simple", revoke("f", kOpenEnded)).out,
            "Permission of range [f, <open ended> is revoked from role r1\n");
  // `revoke-permission r1 "" --prefix`: the key as given, sent as "\0".
  EXPECT_EQ(Print("simple", revoke("", kOpenEnded)).out,
            "Permission of range [, <open ended> is revoked from role r1\n");
  EXPECT_EQ(Print("simple", revoke("", "")).out, "Permission of key  is revoked from role r1\n");
}

TEST(AuthPrinter, AuthStatusAsEtcdctl35) {
  auto status = WithHeader<pb::AuthStatusResponse>();
  status.set_enabled(true);
  status.set_authrevision(3);
  auto print = [&](AuthPrinter& p) { return p.AuthStatus(status); };
  EXPECT_EQ(Print("simple", print).out, "Authentication Status: true\nAuthRevision: 3\n");
  EXPECT_EQ(Print("json", print).out,
            std::string(kJsonHeader) + ",\"enabled\":true,\"authRevision\":3}\n");
  EXPECT_EQ(Print("protobuf", print).out, status.SerializeAsString());
  ExpectUnsupported(Print("fields", print), "fields");
  ExpectUnsupported(Print("table", print), "table");

  auto off = [](AuthPrinter& p) { return p.AuthStatus(pb::AuthStatusResponse()); };
  EXPECT_EQ(Print("simple", off).out, "Authentication Status: false\nAuthRevision: 0\n");
  EXPECT_EQ(Print("json", off).out, "{}\n");
}

// AuthStatus is etcd 3.5's message: the same field numbers on the wire.
TEST(AuthPrinter, AuthStatusWireFormat) {
  pb::AuthStatusResponse status;
  status.mutable_header()->set_revision(1);
  status.set_enabled(true);
  status.set_authrevision(300);
  EXPECT_EQ(status.SerializeAsString(), std::string("\x0a\x02\x18\x01\x10\x01\x18\xac\x02", 9));
}

TEST(AuthPrinter, UnknownFormat) {
  std::ostringstream out;
  auto printer = NewAuthPrinter({"yaml", false, false}, out);
  ASSERT_FALSE(printer.ok());
  EXPECT_EQ(printer.status().exit_code(), 4);
  EXPECT_EQ(printer.status().message(), "unsupported output format");
}

}  // namespace
}  // namespace etcdd::cli
