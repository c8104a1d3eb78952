// Printers for the results of the user, role and auth commands, in
// etcdctl's output formats (`-w`), byte for byte as etcdctl 3.4 prints them
// (etcdctl/ctlv3/command/printer_simple.go, printer_fields.go, and
// printer.go's printerRPC for json and protobuf); AuthStatus as etcdctl 3.5.
//
//   simple    etcdctl's sentences ("User app created", "Role app updated",
//             "Permission of key k is revoked from role app"), a user's
//             roles on one line, a role's permissions as "KV Read:" and
//             "KV Write:" lists. Keys are printed raw: --hex changes nothing.
//   json      the response struct through Go's encoding/json (see
//             printer.h): header, roles, users, perm with permType as a
//             number (READ, the zero value, left out) and keys base64.
//   fields    the header's four lines, then a role's permissions
//             ("PermType", "Key", "RangeEnd") or the role names. etcdctl
//             has no fields form for user get, user list and auth status:
//             kBadFeature "fields not supported as output format".
//   protobuf  the response's protobuf encoding.
//   table     supports none of them ("table not supported as output
//             format", kBadFeature).
//
// As in etcdctl, an unsupported format fails after the call was made (the
// change is applied) and before anything is written.
//
// Thread-safety: a printer writes to the stream it was given; use one per
// thread.
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "cli/exit_status.h"
#include "cli/printer.h"
#include "etcdserverpb/rpc.pb.h"

namespace etcdd::cli {

class AuthPrinter {
 public:
  virtual ~AuthPrinter() = default;

  // "User <name> created".
  virtual ExitStatus UserAdd(const std::string& name,
                             const etcdserverpb::AuthUserAddResponse& r) = 0;
  // "User: <name>", then "Roles:" followed by " <role>" per role.
  virtual ExitStatus UserGet(const std::string& name,
                             const etcdserverpb::AuthUserGetResponse& r) = 0;
  // One user name per line.
  virtual ExitStatus UserList(const etcdserverpb::AuthUserListResponse& r) = 0;
  // "Password updated".
  virtual ExitStatus UserChangePassword(const etcdserverpb::AuthUserChangePasswordResponse& r) = 0;
  // "Role <role> is granted to user <user>".
  virtual ExitStatus UserGrantRole(const std::string& user, const std::string& role,
                                   const etcdserverpb::AuthUserGrantRoleResponse& r) = 0;
  // "Role <role> is revoked from user <user>".
  virtual ExitStatus UserRevokeRole(const std::string& user, const std::string& role,
                                    const etcdserverpb::AuthUserRevokeRoleResponse& r) = 0;
  // "User <name> deleted".
  virtual ExitStatus UserDelete(const std::string& name,
                                const etcdserverpb::AuthUserDeleteResponse& r) = 0;

  // "Role <role> created".
  virtual ExitStatus RoleAdd(const std::string& role,
                             const etcdserverpb::AuthRoleAddResponse& r) = 0;
  // "Role <role>", "KV Read:" and its permissions, "KV Write:" and its
  // permissions; each permission on a line after a tab: the key alone,
  // "[key, end)", or "[key, <open ended>" (range end "\0"), followed by
  // " (prefix key)" when the range is exactly the key's prefix range.
  virtual ExitStatus RoleGet(const std::string& role,
                             const etcdserverpb::AuthRoleGetResponse& r) = 0;
  // One role name per line.
  virtual ExitStatus RoleList(const etcdserverpb::AuthRoleListResponse& r) = 0;
  // "Role <role> deleted".
  virtual ExitStatus RoleDelete(const std::string& role,
                                const etcdserverpb::AuthRoleDeleteResponse& r) = 0;
  // "Role <role> updated".
  virtual ExitStatus RoleGrantPermission(
      const std::string& role, const etcdserverpb::AuthRoleGrantPermissionResponse& r) = 0;
  // `key` as the command was given it and the range end it sent: "Permission
  // of key <key> is revoked from role <role>" (no range end), "Permission of
  // range [<key>, <end>) is revoked ..." or "Permission of range [<key>,
  // <open ended> is revoked ..." (range end "\0").
  virtual ExitStatus RoleRevokePermission(
      const std::string& role, const std::string& key, const std::string& end,
      const etcdserverpb::AuthRoleRevokePermissionResponse& r) = 0;

  // "Authentication Status: <true|false>" and "AuthRevision: <n>" (etcdctl
  // 3.5's auth status).
  virtual ExitStatus AuthStatus(const etcdserverpb::AuthStatusResponse& r) = 0;
};

// A printer for `options.format` writing to `out`. Errors: kBadFeature
// "unsupported output format" for an unknown format name.
ExitOr<std::unique_ptr<AuthPrinter>> NewAuthPrinter(const PrinterOptions& options,
                                                    std::ostream& out);

}  // namespace etcdd::cli
