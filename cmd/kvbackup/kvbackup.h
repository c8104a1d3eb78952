// kvbackup: backups of an etcd or etcdd cluster (save, list, prune, status,
// verify), with etcdctl's global flags and environment variables
// (cli/global_flags.h).
//
// Each subcommand is one entry of Commands(): a function that adds it to the
// CLI11 app and records its action in the Context; the main runs the action
// after parsing. New subcommands (restore) are added by
// writing their Add function and listing it there.
//
// Thread-safety: none; one Context per process.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "backup/retention.h"
#include "cli/command_spec.h"
#include "cli/exit_status.h"
#include "cli/global_flags.h"
#include "client/client.h"

namespace CLI {
class App;
}

namespace etcdd::kvbackup {

struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  bool err_is_terminal = false;  // progress bars are drawn only then
};

// -w: the output formats kvbackup prints.
enum class OutputFormat { kSimple, kJson, kTable };

class Context {
 public:
  Context(cli::Environment env, Io io) : env_(std::move(env)), io_(io) {}

  cli::GlobalFlags& flags() { return flags_; }
  Io& io() { return io_; }
  // The process environment, as given to RunKvbackup.
  const cli::Environment& env() const { return env_; }

  // The global options with the environment applied; the first call prints
  // the "unrecognized environment variable" warnings.
  cli::ExitOr<cli::GlobalOptions> Options();
  // -w as an OutputFormat. Errors: kBadFeature "unsupported output format"
  // for anything but simple, json and table.
  cli::ExitOr<OutputFormat> Format();
  // Connects with the global options (prompting for a password when --user
  // has none), as etcdctl's mustClient.
  cli::ExitOr<std::unique_ptr<client::Client>> Connect();

  void SetAction(std::function<cli::ExitStatus()> action) { action_ = std::move(action); }
  bool has_action() const { return static_cast<bool>(action_); }
  cli::ExitStatus RunAction() { return action_(); }

 private:
  cli::Environment env_;
  Io io_;
  cli::GlobalFlags flags_;
  std::optional<cli::GlobalOptions> options_;
  std::function<cli::ExitStatus()> action_;
};

// One subcommand: adds itself to the app and sets the action when selected.
struct CommandEntry {
  const char* name;
  std::function<void(CLI::App*, Context*)> add;
};

// The subcommands, in --help order.
const std::vector<CommandEntry>& Commands();

void AddSaveCommand(CLI::App* app, Context* ctx);        // save
void AddListCommand(CLI::App* app, Context* ctx);        // list
void AddPruneCommand(CLI::App* app, Context* ctx);       // prune
void AddStatusCommand(CLI::App* app, Context* ctx);      // status
void AddVerifyCommand(CLI::App* app, Context* ctx);      // verify
void AddRestoreCommand(CLI::App* app, Context* ctx);     // restore
void AddVersionCommand(CLI::App* app, Context* ctx);     // version
void AddCompletionCommand(CLI::App* app, Context* ctx);  // completion bash|zsh|fish

// The --keep-* flags, shared by save --prune and prune.
struct RetentionFlags {
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0;
  backup::RetentionPolicy Policy() const { return {last, hourly, daily, weekly, monthly}; }
};
// Adds --keep-last, --keep-hourly, --keep-daily, --keep-weekly and
// --keep-monthly to `cmd`, stored in `*flags` (which must outlive parsing).
void AddRetentionFlags(CLI::App* cmd, RetentionFlags* flags);
// Checks the counts (none negative). Errors: kBadArgs.
cli::ExitStatus CheckRetentionFlags(const RetentionFlags& flags);

// Parses a Go duration flag value ("30s", "5m", "0"). Errors: kBadArgs
// `invalid argument "x" for "--<flag>" flag: ...`.
cli::ExitOr<std::chrono::milliseconds> ParseDurationFlag(const std::string& flag,
                                                         const std::string& value);

// Loads the key file named by --encrypt-key-file ("" gives nullopt).
// Errors: kBadArgs with the file's problem.
cli::ExitOr<std::optional<std::array<uint8_t, 32>>> LoadKeyFlag(const std::string& path);

// kvbackup's command tree for `__complete` and `__describe`.
cli::ProgramSpec DescribeKvbackup(const CLI::App& app);

// The whole program: parses `args` (argv, program name first), runs the
// command, prints "Error: ..." on failure, and returns the exit code.
int RunKvbackup(std::vector<std::string> args, cli::Environment env, Io io);

}  // namespace etcdd::kvbackup
