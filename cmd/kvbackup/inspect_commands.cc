// kvbackup status and verify: what a backup file holds (etcdctl's snapshot
// status, plus the manifest of an archive) and whether it is sound
// (backup::VerifySnapshot). Both take any backup file: a bare etcd snapshot
// (from etcdctl, etcd or etcdd), an archive, or an encrypted archive.
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "backup/archive.h"
#include "backup/inspect.h"
#include "backup/naming.h"
#include "cli/db_status.h"
#include "cli/table_writer.h"
#include "kvbackup.h"

namespace etcdd::kvbackup {

namespace {

using cli::ExitStatus;
using nlohmann::json;

struct InspectFlags {
  std::vector<std::string> args;
  std::string key_file;
  std::string temp_dir;
};

// A backup opened for reading, and the name its snapshot goes by in messages.
struct OpenedFile {
  backup::OpenedBackup backup;
  std::string name;
};

cli::ExitOr<OpenedFile> OpenFile(Context& ctx, const InspectFlags& f, const char* command) {
  if (f.args.size() != 1) {
    return ExitStatus::BadArgs(std::string(command) + " expects one argument: a backup file");
  }
  ASSIGN_OR_EXIT(auto key, LoadKeyFlag(f.key_file));
  std::string temp = f.temp_dir;
  if (temp.empty()) temp = ctx.env().count("TMPDIR") ? ctx.env().at("TMPDIR") : "/tmp";
  auto opened = backup::OpenBackup(Env::Default(), f.args[0], key, temp);
  if (!opened.ok()) return ExitStatus::FromStatus(opened.status());
  const bool bare = opened->format == backup::BackupFormat::kBareSnapshot;
  std::string name = bare ? f.args[0] : f.args[0] + ":" + backup::kSnapshotEntry;
  return OpenedFile{std::move(opened).value(), std::move(name)};
}

cli::DbStatus ToDbStatus(const backup::SnapshotStatusInfo& s) {
  return {s.hash, s.revision, s.total_key, s.total_size};
}

std::string Optional(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "unknown"; }

// The manifest as the rows of a two-column table.
std::string ManifestTable(const backup::Manifest& m) {
  std::string members;
  for (const auto& member : m.members) {
    members += (members.empty() ? "" : " ") + member.name + "=" + backup::IdHex(member.id) +
               (member.is_learner ? "(learner)" : "");
  }
  cli::TableWriter t;
  t.SetHeader({"manifest", "value"});
  t.Append({"created", backup::FormatRfc3339(m.created)});
  t.Append({"cluster id", backup::IdHex(m.cluster_id)});
  t.Append({"source member", backup::IdHex(m.source_member_id)});
  t.Append({"members", members});
  t.Append({"revision", std::to_string(m.revision)});
  t.Append({"raft index", std::to_string(m.raft_index)});
  t.Append({"raft term", std::to_string(m.raft_term)});
  t.Append({"compact revision", Optional(m.compact_revision)});
  t.Append({"key count", Optional(m.key_count)});
  t.Append({"hash kv", m.hash_kv ? std::to_string(*m.hash_kv) : "unknown"});
  t.Append({"snapshot size", std::to_string(m.snapshot_size)});
  t.Append({"sha256", m.sha256});
  t.Append({"written by", "kvbackup " + m.etcdd_version});
  t.SetAlignment(cli::TableWriter::Align::kLeft);
  return t.Render();
}

void PrintStatus(const cli::DbStatus& s, const std::optional<backup::Manifest>& m,
                 OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kJson && m) {
    std::string text = cli::DbStatusJson(s);
    text.pop_back();  // the closing brace
    out << text << ",\"manifest\":" << json::parse(backup::ManifestToJson(*m)).dump() << "}\n";
    return;
  }
  const char* name = format == OutputFormat::kJson    ? "json"
                     : format == OutputFormat::kTable ? "table"
                                                      : "simple";
  (void)cli::PrintDbStatus(s, name, out);
  if (format == OutputFormat::kTable && m) out << ManifestTable(*m);
}

ExitStatus RunStatus(Context& ctx, const InspectFlags& f) {
  ASSIGN_OR_EXIT(OutputFormat format, ctx.Format());
  ASSIGN_OR_EXIT(OpenedFile file, OpenFile(ctx, f, "status"));
  auto status = backup::SnapshotStatus(file.backup.snapshot_path, file.name);
  if (!status.ok()) return ExitStatus::FromStatus(status.status());
  PrintStatus(ToDbStatus(*status), file.backup.manifest, format, ctx.io().out);
  return ExitStatus::Ok();
}

json ReportJson(const backup::VerifyReport& r) {
  json checks = json::array();
  for (const auto& c : r.checks) {
    checks.push_back(
        {{"name", c.name}, {"outcome", backup::OutcomeName(c.outcome)}, {"detail", c.detail}});
  }
  json j = {{"file", r.file},
            {"ok", r.ok()},
            {"checks", checks},
            {"revision", r.revision},
            {"compact_revision", r.compact_revision},
            {"key_count", r.live_keys},
            {"status", json::parse(cli::DbStatusJson(ToDbStatus(r.status)))}};
  j["hash_kv"] = r.hash_kv ? json(*r.hash_kv) : json(nullptr);
  return j;
}

void PrintReport(const backup::VerifyReport& r, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kJson) {
    out << ReportJson(r).dump() << "\n";
    return;
  }
  if (format == OutputFormat::kTable) {
    cli::TableWriter t;
    t.SetHeader({"check", "result", "detail"});
    for (const auto& c : r.checks) t.Append({c.name, backup::OutcomeName(c.outcome), c.detail});
    t.SetAlignment(cli::TableWriter::Align::kLeft);
    out << t.Render();
    return;
  }
  for (const auto& c : r.checks) {
    out << c.name << ": " << backup::OutcomeName(c.outcome) << ": " << c.detail << "\n";
  }
  out << r.file << ": " << (r.ok() ? "ok" : "FAILED") << "\n";
}

ExitStatus RunVerify(Context& ctx, const InspectFlags& f) {
  ASSIGN_OR_EXIT(OutputFormat format, ctx.Format());
  ASSIGN_OR_EXIT(OpenedFile file, OpenFile(ctx, f, "verify"));
  auto report = backup::VerifySnapshot(file.backup.snapshot_path, file.backup.manifest, file.name);
  if (!report.ok()) return ExitStatus::FromStatus(report.status());
  PrintReport(*report, format, ctx.io().out);
  return ExitStatus::FromStatus(report->FirstFailure());
}

void AddInspectFlags(CLI::App* cmd, InspectFlags* f) {
  cmd->add_option("file", f->args, "<backup file>");
  cmd->add_option("--encrypt-key-file", f->key_file,
                  "the AES-256 key of an encrypted archive (32 bytes or 64 hex digits)");
  cmd->add_option("--temp-dir", f->temp_dir,
                  "where to extract an archive's snapshot (default: $TMPDIR, else /tmp)");
}

}  // namespace

void AddStatusCommand(CLI::App* app, Context* ctx) {
  auto f = std::make_shared<InspectFlags>();
  auto* cmd = app->add_subcommand(
      "status", "Prints etcdctl's snapshot status of a backup file (and an archive's manifest)");
  AddInspectFlags(cmd, f.get());
  cmd->callback([ctx, f] { ctx->SetAction([ctx, f] { return RunStatus(*ctx, *f); }); });
}

void AddVerifyCommand(CLI::App* app, Context* ctx) {
  auto f = std::make_shared<InspectFlags>();
  auto* cmd = app->add_subcommand(
      "verify", "Checks a backup file: digest, bbolt structure, revisions, HashKV, manifest");
  AddInspectFlags(cmd, f.get());
  cmd->callback([ctx, f] { ctx->SetAction([ctx, f] { return RunVerify(*ctx, *f); }); });
}

}  // namespace etcdd::kvbackup
