// kvctl auth enable and disable (etcdctl 3.4's auth_command.go) and auth
// status (etcdctl 3.5's): the same argument checks, messages and exit codes.
// Also the session the user and role commands share.
#include <CLI/CLI.hpp>

#include "context.h"

namespace etcdd::kvctl {

using cli::ExitStatus;
using Args = std::vector<std::string>;

cli::ExitOr<AuthSession> ConnectForAuth(Context& ctx) {
  AuthSession a;
  ASSIGN_OR_EXIT(a.session, ctx.Prepare());
  const cli::GlobalOptions& o = a.session.options;
  ASSIGN_OR_EXIT(a.printer, cli::NewAuthPrinter({o.write_out, o.hex, false}, ctx.io().out));
  ASSIGN_OR_EXIT(a.client, ctx.Connect(a.session.config));
  return a;
}

namespace {

// The error AuthEnable answers while user root lacks role root.
constexpr char kRootRoleNotExist[] = "etcdserver: root user does not have root role";
// etcdctl retries AuthEnable after creating and granting the root role until
// a call fails; a second round ends at RoleAdd ("role name already exists")
// unless another client deletes the role meanwhile. Bounded here.
constexpr int kEnableAttempts = 3;

ExitStatus RunAuthEnable(Context& ctx, const Args& args) {
  if (!args.empty()) {
    return ExitStatus::BadArgs("auth enable command does not accept any arguments");
  }
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  // etcdctl gives user root the root role when only that is missing.
  Status st;
  for (int attempt = 1; attempt <= kEnableAttempts; ++attempt) {
    st = a.client->AuthEnable().status();
    if (st.ok() || st.message() != kRootRoleNotExist || attempt == kEnableAttempts) break;
    etcdserverpb::AuthRoleAddRequest add;
    add.set_name("root");
    st = a.client->RoleAdd(add).status();
    if (!st.ok()) break;
    etcdserverpb::AuthUserGrantRoleRequest grant;
    grant.set_user("root");
    grant.set_role("root");
    st = a.client->UserGrantRole(grant).status();
    if (!st.ok()) break;
  }
  if (!st.ok()) return cli::CallFailure(st);
  ctx.io().out << "Authentication Enabled\n";
  return ExitStatus::Ok();
}

ExitStatus RunAuthDisable(Context& ctx, const Args& args) {
  if (!args.empty()) {
    return ExitStatus::BadArgs("auth disable command does not accept any arguments");
  }
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  auto response = a.client->AuthDisable();
  if (!response.ok()) return cli::CallFailure(response.status());
  ctx.io().out << "Authentication Disabled\n";
  return ExitStatus::Ok();
}

ExitStatus RunAuthStatus(Context& ctx, const Args& args) {
  if (!args.empty()) {
    return ExitStatus::BadArgs("auth status command does not accept any arguments");
  }
  ASSIGN_OR_EXIT(AuthSession a, ConnectForAuth(ctx));
  auto response = a.client->AuthStatus();
  if (!response.ok()) return cli::CallFailure(response.status());
  return a.printer->AuthStatus(response.value());
}

}  // namespace

void AddAuthCommands(CLI::App* app, Context* ctx) {
  auto* auth = app->add_subcommand("auth", "Enable or disable authentication");
  auth->require_subcommand(0, 1);
  AddSubcommandWithArgs(auth, ctx, "enable", "Enables authentication", RunAuthEnable);
  AddSubcommandWithArgs(auth, ctx, "disable", "Disables authentication", RunAuthDisable);
  AddSubcommandWithArgs(auth, ctx, "status", "Returns authentication status", RunAuthStatus);
}

}  // namespace etcdd::kvctl
