#include "backup/catalog.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "backup/archive.h"
#include "backup/output_file.h"

namespace etcdd::backup {

namespace {

constexpr std::chrono::milliseconds kLockPoll{50};

// The names of the regular files in `dir`.
Result<std::vector<std::string>> FileNames(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return Status::NotFound(dir + ": no such directory");
    return Status::IOError("opendir " + dir, errno);
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    struct stat st {};
    if (stat(JoinPath(dir, name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool ProcessRuns(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

Result<DirectoryLock> DirectoryLock::Acquire(const std::string& dir,
                                             std::chrono::milliseconds wait) {
  std::string path = JoinPath(dir, kLockFileName);
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return Status::IOError("open " + path, errno);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return DirectoryLock(std::move(fd));
    if (errno != EWOULDBLOCK && errno != EINTR) return Status::IOError("flock " + path, errno);
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::FailedPrecondition("another kvbackup is working in " + dir + " (it holds " +
                                        path +
                                        "); retry later, or wait for it with --lock-timeout");
    }
    std::this_thread::sleep_for(kLockPoll);
  }
}

Result<std::vector<BackupEntry>> ListBackups(const std::string& dir, bool read_manifests,
                                             const std::optional<EncryptionKey>& key) {
  ASSIGN_OR_RETURN(auto names, FileNames(dir));
  std::vector<BackupEntry> out;
  for (const auto& name : names) {
    auto parsed = ParseBackupName(name);
    if (!parsed) continue;
    BackupEntry e{name, JoinPath(dir, name), *parsed, 0, std::nullopt, ""};
    struct stat st {};
    if (stat(e.path.c_str(), &st) != 0) continue;  // removed meanwhile
    e.size = static_cast<uint64_t>(st.st_size);
    if (read_manifests && parsed->kind != BackupKind::kRaw) {
      auto m = ReadManifest(e.path, key);
      if (m.ok()) {
        e.manifest = std::move(m).value();
      } else {
        e.manifest_error = m.status().message();
      }
    }
    out.push_back(std::move(e));
  }
  std::stable_sort(out.begin(), out.end(), [](const BackupEntry& a, const BackupEntry& b) {
    return a.parsed.time < b.parsed.time;
  });
  return out;
}

Result<std::vector<std::string>> RemoveStaleTempFiles(Env* env, const std::string& dir) {
  ASSIGN_OR_RETURN(auto names, FileNames(dir));
  std::vector<std::string> removed;
  for (const auto& name : names) {
    auto pid = ParseTempName(name);
    if (!pid || *pid == getpid() || ProcessRuns(*pid)) continue;
    // Only the temporary files of our own backup names (an archive's
    // download is "<name>.part").
    std::string inner = name.substr(1, name.rfind(".tmp-") - 1);
    if (inner.size() > 5 && inner.compare(inner.size() - 5, 5, ".part") == 0)
      inner.resize(inner.size() - 5);
    if (!ParseBackupName(inner)) continue;
    if (env->RemoveFile(JoinPath(dir, name)).ok()) removed.push_back(name);
  }
  if (!removed.empty()) RETURN_IF_ERROR(env->SyncDir(dir));
  return removed;
}

Result<PruneResult> Prune(Env* env, const std::string& dir, const RetentionPolicy& policy,
                          bool dry_run) {
  if (policy.empty()) {
    return Status::InvalidArgument(
        "no retention policy given (--keep-last, --keep-hourly, --keep-daily, --keep-weekly or "
        "--keep-monthly); nothing would be kept, so nothing is removed");
  }
  ASSIGN_OR_RETURN(auto entries, ListBackups(dir, false, std::nullopt));
  std::vector<BackupRef> refs;
  for (const auto& e : entries) refs.push_back({e.name, e.parsed.time});
  PruneResult result;
  result.decisions = ApplyRetention(std::move(refs), policy);
  if (dry_run) return result;
  for (const auto& d : result.decisions) {
    if (d.keep) continue;
    Status st = env->RemoveFile(JoinPath(dir, d.backup.name));
    if (!st.ok() && st.code() != Code::kNotFound) {
      std::string done;
      for (const auto& r : result.removed) done += (done.empty() ? "" : ", ") + r;
      return st.Annotate("prune (removed so far: " + (done.empty() ? "none" : done) + ")");
    }
    result.removed.push_back(d.backup.name);
  }
  if (!result.removed.empty()) RETURN_IF_ERROR(env->SyncDir(dir));
  return result;
}

}  // namespace etcdd::backup
