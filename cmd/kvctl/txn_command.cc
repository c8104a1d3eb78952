// kvctl txn (etcdctl's txn_command.go): reads compares and requests from
// stdin (see txn_parser.h), prompting for each section with -i, commits them
// as one transaction and prints the result.
#include <CLI/CLI.hpp>
#include <memory>

#include "context.h"
#include "txn_parser.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;

ExitStatus RunTxn(Context& ctx, bool interactive, const std::vector<std::string>& args) {
  if (!args.empty()) return ExitStatus::BadArgs("txn command does not accept argument");
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  ASSIGN_OR_EXIT(auto request,
                 ReadTxn(ctx.io().in, interactive ? &ctx.io().out : nullptr, ctx.io().err));
  auto response = client->Txn(request);
  if (!response.ok()) return ExitStatus::FromStatus(response.status());
  return s.printer->Txn(response.value());
}

}  // namespace

void AddTxnCommand(CLI::App* app, Context* ctx) {
  auto* cmd = app->add_subcommand("txn", "Txn processes all the requests in one transaction");
  auto interactive = std::make_shared<bool>(false);
  auto args = std::make_shared<std::vector<std::string>>();
  cmd->add_flag("-i,--interactive", *interactive, "Input transaction in interactive mode");
  AddArgs(cmd, args.get());
  cmd->callback([ctx, interactive, args] {
    ctx->SetAction([ctx, interactive, args] { return RunTxn(*ctx, *interactive, *args); });
  });
}

}  // namespace etcdd::kvctl
