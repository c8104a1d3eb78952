// kvbackup restore: a new member's data dir from a backup (etcdutl's
// `snapshot restore` flags), through backup::RestoreBackup.
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "backup/restore.h"
#include "base/go_text.h"
#include "base/log.h"
#include "cli/table_writer.h"
#include "kvbackup.h"

namespace etcdd::kvbackup {

namespace {

using cli::ExitStatus;
using nlohmann::json;

struct RestoreFlags {
  std::vector<std::string> args;
  std::string data_dir;
  std::string wal_dir;
  std::string name = "default";
  std::string initial_cluster = "default=http://localhost:2380";
  std::string initial_cluster_token = "etcd-cluster";
  std::string initial_advertise_peer_urls = "http://localhost:2380";
  bool skip_hash_check = false;
  uint64_t bump_revision = 0;
  bool mark_compacted = false;
  std::string key_file;
};

cli::ExitOr<backup::RestoreOptions> MakeOptions(const RestoreFlags& f) {
  if (f.args.size() != 1) {
    return ExitStatus::BadArgs("restore expects one argument: a backup file");
  }
  backup::RestoreOptions o;
  o.data_dir = f.data_dir;
  o.wal_dir = f.wal_dir;
  o.name = f.name;
  Status urls = backup::ParseRestoreUrls(f.initial_cluster, f.initial_advertise_peer_urls, &o);
  if (!urls.ok()) return ExitStatus::BadArgs(urls.message());
  o.initial_cluster_token = f.initial_cluster_token;
  o.skip_hash_check = f.skip_hash_check;
  o.bump_revision = f.bump_revision;
  o.mark_compacted = f.mark_compacted;
  return o;
}

void PrintResult(const backup::RestoreResult& r, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kJson) {
    json members = json::array();
    for (const auto& m : r.members.members()) {
      members.push_back({{"name", m.name()},
                         {"id", IdToHex(m.id())},
                         {"peer_urls", m.peer_urls()},
                         {"is_learner", m.is_learner()}});
    }
    out << json{{"data_dir", r.data_dir},
                {"wal_dir", r.wal_dir},
                {"member_id", IdToHex(r.member_id)},
                {"cluster_id", IdToHex(r.cluster_id)},
                {"members", members},
                {"revision", r.revision},
                {"compact_revision", r.compact_revision},
                {"revisions", r.revisions},
                {"leases", r.leases},
                {"auth_enabled", r.auth_enabled}}
               .dump()
        << "\n";
    return;
  }
  if (format == OutputFormat::kTable) {
    cli::TableWriter t;
    t.SetHeader({"data dir", "member id", "cluster id", "revision", "revisions", "leases"});
    t.Append({r.data_dir, IdToHex(r.member_id), IdToHex(r.cluster_id), std::to_string(r.revision),
              std::to_string(r.revisions), std::to_string(r.leases)});
    out << t.Render();
    return;
  }
  out << "Restored snapshot into " << r.data_dir << ": member " << IdToHex(r.member_id)
      << " of cluster " << IdToHex(r.cluster_id) << ", revision " << r.revision << ", "
      << r.revisions << " revisions, " << r.leases << " leases\n";
}

ExitStatus RunRestore(Context& ctx, const RestoreFlags& f) {
  ASSIGN_OR_EXIT(OutputFormat format, ctx.Format());
  ASSIGN_OR_EXIT(backup::RestoreOptions opts, MakeOptions(f));
  ASSIGN_OR_EXIT(auto key, LoadKeyFlag(f.key_file));
  auto logger = Logger::Stderr(LogLevel::kWarn);
  auto r = backup::RestoreBackup(f.args[0], key, opts, *logger);
  if (!r.ok()) return ExitStatus::FromStatus(r.status());
  PrintResult(*r, format, ctx.io().out);
  return ExitStatus::Ok();
}

}  // namespace

void AddRestoreCommand(CLI::App* app, Context* ctx) {
  auto f = std::make_shared<RestoreFlags>();
  auto* cmd = app->add_subcommand(
      "restore", "Creates a new member's data dir from a backup or an etcd snapshot file");
  cmd->add_option("file", f->args, "<backup file>");
  cmd->add_option("--data-dir", f->data_dir, "Path to the data directory (default <name>.etcd)");
  cmd->add_option("--wal-dir", f->wal_dir,
                  "Path to the WAL directory (use --data-dir if none given)");
  cmd->add_option("--name", f->name, "Human-readable name for this member");
  cmd->add_option("--initial-cluster", f->initial_cluster,
                  "Initial cluster configuration for restore bootstrap");
  cmd->add_option("--initial-cluster-token", f->initial_cluster_token,
                  "Initial cluster token for the etcd cluster during restore bootstrap");
  cmd->add_option("--initial-advertise-peer-urls", f->initial_advertise_peer_urls,
                  "List of this member's peer URLs to advertise to the rest of the cluster");
  cmd->add_flag("--skip-hash-check", f->skip_hash_check,
                "Ignore snapshot integrity hash value (required if copied from data directory)");
  cmd->add_option("--bump-revision", f->bump_revision,
                  "How much to increase the latest revision after restore");
  cmd->add_flag("--mark-compacted", f->mark_compacted,
                "Mark the latest revision after restore as the point of scheduled compaction "
                "(required if --bump-revision > 0)");
  cmd->add_option("--encrypt-key-file", f->key_file, "key of an encrypted archive");
  cmd->callback([ctx, f] { ctx->SetAction([ctx, f] { return RunRestore(*ctx, *f); }); });
}

}  // namespace etcdd::kvbackup
