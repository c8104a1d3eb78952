// kvctl put, get and del (etcdctl's put_command.go, get_command.go,
// del_command.go): build the request, connect, send, print.
#include <CLI/CLI.hpp>
#include <memory>

#include "context.h"
#include "kv_requests.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;
using Args = std::vector<std::string>;

ExitStatus RunGet(Context& ctx, const GetFlags& flags, const Args& args) {
  ASSIGN_OR_EXIT(auto request, BuildRangeRequest(flags, args));
  ASSIGN_OR_EXIT(Session s, ctx.Prepare(flags.print_value_only));
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  auto response = client->Range(request);
  if (!response.ok()) return ExitStatus::FromStatus(response.status());
  // etcdctl checks the output format only once the response is in.
  if (flags.print_value_only && s.options.write_out != "simple") {
    return ExitStatus::BadArgs("print-value-only is only for `--write-out=simple`");
  }
  if (flags.count_only && s.options.write_out != "fields") {
    return ExitStatus::BadArgs("--count-only is only for `--write-out=fields`");
  }
  return s.printer->Get(response.value());
}

ExitStatus RunPut(Context& ctx, const PutFlags& flags, const Args& args) {
  ASSIGN_OR_EXIT(auto request, BuildPutRequest(flags, args, ctx.io().in));
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  auto response = client->Put(request);
  if (!response.ok()) return ExitStatus::FromStatus(response.status());
  return s.printer->Put(response.value());
}

ExitStatus RunDel(Context& ctx, const DelFlags& flags, const Args& args) {
  ASSIGN_OR_EXIT(auto request, BuildDeleteRequest(flags, args));
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  auto response = client->DeleteRange(request);
  if (!response.ok()) return ExitStatus::FromStatus(response.status());
  return s.printer->Del(response.value());
}

// Adds a command whose flags live in a `Flags` and whose positional
// arguments are collected in order; `run` is recorded as the action when
// CLI11 selects the command.
template <typename Flags, typename AddFlags, typename Run>
void AddCommand(CLI::App* app, Context* ctx, const char* name, const char* usage,
                const char* description, AddFlags add_flags, Run run) {
  auto* cmd = app->add_subcommand(name, description);
  auto flags = std::make_shared<Flags>();
  auto args = std::make_shared<Args>();
  add_flags(cmd, flags.get());
  AddArgs(cmd, args.get(), usage);
  cmd->callback([ctx, flags, args, run] {
    ctx->SetAction([ctx, flags, args, run] { return run(*ctx, *flags, *args); });
  });
}

}  // namespace

void AddKvCommands(CLI::App* app, Context* ctx) {
  AddCommand<GetFlags>(app, ctx, "get", "<key> [range_end]", "Gets the key or a range of keys",
                       AddGetFlags, RunGet);
  AddCommand<PutFlags>(app, ctx, "put", "<key> <value> (<value> can also be given from stdin)",
                       "Puts the given key into the store", AddPutFlags, RunPut);
  AddCommand<DelFlags>(app, ctx, "del", "<key> [range_end]",
                       "Removes the specified key or range of keys [key, range_end)", AddDelFlags,
                       RunDel);
}

}  // namespace etcdd::kvctl
