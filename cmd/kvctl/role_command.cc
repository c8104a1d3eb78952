// kvctl role add, get, list, delete, grant-permission and revoke-permission
// (etcdctl's role_command.go): the same argument checks, messages and exit
// codes, in the same order (arguments and the permission's range, then the
// global options and output format, then the call).
#include <CLI/CLI.hpp>
#include <memory>

#include "auth_args.h"
#include "context.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;
using Args = std::vector<std::string>;
namespace pb = etcdserverpb;

struct RoleFlags {
  bool prefix = false;    // grant-permission, revoke-permission
  bool from_key = false;  // grant-permission, revoke-permission
};

ExitStatus RunRoleAdd(Context& ctx, const Args& args) {
  if (args.size() != 1) {
    return ExitStatus::BadArgs("role add command requires role name as its argument");
  }
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  pb::AuthRoleAddRequest request;
  request.set_name(args[0]);
  auto response = a.client->RoleAdd(request);
  if (!response.ok()) return cli::CallFailure(response.status());
  return a.printer->RoleAdd(args[0], response.value());
}

ExitStatus RunRoleDelete(Context& ctx, const Args& args) {
  if (args.size() != 1) {
    return ExitStatus::BadArgs("role delete command requires role name as its argument");
  }
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  pb::AuthRoleDeleteRequest request;
  request.set_role(args[0]);
  auto response = a.client->RoleDelete(request);
  if (!response.ok()) return cli::CallFailure(response.status());
  return a.printer->RoleDelete(args[0], response.value());
}

ExitStatus RunRoleGet(Context& ctx, const Args& args) {
  if (args.size() != 1) {
    return ExitStatus::BadArgs("role get command requires role name as its argument");
  }
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  pb::AuthRoleGetRequest request;
  request.set_role(args[0]);
  auto response = a.client->RoleGet(request);
  if (!response.ok()) return cli::CallFailure(response.status());
  return a.printer->RoleGet(args[0], response.value());
}

ExitStatus RunRoleList(Context& ctx, const Args& args) {
  if (!args.empty()) return ExitStatus::BadArgs("role list command requires no arguments");
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  auto response = a.client->RoleList();
  if (!response.ok()) return cli::CallFailure(response.status());
  return a.printer->RoleList(response.value());
}

ExitStatus RunGrantPermission(Context& ctx, const RoleFlags& flags, const Args& args) {
  if (args.size() < 3) {
    return ExitStatus::BadArgs(
        "role grant command requires role name, permission type, and key [endkey] as its "
        "argument");
  }
  ASSIGN_OR_EXIT(authpb::Permission::Type type, ParsePermissionType(args[1]));
  ASSIGN_OR_EXIT(PermissionRange range, PermissionRangeFromArgs(Args(args.begin() + 2, args.end()),
                                                                flags.prefix, flags.from_key));
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  pb::AuthRoleGrantPermissionRequest request;
  request.set_name(args[0]);
  request.mutable_perm()->set_permtype(type);
  request.mutable_perm()->set_key(range.key);
  request.mutable_perm()->set_range_end(range.range_end);
  auto response = a.client->RoleGrantPermission(request);
  if (!response.ok()) return cli::CallFailure(response.status());
  return a.printer->RoleGrantPermission(args[0], response.value());
}

ExitStatus RunRevokePermission(Context& ctx, const RoleFlags& flags, const Args& args) {
  if (args.size() < 2) {
    return ExitStatus::BadArgs(
        "role revoke-permission command requires role name and key [endkey] as its argument");
  }
  ASSIGN_OR_EXIT(PermissionRange range, PermissionRangeFromArgs(Args(args.begin() + 1, args.end()),
                                                                flags.prefix, flags.from_key));
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  pb::AuthRoleRevokePermissionRequest request;
  request.set_role(args[0]);
  request.set_key(range.key);
  request.set_range_end(range.range_end);
  auto response = a.client->RoleRevokePermission(request);
  if (!response.ok()) return cli::CallFailure(response.status());
  // etcdctl names the key as given ("" rather than the "\0" it sent).
  return a.printer->RoleRevokePermission(args[0], args[1], range.range_end, response.value());
}

template <typename Run>
auto WithoutFlags(Run run) {
  return [run](Context& c, const RoleFlags&, const Args& a) { return run(c, a); };
}

}  // namespace

void AddRoleCommands(CLI::App* app, Context* ctx) {
  auto* role = app->add_subcommand("role", "Role related commands");
  role->require_subcommand(0, 1);
  auto flags = std::make_shared<RoleFlags>();

  AddSubcommandWithArgs(role, ctx, "add", "Adds a new role", flags, WithoutFlags(RunRoleAdd));
  AddSubcommandWithArgs(role, ctx, "delete", "Deletes a role", flags, WithoutFlags(RunRoleDelete));
  AddSubcommandWithArgs(role, ctx, "get", "Gets detailed information of a role", flags,
                        WithoutFlags(RunRoleGet));
  AddSubcommandWithArgs(role, ctx, "list", "Lists all roles", flags, WithoutFlags(RunRoleList));

  auto* grant = AddSubcommandWithArgs(role, ctx, "grant-permission", "Grants a key to a role",
                                      flags, RunGrantPermission);
  grant->add_flag("--prefix", flags->prefix, "grant a prefix permission");
  grant->add_flag("--from-key", flags->from_key,
                  "grant a permission of keys that are greater than or equal to the given key "
                  "using byte compare");

  auto* revoke = AddSubcommandWithArgs(role, ctx, "revoke-permission", "Revokes a key from a role",
                                       flags, RunRevokePermission);
  revoke->add_flag("--prefix", flags->prefix, "revoke a prefix permission");
  revoke->add_flag("--from-key", flags->from_key,
                   "revoke a permission of keys that are greater than or equal to the given key "
                   "using byte compare");
}

}  // namespace etcdd::kvctl
