// Command-line parsing and dispatch for kvctl: the command tree, cobra-like
// behaviour on top of CLI11 (global flags anywhere, unique command prefixes,
// keys that look like command names), and etcdctl's error reporting.
#include <CLI/CLI.hpp>

#include "cli/completion.h"
#include "context.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;

CLI::Option* FindOption(CLI::App* app, const std::string& name) {
  for (CLI::App* a = app; a != nullptr; a = a->get_parent()) {
    if (auto* opt = a->get_option_no_throw(name)) return opt;
  }
  return nullptr;
}

// Whether `arg` (an option) takes the next argument as its value.
bool ConsumesNext(CLI::App* app, const std::string& arg) {
  if (arg.find('=') != std::string::npos) return false;
  bool is_long = arg.rfind("--", 0) == 0;
  if (!is_long && arg.size() > 2) return false;  // "-wjson"
  CLI::Option* opt = FindOption(app, is_long ? arg : arg.substr(0, 2));
  return opt != nullptr && opt->get_expected_min() > 0;
}

// cobra.EnablePrefixMatching, which etcdctl turns on: a unique prefix of a
// command name selects the command ("mem li" is "member list").
void ExpandCommandPrefixes(CLI::App* app, std::vector<std::string>* args) {
  CLI::App* current = app;
  for (size_t i = 1; i < args->size(); ++i) {
    const std::string& a = (*args)[i];
    if (a == "--") return;
    if (a.size() > 1 && a[0] == '-') {
      if (ConsumesNext(current, a)) ++i;
      continue;
    }
    CLI::App* match = nullptr;
    int matches = 0;
    for (CLI::App* sub : current->get_subcommands([](CLI::App*) { return true; })) {
      if (cli::IsExactMatchCommand(sub->get_name()) && sub->get_name() != a) continue;
      if (sub->get_name() == a) {
        match = sub;
        matches = 1;
        break;
      }
      if (sub->get_name().rfind(a, 0) == 0) {
        match = sub;
        ++matches;
      }
    }
    if (matches != 1) return;
    (*args)[i] = match->get_name();
    current = match;
  }
}

// pflag reads "-5" as shorthand flags where CLI11 sees a negative number:
// the first such word (not a flag's value, not after "--") is an unknown
// shorthand flag, as in etcdctl ("lease grant -5").
const std::string* NumericShorthand(CLI::App* app, const std::vector<std::string>& args) {
  CLI::App* current = app;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") return nullptr;
    if (a.size() > 1 && a[0] == '-') {
      if (a[1] >= '0' && a[1] <= '9') return &a;
      if (ConsumesNext(current, a)) ++i;
      continue;
    }
    for (CLI::App* sub : current->get_subcommands([](CLI::App*) { return true; })) {
      if (sub->get_name() == a) current = sub;
    }
  }
  return nullptr;
}

int Fail(const ExitStatus& st, Io& io) {
  if (!st.silent()) io.err << "Error: " << st.message() << "\n";
  io.out.flush();
  io.err.flush();
  return st.exit_code();
}

void BuildCommandTree(CLI::App* app, Context* ctx) {
  app->require_subcommand(0, 1);
  app->fallthrough();
  app->allow_extras();
  ctx->flags().Register(app);
  AddKvCommands(app, ctx);
  AddTxnCommand(app, ctx);
  AddMaintenanceCommands(app, ctx);
  AddEndpointCommands(app, ctx);
  AddMemberCommands(app, ctx);
  AddLeaseCommands(app, ctx);
  AddWatchCommand(app, ctx);
  AddLockCommand(app, ctx);
  AddElectCommand(app, ctx);
  AddSnapshotCommands(app, ctx);
  AddUserCommands(app, ctx);
  AddRoleCommands(app, ctx);
  AddAuthCommands(app, ctx);
  AddCompletionCommand(app, ctx);
}

}  // namespace

int RunKvctl(std::vector<std::string> args, cli::Environment env, Io io) {
  Context ctx(std::move(env), io);
  CLI::App app("A simple command line client for etcd3.", "kvctl");
  BuildCommandTree(&app, &ctx);
  // `kvctl __complete ...` and `kvctl __describe`, hidden from --help.
  if (auto code = cli::RunHiddenEntryPoint(DescribeKvctl(app), args, io.out)) return *code;
  ExpandCommandPrefixes(&app, &args);
  ctx.set_args(args);
  if (const std::string* number = NumericShorthand(&app, args)) {
    return Fail(cli::UnknownArgumentsError({*number}, "kvctl"), io);
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend() - (args.empty() ? 0 : 1));
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    io.out << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    return Fail(cli::ParseErrorToExit(e.get_name(), e.what()), io);
  }
  if (!app.remaining().empty())
    return Fail(cli::UnknownArgumentsError(app.remaining(), "kvctl"), io);
  if (!ctx.has_action()) {
    io.out << cli::SelectedCommand(&app)->help();
    return 0;
  }
  ExitStatus st = ctx.RunAction();
  if (!st.ok()) return Fail(st, io);
  io.out.flush();
  return 0;
}

}  // namespace etcdd::kvctl
