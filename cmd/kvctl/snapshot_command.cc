// kvctl snapshot save, status and restore (etcdctl 3.4's
// snapshot_command.go): the same arguments, output and exit codes. The work is
// lib/backup's: save is backup::SaveSnapshotFile (the bare etcd snapshot, as
// `kvbackup save --raw` writes it), status is backup::SnapshotStatus and
// restore is backup::RestoreEtcdSnapshot (kvbackup restore without archives).
#include <CLI/CLI.hpp>
#include <memory>

#include "backup/inspect.h"
#include "backup/restore.h"
#include "backup/save.h"
#include "base/log.h"
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

struct RestoreFlags {
  std::string data_dir;
  std::string wal_dir;
  std::string initial_cluster = "default=http://localhost:2380";
  std::string initial_cluster_token = "etcd-cluster";
  std::string initial_advertise_peer_urls = "http://localhost:2380";
  std::string name = "default";
  bool skip_hash_check = false;
};

// etcdctl prints nothing on stdout; its zap logger says what it restored on
// stderr, and so does this one.
ExitStatus RunSnapshotRestore(Context& ctx, const RestoreFlags& f,
                              const std::vector<std::string>& args) {
  if (args.size() != 1) {
    return ExitStatus::BadArgs("snapshot restore requires exactly one argument");
  }
  backup::RestoreOptions o;
  o.snapshot_path = args[0];
  o.name = f.name;
  o.data_dir = f.data_dir;
  o.wal_dir = f.wal_dir;
  Status urls = backup::ParseRestoreUrls(f.initial_cluster, f.initial_advertise_peer_urls, &o);
  if (!urls.ok()) return ExitStatus::Error(urls.message());
  o.initial_cluster_token = f.initial_cluster_token;
  o.skip_hash_check = f.skip_hash_check;
  auto log = Logger::Stderr(LogLevel::kInfo);
  const std::string data_dir = f.data_dir.empty() ? f.name + ".etcd" : f.data_dir;
  log->Info("restoring snapshot", {{"path", args[0]}, {"data-dir", data_dir}});
  auto r = backup::RestoreEtcdSnapshot(o, *log);
  if (!r.ok()) return ExitStatus::Error(r.status().message());
  log->Info("restored snapshot", {{"path", args[0]},
                                  {"wal-dir", r->wal_dir},
                                  {"data-dir", r->data_dir},
                                  {"snap-dir", r->data_dir + "/member/snap"}});
  return ExitStatus::Ok();
}

}  // namespace

void AddSnapshotCommands(CLI::App* app, Context* ctx) {
  auto* snapshot = app->add_subcommand("snapshot", "Manages etcd node snapshots");
  AddSubcommandWithArgs(snapshot, ctx, "save",
                        "Stores an etcd node backend snapshot to a given file", RunSnapshotSave);
  AddSubcommandWithArgs(snapshot, ctx, "status", "Gets backend snapshot status of a given file",
                        RunSnapshotStatus);
  auto f = std::make_shared<RestoreFlags>();
  auto* restore = AddSubcommandWithArgs(snapshot, ctx, "restore",
                                        "Restores an etcd member snapshot to an etcd directory", f,
                                        RunSnapshotRestore);
  restore->add_option("--data-dir", f->data_dir, "Path to the data directory");
  restore->add_option("--wal-dir", f->wal_dir,
                      "Path to the WAL directory (use --data-dir if none given)");
  restore->add_option("--initial-cluster", f->initial_cluster,
                      "Initial cluster configuration for restore bootstrap");
  restore->add_option("--initial-cluster-token", f->initial_cluster_token,
                      "Initial cluster token for the etcd cluster during restore bootstrap");
  restore->add_option("--initial-advertise-peer-urls", f->initial_advertise_peer_urls,
                      "List of this member's peer URLs to advertise to the rest of the cluster");
  restore->add_option("--name", f->name, "Human-readable name for this member");
  restore->add_flag(
      "--skip-hash-check", f->skip_hash_check,
      "Ignore snapshot integrity hash value (required if copied from data directory)");
}

}  // namespace etcdd::kvctl
