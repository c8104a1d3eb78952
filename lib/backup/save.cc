#include "backup/save.h"

#include <sys/stat.h>

#include <algorithm>

#include "backup/archive.h"
#include "backup/inspect.h"
#include "backup/naming.h"
#include "backup/output_file.h"
#include "backup/snapshot_digest.h"

namespace etcdd::backup {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Where the backup goes: a directory and the file name in it.
struct Target {
  std::string dir;
  std::string name;
  bool is_dir = false;
};

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Result<Target> ResolveTarget(const std::string& path, const ClusterFacts& facts, bool raw,
                             bool encrypted, Seconds created) {
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    BackupKind kind =
        raw ? BackupKind::kRaw : (encrypted ? BackupKind::kEncryptedArchive : BackupKind::kArchive);
    return Target{path, FormatBackupName({facts.cluster_id, created, facts.revision, kind}), true};
  }
  std::string name = BaseName(path);
  if (name.empty()) return Status::InvalidArgument("save: " + path + " is not a file name");
  return Target{DirName(path), name, false};
}

std::vector<MemberInfo> Members(const etcdserverpb::MemberListResponse& r) {
  std::vector<MemberInfo> out;
  for (const auto& m : r.members()) {
    out.push_back({m.name(), m.id(), {m.peerurls().begin(), m.peerurls().end()}, m.islearner()});
  }
  return out;
}

// The number of keys at `revision`, through a count-only range over the
// whole key space; nullopt when the server does not answer.
std::optional<int64_t> KeyCount(client::Client& client, int64_t revision) {
  etcdserverpb::RangeRequest req;
  req.set_key(std::string(1, '\0'));
  req.set_range_end(std::string(1, '\0'));
  req.set_count_only(true);
  req.set_revision(revision);
  auto r = client.Range(req);
  if (!r.ok()) return std::nullopt;
  return r->count();
}

// Step 2. The member list is required; the hash and key count are recorded
// when the server gives them (they describe, not protect, the backup).
Result<ClusterFacts> GatherFacts(client::Client& client, const SnapshotSource& source) {
  ClusterFacts f;
  const auto& h = source.status.header();
  f.cluster_id = h.cluster_id();
  f.source_member_id = h.member_id();
  f.revision = h.revision();
  f.raft_index = source.status.raftindex();
  f.raft_term = source.status.raftterm();
  ASSIGN_OR_RETURN(auto members, client.MemberList());
  f.members = Members(members);
  auto hash = client.HashKV(source.endpoint, f.revision);
  if (hash.ok()) {
    f.hash_kv = hash->hash();
    f.compact_revision = hash->compact_revision();
  }
  f.key_count = KeyCount(client, f.revision);
  return f;
}

// The facts that describe the snapshot itself are taken at the revision the
// file holds (the last revision of its `key` bucket), which writes during
// the save may have moved past the Status answer of step 1: the revision,
// the HashKV and compact revision at it, the key count. When the server no
// longer answers for that revision, the hash and count stay unknown.
Status DescribeFile(client::Client& client, const std::string& endpoint,
                    const std::string& file, ClusterFacts* f) {
  ASSIGN_OR_RETURN(SnapshotStatusInfo st, SnapshotStatus(file));
  if (st.revision == 0 || st.revision == f->revision) return Status::Ok();
  f->revision = st.revision;
  f->hash_kv.reset();
  f->compact_revision.reset();
  auto hash = client.HashKV(endpoint, f->revision);
  if (hash.ok()) {
    f->hash_kv = hash->hash();
    f->compact_revision = hash->compact_revision();
  }
  f->key_count = KeyCount(client, f->revision);
  return Status::Ok();
}

// What is left of the save's time budget; zero when unbounded. Errors:
// DeadlineExceeded when it is spent.
Result<milliseconds> Remaining(std::optional<Clock::time_point> deadline) {
  if (!deadline) return milliseconds(0);
  auto left = std::chrono::duration_cast<milliseconds>(*deadline - Clock::now());
  if (left.count() <= 0) return Status::DeadlineExceeded("context deadline exceeded");
  return left;
}

// Step 3: the snapshot stream into `out`, trailer checked.
Result<SnapshotFileFacts> Download(client::Client& client, const std::string& endpoint,
                                   milliseconds timeout, const SaveOptions& options,
                                   OutputFile* out) {
  TrailerCheck check;
  uint64_t total = 0;
  Status st = client.Snapshot(endpoint, timeout, [&](const etcdserverpb::SnapshotResponse& r) {
    if (total == 0 && !r.blob().empty())
      total = r.blob().size() + r.remaining_bytes() + kSha256Size;
    check.Update(r.blob());
    RETURN_IF_ERROR(out->Append(r.blob()));
    if (options.progress) options.progress(check.bytes(), std::max(total, check.bytes()));
    return Status::Ok();
  });
  RETURN_IF_ERROR(st);
  RETURN_IF_ERROR(check.Finish().Annotate("snapshot from " + endpoint));
  return SnapshotFileFacts{check.bytes(), check.whole_sha256(), std::nullopt, std::nullopt};
}

// Step 3 into dir/name, committed only when the trailer checks out.
Result<SnapshotFileFacts> DownloadFile(client::Client& client, const std::string& endpoint,
                                       milliseconds timeout, const SaveOptions& options,
                                       const std::string& dir, const std::string& name,
                                       std::string* path) {
  ASSIGN_OR_RETURN(OutputFile out, OutputFile::Create(options.env, dir, name));
  ASSIGN_OR_RETURN(SnapshotFileFacts file, Download(client, endpoint, timeout, options, &out));
  ASSIGN_OR_RETURN(*path, out.Commit());
  return file;
}

// Steps 3 and 4 once the target is known.
Status WriteBackup(client::Client& client, const SnapshotSource& source, const Target& target,
                   const SaveOptions& options, std::optional<Clock::time_point> deadline,
                   SaveResult* result, ClusterFacts facts, Seconds created) {
  Env* env = options.env;
  ASSIGN_OR_RETURN(milliseconds left, Remaining(deadline));
  // A raw save streams straight into the backup's temporary file; an archive
  // needs the snapshot's size and digest first, so it goes to a ".part" file.
  if (options.raw) {
    ASSIGN_OR_RETURN(OutputFile out, OutputFile::Create(env, target.dir, target.name));
    ASSIGN_OR_RETURN(SnapshotFileFacts file, Download(client, source.endpoint, left, options, &out));
    RETURN_IF_ERROR(DescribeFile(client, source.endpoint, out.temp_path(), &facts));
    result->manifest = BuildManifest(facts, file, options.etcdd_version, created);
    result->size = file.size;
    ASSIGN_OR_RETURN(result->path, out.Commit());
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(OutputFile download, OutputFile::Create(env, target.dir, target.name + ".part"));
  ASSIGN_OR_RETURN(SnapshotFileFacts file,
                   Download(client, source.endpoint, left, options, &download));
  RETURN_IF_ERROR(DescribeFile(client, source.endpoint, download.temp_path(), &facts));
  result->manifest = BuildManifest(facts, file, options.etcdd_version, created);
  ASSIGN_OR_RETURN(OutputFile out, OutputFile::Create(env, target.dir, target.name));
  RETURN_IF_ERROR(WriteArchive(result->manifest, download.temp_path(), options.key,
                               [&out](std::string_view b) { return out.Append(b); }));
  result->size = out.size();
  ASSIGN_OR_RETURN(result->path, out.Commit());
  return Status::Ok();
}

Status CheckOptions(const SaveOptions& o) {
  if (o.raw && o.key) {
    return Status::InvalidArgument(
        "--encrypt-key-file encrypts archives; it cannot be used with --raw");
  }
  if (o.target.empty())
    return Status::InvalidArgument("save needs a file or directory to write to");
  return Status::Ok();
}

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Result<SnapshotSource> ChooseSource(client::Client& client,
                                    const std::vector<std::string>& endpoints, SourceRole role) {
  if (endpoints.empty()) return Status::InvalidArgument("no endpoints given");
  Status last;
  for (const auto& ep : endpoints) {
    auto st = client.Status(ep);
    if (!st.ok()) {
      if (endpoints.size() == 1) return st.status();
      last = st.status().Annotate(ep);
      continue;
    }
    const bool leader = st->header().member_id() == st->leader();
    if (endpoints.size() == 1 || leader == (role == SourceRole::kLeader)) {
      return SnapshotSource{ep, std::move(st).value()};
    }
  }
  std::string list;
  for (const auto& ep : endpoints) list += (list.empty() ? "" : ",") + ep;
  std::string want = role == SourceRole::kLeader ? "the leader" : "a follower";
  std::string why = last.ok() ? "" : " (last error: " + last.message() + ")";
  return Status::NotFound("none of the endpoints [" + list + "] is " + want + why);
}

Result<SnapshotFileFacts> SaveSnapshotFile(client::Client& client, const std::string& endpoint,
                                           const std::string& path, const SaveOptions& options) {
  const std::string name = BaseName(path);
  if (name.empty()) return Status::InvalidArgument("save: " + path + " is not a file name");
  std::string written;
  return DownloadFile(client, endpoint, options.timeout, options, DirName(path), name, &written);
}

Result<SaveResult> SaveBackup(client::Client& client, const std::vector<std::string>& endpoints,
                              const SaveOptions& options) {
  RETURN_IF_ERROR(CheckOptions(options));
  if (options.prune && !IsDirectory(options.target)) {
    return Status::InvalidArgument("--prune needs a directory to save into, not " + options.target);
  }
  std::optional<Clock::time_point> deadline;
  if (options.timeout.count() > 0) deadline = Clock::now() + options.timeout;
  const Seconds created =
      std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  SaveResult result;
  ASSIGN_OR_RETURN(SnapshotSource source, ChooseSource(client, endpoints, options.from));
  result.endpoint = source.endpoint;
  ASSIGN_OR_RETURN(ClusterFacts facts, GatherFacts(client, source));
  ASSIGN_OR_RETURN(Target target, ResolveTarget(options.target, facts, options.raw,
                                                options.key.has_value(), created));
  std::optional<DirectoryLock> lock;
  if (target.is_dir) {
    ASSIGN_OR_RETURN(lock, DirectoryLock::Acquire(target.dir, options.lock_timeout));
    ASSIGN_OR_RETURN(result.removed_temp_files, RemoveStaleTempFiles(options.env, target.dir));
  }
  RETURN_IF_ERROR(WriteBackup(client, source, target, options, deadline, &result, facts, created));
  if (!target.is_dir) result.path = options.target;  // as the operator spelled it
  if (options.prune) {
    ASSIGN_OR_RETURN(result.prune, Prune(options.env, target.dir, *options.prune, false));
  }
  return result;
}

}  // namespace etcdd::backup
