// The printers of the user, role and auth commands. etcdctl prints these
// responses in json and protobuf through one generic path (printerRPC: the
// gogo struct as it is), so kvctl does too: MessagePrinter turns every call
// into one message to print, and the json form is derived from the message's
// descriptor, whose field names are etcd's json tags.
#include "cli/printer_auth.h"

#include <google/protobuf/descriptor.h>

#include "base/key_range.h"
#include "cli/go_format.h"
#include "cli/go_json.h"
#include "cli/printer_internal.h"

namespace etcdd::cli {

namespace {

namespace pb = etcdserverpb;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using Json = nlohmann::ordered_json;

Json GoStructJson(const Message& m);

// One value of field `f` (element `index` when repeated, else -1).
Json FieldJson(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f);
    case FieldDescriptor::CPPTYPE_INT64:
      return rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f);
    case FieldDescriptor::CPPTYPE_UINT32:
      return rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f);
    case FieldDescriptor::CPPTYPE_UINT64:
      return rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f);
    case FieldDescriptor::CPPTYPE_BOOL:
      return rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f);
    case FieldDescriptor::CPPTYPE_ENUM:  // gogo enums marshal as numbers
      return rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f);
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
      if (f->type() == FieldDescriptor::TYPE_BYTES) return Base64Encode(s);
      return s;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return GoStructJson(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f));
    default:
      return Json();
  }
}

// Go's encoding/json of the gogo struct of `m`: fields in declaration order
// under their .proto names (the structs' json tags), all `omitempty`: zero
// scalars, empty lists and absent messages are left out. Covers what the auth
// responses hold (no oneofs, maps or floats).
Json GoStructJson(const Message& m) {
  const Reflection* r = m.GetReflection();
  const auto* d = m.GetDescriptor();
  Json j = Json::object();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) {
      const int n = r->FieldSize(m, f);
      if (n == 0) continue;
      Json a = Json::array();
      for (int k = 0; k < n; ++k) a.push_back(FieldJson(m, f, k));
      j[f->name()] = a;
    } else if (r->HasField(m, f)) {  // proto3 scalars: "has" means non-zero
      j[f->name()] = FieldJson(m, f, -1);
    }
  }
  return j;
}

// printer.go's printerRPC: every result is one response message, printed as
// a whole by Print.
class MessagePrinter : public AuthPrinter {
 public:
  ExitStatus UserAdd(const std::string&, const pb::AuthUserAddResponse& r) override {
    return Print(r);
  }
  ExitStatus UserGet(const std::string&, const pb::AuthUserGetResponse& r) override {
    return Print(r);
  }
  ExitStatus UserList(const pb::AuthUserListResponse& r) override { return Print(r); }
  ExitStatus UserChangePassword(const pb::AuthUserChangePasswordResponse& r) override {
    return Print(r);
  }
  ExitStatus UserGrantRole(const std::string&, const std::string&,
                           const pb::AuthUserGrantRoleResponse& r) override {
    return Print(r);
  }
  ExitStatus UserRevokeRole(const std::string&, const std::string&,
                            const pb::AuthUserRevokeRoleResponse& r) override {
    return Print(r);
  }
  ExitStatus UserDelete(const std::string&, const pb::AuthUserDeleteResponse& r) override {
    return Print(r);
  }
  ExitStatus RoleAdd(const std::string&, const pb::AuthRoleAddResponse& r) override {
    return Print(r);
  }
  ExitStatus RoleGet(const std::string&, const pb::AuthRoleGetResponse& r) override {
    return Print(r);
  }
  ExitStatus RoleList(const pb::AuthRoleListResponse& r) override { return Print(r); }
  ExitStatus RoleDelete(const std::string&, const pb::AuthRoleDeleteResponse& r) override {
    return Print(r);
  }
  ExitStatus RoleGrantPermission(const std::string&,
                                 const pb::AuthRoleGrantPermissionResponse& r) override {
    return Print(r);
  }
  ExitStatus RoleRevokePermission(const std::string&, const std::string&, const std::string&,
                                  const pb::AuthRoleRevokePermissionResponse& r) override {
    return Print(r);
  }
  ExitStatus AuthStatus(const pb::AuthStatusResponse& r) override { return Print(r); }

 protected:
  virtual ExitStatus Print(const Message& m) = 0;
};

class JsonAuthPrinter : public MessagePrinter {
 public:
  explicit JsonAuthPrinter(std::ostream& out) : out_(out) {}

 protected:
  ExitStatus Print(const Message& m) override {
    out_ << GoJson(GoStructJson(m)) << "\n";
    return ExitStatus::Ok();
  }

 private:
  std::ostream& out_;
};

class ProtobufAuthPrinter : public MessagePrinter {
 public:
  explicit ProtobufAuthPrinter(std::ostream& out) : out_(out) {}

 protected:
  ExitStatus Print(const Message& m) override {
    out_ << m.SerializeAsString();
    return ExitStatus::Ok();
  }

 private:
  std::ostream& out_;
};

// etcdctl's printerUnsupported: every result fails with kBadFeature.
class UnsupportedAuthPrinter : public MessagePrinter {
 public:
  explicit UnsupportedAuthPrinter(std::string format) : format_(std::move(format)) {}

 protected:
  ExitStatus Print(const Message&) override { return internal::Unsupported(format_); }

 private:
  std::string format_;
};

// printer_fields.go: the results it has a form for; the others (user get,
// user list, auth status) stay unsupported.
class FieldsAuthPrinter : public UnsupportedAuthPrinter {
 public:
  explicit FieldsAuthPrinter(std::ostream& out) : UnsupportedAuthPrinter("fields"), out_(out) {}

  ExitStatus UserAdd(const std::string&, const pb::AuthUserAddResponse& r) override {
    return Header(r.header());
  }
  ExitStatus UserChangePassword(const pb::AuthUserChangePasswordResponse& r) override {
    return Header(r.header());
  }
  ExitStatus UserGrantRole(const std::string&, const std::string&,
                           const pb::AuthUserGrantRoleResponse& r) override {
    return Header(r.header());
  }
  ExitStatus UserRevokeRole(const std::string&, const std::string&,
                            const pb::AuthUserRevokeRoleResponse& r) override {
    return Header(r.header());
  }
  ExitStatus UserDelete(const std::string&, const pb::AuthUserDeleteResponse& r) override {
    return Header(r.header());
  }
  ExitStatus RoleAdd(const std::string&, const pb::AuthRoleAddResponse& r) override {
    return Header(r.header());
  }
  ExitStatus RoleGet(const std::string&, const pb::AuthRoleGetResponse& r) override {
    RETURN_IF_EXIT(Header(r.header()));
    for (const auto& p : r.perm()) {
      // fmt.Println(`"PermType" : `, ...) puts a second space before the name;
      // Go prints an unknown enum value as its number.
      const std::string& type = authpb::Permission::Type_Name(p.permtype());
      out_ << "\"PermType\" :  " << (type.empty() ? std::to_string(p.permtype()) : type) << "\n";
      out_ << "\"Key\" : " << GoQuote(p.key()) << "\n";
      out_ << "\"RangeEnd\" : " << GoQuote(p.range_end()) << "\n";
    }
    return ExitStatus::Ok();
  }
  ExitStatus RoleList(const pb::AuthRoleListResponse& r) override {
    RETURN_IF_EXIT(Header(r.header()));
    out_ << "\"Roles\" :";
    for (const auto& role : r.roles()) out_ << " " << GoQuote(role);
    out_ << "\n";
    return ExitStatus::Ok();
  }
  ExitStatus RoleDelete(const std::string&, const pb::AuthRoleDeleteResponse& r) override {
    return Header(r.header());
  }
  ExitStatus RoleGrantPermission(const std::string&,
                                 const pb::AuthRoleGrantPermissionResponse& r) override {
    return Header(r.header());
  }
  ExitStatus RoleRevokePermission(const std::string&, const std::string&, const std::string&,
                                  const pb::AuthRoleRevokePermissionResponse& r) override {
    return Header(r.header());
  }

 private:
  ExitStatus Header(const pb::ResponseHeader& h) {
    out_ << "\"ClusterID\" : " << h.cluster_id() << "\n";
    out_ << "\"MemberID\" : " << h.member_id() << "\n";
    out_ << "\"Revision\" : " << h.revision() << "\n";
    out_ << "\"RaftTerm\" : " << h.raft_term() << "\n";
    return ExitStatus::Ok();
  }

  std::ostream& out_;
};

class SimpleAuthPrinter : public AuthPrinter {
 public:
  explicit SimpleAuthPrinter(std::ostream& out) : out_(out) {}

  ExitStatus UserAdd(const std::string& name, const pb::AuthUserAddResponse&) override {
    return Line("User " + name + " created");
  }
  ExitStatus UserGet(const std::string& name, const pb::AuthUserGetResponse& r) override {
    out_ << "User: " << name << "\nRoles:";
    for (const auto& role : r.roles()) out_ << " " << role;
    out_ << "\n";
    return ExitStatus::Ok();
  }
  ExitStatus UserList(const pb::AuthUserListResponse& r) override {
    for (const auto& user : r.users()) out_ << user << "\n";
    return ExitStatus::Ok();
  }
  ExitStatus UserChangePassword(const pb::AuthUserChangePasswordResponse&) override {
    return Line("Password updated");
  }
  ExitStatus UserGrantRole(const std::string& user, const std::string& role,
                           const pb::AuthUserGrantRoleResponse&) override {
    return Line("Role " + role + " is granted to user " + user);
  }
  ExitStatus UserRevokeRole(const std::string& user, const std::string& role,
                            const pb::AuthUserRevokeRoleResponse&) override {
    return Line("Role " + role + " is revoked from user " + user);
  }
  ExitStatus UserDelete(const std::string& name, const pb::AuthUserDeleteResponse&) override {
    return Line("User " + name + " deleted");
  }
  ExitStatus RoleAdd(const std::string& role, const pb::AuthRoleAddResponse&) override {
    return Line("Role " + role + " created");
  }
  ExitStatus RoleGet(const std::string& role, const pb::AuthRoleGetResponse& r) override {
    out_ << "Role " << role << "\nKV Read:\n";
    for (const auto& p : r.perm()) {
      if (p.permtype() == authpb::Permission::READ ||
          p.permtype() == authpb::Permission::READWRITE) {
        Permission(p);
      }
    }
    out_ << "KV Write:\n";
    for (const auto& p : r.perm()) {
      if (p.permtype() == authpb::Permission::WRITE ||
          p.permtype() == authpb::Permission::READWRITE) {
        Permission(p);
      }
    }
    return ExitStatus::Ok();
  }
  ExitStatus RoleList(const pb::AuthRoleListResponse& r) override {
    for (const auto& role : r.roles()) out_ << role << "\n";
    return ExitStatus::Ok();
  }
  ExitStatus RoleDelete(const std::string& role, const pb::AuthRoleDeleteResponse&) override {
    return Line("Role " + role + " deleted");
  }
  ExitStatus RoleGrantPermission(const std::string& role,
                                 const pb::AuthRoleGrantPermissionResponse&) override {
    return Line("Role " + role + " updated");
  }
  ExitStatus RoleRevokePermission(const std::string& role, const std::string& key,
                                  const std::string& end,
                                  const pb::AuthRoleRevokePermissionResponse&) override {
    if (end.empty()) return Line("Permission of key " + key + " is revoked from role " + role);
    const std::string range =
        end == std::string(1, '\0') ? "[" + key + ", <open ended>" : "[" + key + ", " + end + ")";
    return Line("Permission of range " + range + " is revoked from role " + role);
  }
  ExitStatus AuthStatus(const pb::AuthStatusResponse& r) override {
    out_ << "Authentication Status: " << (r.enabled() ? "true" : "false") << "\n";
    out_ << "AuthRevision: " << r.authrevision() << "\n";
    return ExitStatus::Ok();
  }

 private:
  ExitStatus Line(const std::string& s) {
    out_ << s << "\n";
    return ExitStatus::Ok();
  }
  void Permission(const authpb::Permission& p) {
    if (p.range_end().empty()) {
      out_ << "\t" << p.key() << "\n";
      return;
    }
    if (p.range_end() == std::string(1, '\0')) {
      out_ << "\t[" << p.key() << ", <open ended>";
    } else {
      out_ << "\t[" << p.key() << ", " << p.range_end() << ")";
    }
    if (PrefixRangeEnd(p.key()) == p.range_end()) out_ << " (prefix " << p.key() << ")";
    out_ << "\n";
  }

  std::ostream& out_;
};

}  // namespace

ExitOr<std::unique_ptr<AuthPrinter>> NewAuthPrinter(const PrinterOptions& options,
                                                    std::ostream& out) {
  const std::string& f = options.format;
  if (f == "simple") return std::unique_ptr<AuthPrinter>(new SimpleAuthPrinter(out));
  if (f == "json") return std::unique_ptr<AuthPrinter>(new JsonAuthPrinter(out));
  if (f == "fields") return std::unique_ptr<AuthPrinter>(new FieldsAuthPrinter(out));
  if (f == "protobuf") return std::unique_ptr<AuthPrinter>(new ProtobufAuthPrinter(out));
  if (f == "table") return std::unique_ptr<AuthPrinter>(new UnsupportedAuthPrinter("table"));
  return ExitStatus::BadFeature("unsupported output format");
}

}  // namespace etcdd::cli
