// kvbackup save: backup::SaveBackup with the command line's options, a
// progress bar on a terminal, and the result in the -w format.
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "backup/naming.h"
#include "backup/save.h"
#include "cli/progress.h"
#include "cli/table_writer.h"
#include "kvbackup.h"

#ifndef ETCDD_VERSION
#define ETCDD_VERSION "0.0.0"
#endif

namespace etcdd::kvbackup {

namespace {

using cli::ExitStatus;
using nlohmann::json;

struct SaveFlags {
  std::vector<std::string> args;
  bool raw = false;
  std::string key_file;
  std::string timeout = "0";
  std::string from = "leader";
  std::string lock_timeout = "0";
  bool prune = false;
  RetentionFlags keep;
};

json PruneJson(const backup::PruneResult& p) {
  json keep = json::array(), remove = json::array();
  for (const auto& d : p.decisions) {
    if (d.keep) {
      keep.push_back({{"name", d.backup.name}, {"reasons", d.reasons}});
    } else {
      remove.push_back(d.backup.name);
    }
  }
  return {{"keep", keep}, {"remove", remove}};
}

void PrintSimple(const backup::SaveResult& r, std::ostream& out) {
  out << "Snapshot saved at " << r.path << "\n";
  if (r.prune && !r.prune->removed.empty()) {
    out << "Pruned";
    for (const auto& name : r.prune->removed) out << " " << name;
    out << "\n";
  }
}

void PrintTable(const backup::SaveResult& r, std::ostream& out) {
  cli::TableWriter t;
  t.SetHeader({"path", "size", "revision", "cluster id", "endpoint", "pruned"});
  size_t pruned = r.prune ? r.prune->removed.size() : 0;
  t.Append({r.path, cli::FormatBytes(r.size), std::to_string(r.manifest.revision),
            backup::IdHex(r.manifest.cluster_id), r.endpoint, std::to_string(pruned)});
  out << t.Render();
}

void PrintJson(const backup::SaveResult& r, std::ostream& out) {
  json j = {{"path", r.path},
            {"size", r.size},
            {"endpoint", r.endpoint},
            {"manifest", json::parse(backup::ManifestToJson(r.manifest))},
            {"removed_temp_files", r.removed_temp_files}};
  if (r.prune) j["prune"] = PruneJson(*r.prune);
  out << j.dump() << "\n";
}

cli::ExitOr<backup::SaveOptions> MakeOptions(const SaveFlags& f) {
  if (f.args.size() != 1)
    return ExitStatus::BadArgs("save expects one argument: a file or directory");
  backup::SaveOptions o;
  o.target = f.args[0];
  o.raw = f.raw;
  ASSIGN_OR_EXIT(o.key, LoadKeyFlag(f.key_file));
  if (o.raw && o.key) return ExitStatus::BadArgs("--encrypt-key-file cannot be used with --raw");
  ASSIGN_OR_EXIT(o.timeout, ParseDurationFlag("timeout", f.timeout));
  ASSIGN_OR_EXIT(o.lock_timeout, ParseDurationFlag("lock-timeout", f.lock_timeout));
  if (f.from != "leader" && f.from != "follower") {
    return ExitStatus::BadArgs("--from must be leader or follower, not " + f.from);
  }
  o.from = f.from == "leader" ? backup::SourceRole::kLeader : backup::SourceRole::kFollower;
  RETURN_IF_EXIT(CheckRetentionFlags(f.keep));
  if (f.prune) {
    if (f.keep.Policy().empty())
      return ExitStatus::BadArgs("--prune needs at least one --keep-* flag");
    o.prune = f.keep.Policy();
  } else if (!f.keep.Policy().empty()) {
    return ExitStatus::BadArgs("--keep-* flags take effect only with --prune");
  }
  o.etcdd_version = ETCDD_VERSION;
  return o;
}

ExitStatus RunSave(Context& ctx, const SaveFlags& flags) {
  ASSIGN_OR_EXIT(OutputFormat format, ctx.Format());
  ASSIGN_OR_EXIT(backup::SaveOptions options, MakeOptions(flags));
  ASSIGN_OR_EXIT(auto client, ctx.Connect());
  cli::ProgressBar bar(ctx.io().err, ctx.io().err_is_terminal);
  options.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  auto result = backup::SaveBackup(*client, client->endpoints(), options);
  bar.Finish();
  if (!result.ok()) return ExitStatus::FromStatus(result.status());
  switch (format) {
    case OutputFormat::kSimple:
      PrintSimple(*result, ctx.io().out);
      break;
    case OutputFormat::kJson:
      PrintJson(*result, ctx.io().out);
      break;
    case OutputFormat::kTable:
      PrintTable(*result, ctx.io().out);
      break;
  }
  return ExitStatus::Ok();
}

}  // namespace

void AddSaveCommand(CLI::App* app, Context* ctx) {
  auto f = std::make_shared<SaveFlags>();
  auto* cmd = app->add_subcommand(
      "save", "Saves a snapshot of the cluster to a file, or into a backup directory");
  cmd->add_option("path", f->args, "<file or directory>");
  cmd->add_flag("--raw", f->raw, "write the bare etcd snapshot file instead of an archive");
  cmd->add_option(
      "--encrypt-key-file", f->key_file,
      "encrypt the archive with the AES-256 key in this file (32 bytes or 64 hex digits)");
  cmd->add_option("--timeout", f->timeout, "bound on the whole save, e.g. 10m (default: none)");
  cmd->add_option("--from", f->from,
                  "with several endpoints, save from the leader or a follower (default leader)");
  cmd->add_option("--lock-timeout", f->lock_timeout,
                  "wait this long for another kvbackup's directory lock (default: fail at once)");
  cmd->add_flag("--prune", f->prune, "after saving, prune the directory with the --keep-* flags");
  AddRetentionFlags(cmd, &f->keep);
  cmd->callback([ctx, f] { ctx->SetAction([ctx, f] { return RunSave(*ctx, *f); }); });
}

}  // namespace etcdd::kvbackup
