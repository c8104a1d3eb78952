// What every kvctl command shares: the global flags and environment, the
// standard streams, and the steps etcdctl takes before a command talks to the
// cluster (clientConfigFromCmd and mustClient in etcdctl's global.go): resolve
// the global options, settle the credentials, choose the printer, connect.
//
// Commands register themselves on the CLI11 app with Add*Commands; the
// subcommand CLI11 selects stores its action in the Context, and the main runs
// it after parsing.
//
// Thread-safety: none; one Context per process.
#pragma once

#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/client_session.h"
#include "cli/command_spec.h"
#include "cli/exit_status.h"
#include "cli/global_flags.h"
#include "cli/printer.h"
#include "cli/printer_auth.h"
#include "client/client.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace etcdd::kvctl {

struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

// A command's view of the global options once they are settled.
struct Session {
  cli::GlobalOptions options;
  client::Config config;
  std::unique_ptr<cli::Printer> printer;
};

class Context {
 public:
  Context(cli::Environment env, Io io) : env_(std::move(env)), io_(io) {}

  cli::GlobalFlags& flags() { return flags_; }
  Io& io() { return io_; }
  // The process environment, as given to RunKvctl.
  const cli::Environment& env() const { return env_; }

  // The command line (program name first, command prefixes expanded), for
  // commands that look at it as etcdctl looks at os.Args.
  void set_args(std::vector<std::string> args) { args_ = std::move(args); }
  const std::vector<std::string>& args() const { return args_; }
  // The words after the first `word` of the command line (the whole command
  // line when there is none), as etcdctl's watch finds its "--" separator.
  std::vector<std::string> ArgsAfter(const std::string& word) const;

  // The global options with the environment applied; the first call prints
  // the "unrecognized environment variable" warnings.
  cli::ExitOr<cli::GlobalOptions> Options();

  // etcdctl's clientConfigFromCmd: options, credentials (prompting for a
  // password when --user has none), TLS and timeouts, and the printer for -w
  // (kBadFeature "unsupported output format"). `value_only` is get's
  // --print-value-only.
  cli::ExitOr<Session> Prepare(bool value_only = false);

  // Connects as etcdctl's mustClient does. Errors: exit 1 "context deadline
  // exceeded" when no endpoint answers (what etcdctl reports once its first
  // call times out), kBadArgs for a malformed endpoint or TLS file,
  // kBadConnection otherwise (e.g. failed authentication).
  cli::ExitOr<std::unique_ptr<client::Client>> Connect(const client::Config& config);

  // Records the selected command's action; RunAction runs it.
  void SetAction(std::function<cli::ExitStatus()> action) { action_ = std::move(action); }
  bool has_action() const { return static_cast<bool>(action_); }
  cli::ExitStatus RunAction() { return action_(); }

 private:
  cli::Environment env_;
  std::vector<std::string> args_;
  Io io_;
  cli::GlobalFlags flags_;
  std::optional<cli::GlobalOptions> options_;
  std::function<cli::ExitStatus()> action_;
};

// Adds the positional arguments of `cmd`, collected in `args`. As with
// cobra, every word after "--" is one of them, even once the command has
// some (CLI11 would hand those back to the parent command).
CLI::Option* AddArgs(CLI::App* cmd, std::vector<std::string>* args, const std::string& usage = "");

// A subcommand of `parent` taking positional arguments: when CLI11 selects
// it, `run(*ctx, args)` becomes the action.
CLI::App* AddSubcommandWithArgs(
    CLI::App* parent, Context* ctx, const char* name, const char* description,
    std::function<cli::ExitStatus(Context&, const std::vector<std::string>&)> run);
// The same for a command group whose subcommands share `flags`: the action
// is `run(*ctx, *flags, args)`.
template <typename Flags, typename Run>
CLI::App* AddSubcommandWithArgs(CLI::App* parent, Context* ctx, const char* name,
                                const char* description, std::shared_ptr<Flags> flags, Run run) {
  return AddSubcommandWithArgs(parent, ctx, name, description,
                               [flags, run](Context& c, const std::vector<std::string>& args) {
                                 return run(c, *flags, args);
                               });
}

// The exit status for a failed client::Client::Connect, as Context::Connect
// reports it (cli/client_session.h).
using cli::ConnectFailure;

// What the user, role and auth commands work with once their arguments are
// checked: the settled options, a connected client and the printer of their
// results for -w (cli/printer_auth.h). Errors as Context::Prepare and
// Context::Connect.
struct AuthSession {
  Session session;
  std::unique_ptr<client::Client> client;
  std::unique_ptr<cli::AuthPrinter> printer;
};
cli::ExitOr<AuthSession> ConnectForAuth(Context& ctx);

// Registration of the command groups (one file each).
void AddKvCommands(CLI::App* app, Context* ctx);           // put, get, del
void AddTxnCommand(CLI::App* app, Context* ctx);           // txn
void AddMaintenanceCommands(CLI::App* app, Context* ctx);  // alarm, compaction, move-leader, version
void AddEndpointCommands(CLI::App* app, Context* ctx);     // endpoint health, status, hashkv
void AddMemberCommands(CLI::App* app, Context* ctx);       // member add, remove, update, ...
void AddLeaseCommands(CLI::App* app, Context* ctx);        // lease grant, revoke, keep-alive, ...
void AddWatchCommand(CLI::App* app, Context* ctx);         // watch
void AddLockCommand(CLI::App* app, Context* ctx);          // lock
void AddElectCommand(CLI::App* app, Context* ctx);         // elect
void AddSnapshotCommands(CLI::App* app, Context* ctx);     // snapshot save, status, restore
void AddUserCommands(CLI::App* app, Context* ctx);         // user add, get, list, passwd, ...
void AddRoleCommands(CLI::App* app, Context* ctx);         // role add, get, grant-permission, ...
void AddAuthCommands(CLI::App* app, Context* ctx);         // auth enable, disable, status
void AddCompletionCommand(CLI::App* app, Context* ctx);    // completion bash|zsh|fish

// kvctl's command tree as `app` holds it once the commands are added, with
// the value sets and environment variables the shell completion and the man
// page checks need (`kvctl __complete`, `kvctl __describe`).
cli::ProgramSpec DescribeKvctl(const CLI::App& app);

// The whole program: parses `args` (argv, program name first), runs the
// command, prints "Error: ..." on failure, and returns the exit code.
int RunKvctl(std::vector<std::string> args, cli::Environment env, Io io);

}  // namespace etcdd::kvctl
