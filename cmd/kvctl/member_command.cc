// kvctl member list (etcdctl's member_command.go).
#include <CLI/CLI.hpp>

#include "context.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;

ExitStatus RunMemberList(Context& ctx) {
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  auto response = client->MemberList();
  if (!response.ok()) return ExitStatus::FromStatus(response.status());
  return s.printer->MemberList(response.value());
}

}  // namespace

void AddMemberCommands(CLI::App* app, Context* ctx) {
  auto* member = app->add_subcommand("member", "Membership related commands");
  member->require_subcommand(0, 1);
  auto* list = member->add_subcommand("list", "Lists all members in the cluster");
  list->callback([ctx] { ctx->SetAction([ctx] { return RunMemberList(*ctx); }); });
}

}  // namespace etcdd::kvctl
