// kvbackup list and prune: the backups of a directory, and retention.
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "backup/catalog.h"
#include "cli/progress.h"
#include "cli/table_writer.h"
#include "kvbackup.h"

namespace etcdd::kvbackup {

namespace {

using cli::ExitStatus;
using nlohmann::json;

struct ListFlags {
  std::vector<std::string> args;
  std::string key_file;
};

struct PruneFlags {
  std::vector<std::string> args;
  RetentionFlags keep;
  bool dry_run = false;
  std::string lock_timeout = "0";
};

const char* KindName(backup::BackupKind k) {
  switch (k) {
    case backup::BackupKind::kArchive:
      return "archive";
    case backup::BackupKind::kEncryptedArchive:
      return "encrypted";
    case backup::BackupKind::kRaw:
      return "raw";
  }
  return "";
}

json EntryJson(const backup::BackupEntry& e) {
  json j = {{"name", e.name},
            {"path", e.path},
            {"time", backup::FormatRfc3339(e.parsed.time)},
            {"size", e.size},
            {"revision", e.parsed.revision},
            {"cluster_id", backup::IdHex(e.parsed.cluster_id)},
            {"kind", KindName(e.parsed.kind)}};
  if (e.manifest) j["manifest"] = json::parse(backup::ManifestToJson(*e.manifest));
  if (!e.manifest_error.empty()) j["error"] = e.manifest_error;
  return j;
}

void PrintList(const std::vector<backup::BackupEntry>& entries, OutputFormat format,
               std::ostream& out) {
  if (format == OutputFormat::kJson) {
    json list = json::array();
    for (const auto& e : entries) list.push_back(EntryJson(e));
    out << json{{"backups", list}}.dump() << "\n";
    return;
  }
  cli::TableWriter t;
  t.SetHeader({"name", "time", "size", "revision", "cluster id", "kind"});
  for (const auto& e : entries) {
    std::vector<std::string> row = {e.name,
                                    backup::FormatRfc3339(e.parsed.time),
                                    cli::FormatBytes(e.size),
                                    std::to_string(e.parsed.revision),
                                    backup::IdHex(e.parsed.cluster_id),
                                    KindName(e.parsed.kind)};
    if (format == OutputFormat::kTable) {
      t.Append(row);
      continue;
    }
    std::string line;
    for (const auto& cell : row) line += (line.empty() ? "" : ", ") + cell;
    out << line << (e.manifest_error.empty() ? "" : ", error: " + e.manifest_error) << "\n";
  }
  if (format == OutputFormat::kTable) out << t.Render();
}

ExitStatus RunList(Context& ctx, const ListFlags& f) {
  if (f.args.size() != 1) return ExitStatus::BadArgs("list expects one argument: a directory");
  ASSIGN_OR_EXIT(OutputFormat format, ctx.Format());
  ASSIGN_OR_EXIT(auto key, LoadKeyFlag(f.key_file));
  // Manifests are read for json, where they are printed.
  auto entries = backup::ListBackups(f.args[0], format == OutputFormat::kJson, key);
  if (!entries.ok()) return ExitStatus::FromStatus(entries.status());
  PrintList(*entries, format, ctx.io().out);
  return ExitStatus::Ok();
}

void PrintPrune(const backup::PruneResult& r, bool dry_run, OutputFormat format,
                std::ostream& out) {
  if (format == OutputFormat::kJson) {
    json keep = json::array(), remove = json::array();
    for (const auto& d : r.decisions) {
      if (d.keep) keep.push_back({{"name", d.backup.name}, {"reasons", d.reasons}});
      if (!d.keep) remove.push_back(d.backup.name);
    }
    out << json{{"dry_run", dry_run}, {"keep", keep}, {"remove", remove}, {"removed", r.removed}}
               .dump()
        << "\n";
    return;
  }
  cli::TableWriter t;
  t.SetHeader({"name", "action", "reasons"});
  const char* remove = dry_run ? "would remove" : "removed";
  for (const auto& d : r.decisions) {
    std::string reasons;
    for (const auto& why : d.reasons) reasons += (reasons.empty() ? "" : ",") + why;
    if (format == OutputFormat::kTable) {
      t.Append({d.backup.name, d.keep ? "keep" : remove, reasons});
    } else {
      out << (d.keep ? "keep" : remove) << " " << d.backup.name
          << (reasons.empty() ? "" : " (" + reasons + ")") << "\n";
    }
  }
  if (format == OutputFormat::kTable) out << t.Render();
}

ExitStatus RunPrune(Context& ctx, const PruneFlags& f) {
  if (f.args.size() != 1) return ExitStatus::BadArgs("prune expects one argument: a directory");
  ASSIGN_OR_EXIT(OutputFormat format, ctx.Format());
  RETURN_IF_EXIT(CheckRetentionFlags(f.keep));
  if (f.keep.Policy().empty()) return ExitStatus::BadArgs("prune needs at least one --keep-* flag");
  ASSIGN_OR_EXIT(auto wait, ParseDurationFlag("lock-timeout", f.lock_timeout));
  const std::string& dir = f.args[0];
  auto lock = backup::DirectoryLock::Acquire(dir, wait);
  if (!lock.ok()) return ExitStatus::FromStatus(lock.status());
  auto result = backup::Prune(Env::Default(), dir, f.keep.Policy(), f.dry_run);
  if (!result.ok()) return ExitStatus::FromStatus(result.status());
  PrintPrune(*result, f.dry_run, format, ctx.io().out);
  return ExitStatus::Ok();
}

}  // namespace

void AddListCommand(CLI::App* app, Context* ctx) {
  auto f = std::make_shared<ListFlags>();
  auto* cmd = app->add_subcommand("list", "Lists the backups in a directory, oldest first");
  cmd->add_option("dir", f->args, "<directory>");
  cmd->add_option("--encrypt-key-file", f->key_file,
                  "key to read the manifests of encrypted archives (-w json)");
  cmd->callback([ctx, f] { ctx->SetAction([ctx, f] { return RunList(*ctx, *f); }); });
}

void AddPruneCommand(CLI::App* app, Context* ctx) {
  auto f = std::make_shared<PruneFlags>();
  auto* cmd = app->add_subcommand(
      "prune", "Removes the backups of a directory that no --keep-* policy keeps");
  cmd->add_option("dir", f->args, "<directory>");
  AddRetentionFlags(cmd, &f->keep);
  cmd->add_flag("--dry-run", f->dry_run, "only print what would be removed");
  cmd->add_option("--lock-timeout", f->lock_timeout,
                  "wait this long for another kvbackup's directory lock (default: fail at once)");
  cmd->callback([ctx, f] { ctx->SetAction([ctx, f] { return RunPrune(*ctx, *f); }); });
}

}  // namespace etcdd::kvbackup
