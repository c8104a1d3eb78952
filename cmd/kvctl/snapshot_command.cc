// kvctl snapshot save and status (etcdctl's snapshot_command.go): the same
// arguments, output and exit codes. The work is lib/backup's: save is
// backup::SaveSnapshotFile (the bare etcd snapshot, as `kvbackup save --raw`
// writes it) and status is backup::SnapshotStatus. `snapshot restore` is not
// registered here; it is a command of its own.
#include <CLI/CLI.hpp>
#include <memory>

#include "backup/inspect.h"
#include "backup/save.h"
#include "cli/db_status.h"
#include "cli/go_format.h"
#include "context.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitCode;
using cli::ExitStatus;

// cobra's flag.Changed for --command-timeout: given on the command line or
// through the environment.
bool CommandTimeoutSet(const Context& ctx) {
  for (const auto& arg : ctx.args()) {
    if (arg == "--command-timeout" || arg.rfind("--command-timeout=", 0) == 0) return true;
  }
  for (const char* name : {"KVCTL_COMMAND_TIMEOUT", "ETCDCTL_COMMAND_TIMEOUT"}) {
    auto it = ctx.env().find(name);
    if (it != ctx.env().end() && !it->second.empty()) return true;
  }
  return false;
}

// etcdctl reports every failure of the save itself with ExitInterrupted.
ExitStatus Interrupted(const std::string& message) {
  return ExitStatus(ExitCode::kInterrupted, message);
}

ExitStatus RunSnapshotSave(Context& ctx, const std::vector<std::string>& args) {
  if (args.size() != 1) return ExitStatus::BadArgs("snapshot save expects one argument");
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  if (s.config.endpoints.size() != 1) {
    return Interrupted("snapshot must be requested to one selected node, not multiple " +
                       cli::GoStringSlice(s.options.endpoints));
  }
  auto client = client::Client::Connect(s.config);
  if (!client.ok()) return Interrupted(ConnectFailure(client.status()).message());
  backup::SaveOptions options;
  // As etcdctl: no deadline unless --command-timeout was given.
  if (CommandTimeoutSet(ctx)) {
    options.timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(s.options.command_timeout);
  }
  auto saved = backup::SaveSnapshotFile(**client, (*client)->endpoints().front(), args[0], options);
  if (!saved.ok()) return Interrupted(saved.status().message());
  ctx.io().out << "Snapshot saved at " << args[0] << "\n";
  return ExitStatus::Ok();
}

ExitStatus RunSnapshotStatus(Context& ctx, const std::vector<std::string>& args) {
  if (args.size() != 1) {
    return ExitStatus::BadArgs("snapshot status requires exactly one argument");
  }
  ASSIGN_OR_EXIT(cli::GlobalOptions options, ctx.Options());
  const std::string& format = options.write_out;
  if (format != "simple" && format != "json" && format != "fields" && format != "table" &&
      format != "protobuf") {
    return ExitStatus::BadFeature("unsupported output format");
  }
  auto status = backup::SnapshotStatus(args[0]);
  if (!status.ok()) return ExitStatus::Error(status.status().message());
  cli::DbStatus s{status->hash, status->revision, status->total_key, status->total_size};
  return cli::PrintDbStatus(s, format, ctx.io().out);
}

}  // namespace

void AddSnapshotCommands(CLI::App* app, Context* ctx) {
  auto* snapshot = app->add_subcommand("snapshot", "Manages etcd node snapshots");
  AddSubcommandWithArgs(snapshot, ctx, "save",
                        "Stores an etcd node backend snapshot to a given file", RunSnapshotSave);
  AddSubcommandWithArgs(snapshot, ctx, "status", "Gets backend snapshot status of a given file",
                        RunSnapshotStatus);
}

}  // namespace etcdd::kvctl
