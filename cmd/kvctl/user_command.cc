// kvctl user add, get, list, delete, passwd, grant-role and revoke-role
// (etcdctl's user_command.go): the same argument checks, password prompts,
// messages and exit codes, in the same order (arguments, then the new
// password, then the global options and output format, then the call).
#include <CLI/CLI.hpp>
#include <memory>

#include "auth_args.h"
#include "context.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;
using Args = std::vector<std::string>;
namespace pb = etcdserverpb;

struct UserFlags {
  bool interactive = true;        // add, passwd: ask on the terminal
  std::string new_user_password;  // add --new-user-password
  bool no_password = false;       // add --no-password
  bool detail = false;            // get --detail
};

// etcdctl's readPasswordInteractive: asked twice, and both must match.
cli::ExitOr<std::string> AskNewPassword(Context& ctx, const std::string& name) {
  Io& io = ctx.io();
  auto first = cli::AskPassword(io.in, io.out, "Password of " + name + ": ");
  if (!first.ok())
    return ExitStatus::BadArgs("failed to ask password: " + first.status().message());
  if (first.value().empty()) return ExitStatus::BadArgs("empty password");
  auto second =
      cli::AskPassword(io.in, io.out, "Type password of " + name + " again for confirmation: ");
  if (!second.ok()) {
    return ExitStatus::BadArgs("failed to ask password: " + second.status().message());
  }
  if (first.value() != second.value()) return ExitStatus::BadArgs("given passwords are different");
  return first.value();
}

// The password of `user passwd` and of `user add <name>`.
cli::ExitOr<std::string> NewPassword(Context& ctx, const UserFlags& flags,
                                     const std::string& name) {
  if (!flags.interactive) return ScanWord(ctx.io().in);
  return AskNewPassword(ctx, name);
}

ExitStatus RunUserAdd(Context& ctx, const UserFlags& flags, const Args& args) {
  if (args.size() != 1) {
    return ExitStatus::BadArgs("user add command requires user name as its argument");
  }
  pb::AuthUserAddRequest request;
  request.mutable_options()->set_no_password(flags.no_password);
  if (flags.no_password) {
    request.set_name(args[0]);
  } else if (!flags.new_user_password.empty()) {
    request.set_name(args[0]);
    request.set_password(flags.new_user_password);
  } else if (const size_t colon = args[0].find(':'); colon != std::string::npos) {
    if (colon == 0) return ExitStatus::BadArgs("empty user name is not allowed");
    request.set_name(args[0].substr(0, colon));
    request.set_password(args[0].substr(colon + 1));
  } else {
    request.set_name(args[0]);
    ASSIGN_OR_EXIT(std::string password, NewPassword(ctx, flags, args[0]));
    request.set_password(password);
  }
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  auto response = a.client->UserAdd(request);
  if (!response.ok()) return cli::CallFailure(response.status());
  return a.printer->UserAdd(request.name(), response.value());
}

ExitStatus RunUserGet(Context& ctx, const UserFlags& flags, const Args& args) {
  if (args.size() != 1) {
    return ExitStatus::BadArgs("user get command requires user name as its argument");
  }
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  pb::AuthUserGetRequest request;
  request.set_name(args[0]);
  auto response = a.client->UserGet(request);
  if (!response.ok()) return cli::CallFailure(response.status());
  if (!flags.detail) return a.printer->UserGet(args[0], response.value());
  // --detail: etcdctl prints this heading in every format, then each role.
  ctx.io().out << "User: " << args[0] << "\n";
  for (const auto& role : response.value().roles()) {
    ctx.io().out << "\n";
    pb::AuthRoleGetRequest role_request;
    role_request.set_role(role);
    auto role_response = a.client->RoleGet(role_request);
    if (!role_response.ok()) return cli::CallFailure(role_response.status());
    RETURN_IF_EXIT(a.printer->RoleGet(role, role_response.value()));
  }
  return ExitStatus::Ok();
}

ExitStatus RunUserList(Context& ctx, const Args& args) {
  if (!args.empty()) return ExitStatus::BadArgs("user list command requires no arguments");
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  auto response = a.client->UserList();
  if (!response.ok()) return cli::CallFailure(response.status());
  return a.printer->UserList(response.value());
}

ExitStatus RunUserDelete(Context& ctx, const Args& args) {
  if (args.size() != 1) {
    return ExitStatus::BadArgs("user delete command requires user name as its argument");
  }
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  pb::AuthUserDeleteRequest request;
  request.set_name(args[0]);
  auto response = a.client->UserDelete(request);
  if (!response.ok()) return cli::CallFailure(response.status());
  return a.printer->UserDelete(args[0], response.value());
}

ExitStatus RunUserPasswd(Context& ctx, const UserFlags& flags, const Args& args) {
  if (args.size() != 1) {
    return ExitStatus::BadArgs("user passwd command requires user name as its argument");
  }
  pb::AuthUserChangePasswordRequest request;
  request.set_name(args[0]);
  ASSIGN_OR_EXIT(std::string password, NewPassword(ctx, flags, args[0]));
  request.set_password(password);
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  auto response = a.client->UserChangePassword(request);
  if (!response.ok()) return cli::CallFailure(response.status());
  return a.printer->UserChangePassword(response.value());
}

ExitStatus RunUserGrantRole(Context& ctx, const Args& args) {
  if (args.size() != 2) {
    return ExitStatus::BadArgs(
        "user grant command requires user name and role name as its argument");
  }
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  pb::AuthUserGrantRoleRequest request;
  request.set_user(args[0]);
  request.set_role(args[1]);
  auto response = a.client->UserGrantRole(request);
  if (!response.ok()) return cli::CallFailure(response.status());
  return a.printer->UserGrantRole(args[0], args[1], response.value());
}

ExitStatus RunUserRevokeRole(Context& ctx, const Args& args) {
  if (args.size() != 2) {
    return ExitStatus::BadArgs("user revoke-role requires user name and role name as its argument");
  }
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  pb::AuthUserRevokeRoleRequest request;
  request.set_name(args[0]);
  request.set_role(args[1]);
  auto response = a.client->UserRevokeRole(request);
  if (!response.ok()) return cli::CallFailure(response.status());
  return a.printer->UserRevokeRole(args[0], args[1], response.value());
}

// The commands that take no flags of their own.
template <typename Run>
auto WithoutFlags(Run run) {
  return [run](Context& c, const UserFlags&, const Args& a) { return run(c, a); };
}

}  // namespace

void AddUserCommands(CLI::App* app, Context* ctx) {
  auto* user = app->add_subcommand("user", "User related commands");
  user->require_subcommand(0, 1);
  auto flags = std::make_shared<UserFlags>();

  auto* add = AddSubcommandWithArgs(user, ctx, "add", "Adds a new user", flags, RunUserAdd);
  add->add_flag("--interactive", flags->interactive,
                "Read password from stdin instead of interactive terminal");
  add->add_option("--new-user-password", flags->new_user_password,
                  "Supply password from the command line flag");
  add->add_flag("--no-password", flags->no_password,
                "Create a user without password (CN based auth only)");

  AddSubcommandWithArgs(user, ctx, "delete", "Deletes a user", flags, WithoutFlags(RunUserDelete));

  auto* get = AddSubcommandWithArgs(user, ctx, "get", "Gets detailed information of a user", flags,
                                    RunUserGet);
  get->add_flag("--detail", flags->detail, "Show permissions of roles granted to the user");

  AddSubcommandWithArgs(user, ctx, "list", "Lists all users", flags, WithoutFlags(RunUserList));

  auto* passwd =
      AddSubcommandWithArgs(user, ctx, "passwd", "Changes password of user", flags, RunUserPasswd);
  passwd->add_flag("--interactive", flags->interactive,
                   "If true, read password from stdin instead of interactive terminal");

  AddSubcommandWithArgs(user, ctx, "grant-role", "Grants a role to a user", flags,
                        WithoutFlags(RunUserGrantRole));
  AddSubcommandWithArgs(user, ctx, "revoke-role", "Revokes a role from a user", flags,
                        WithoutFlags(RunUserRevokeRole));
}

}  // namespace etcdd::kvctl
