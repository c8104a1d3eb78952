// A backup directory: its lock, its backups, pruning, and the cleanup of
// temporary files that interrupted saves left behind.
//
// Every command that changes a backup directory (save into a directory,
// prune) first takes DirectoryLock, an flock(2) on <dir>/.kvbackup.lock, so
// two runs (an overlapping cron job, an operator by hand) never interleave.
// By default a second run fails at once; with a wait it retries until the
// lock is free or the wait is over. The lock dies with its process, so a
// killed run never leaves the directory locked.
//
// Thread-safety: none; functions use only their arguments and the file system.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "backup/encryption.h"
#include "backup/manifest.h"
#include "backup/naming.h"
#include "backup/retention.h"
#include "base/env.h"
#include "base/file.h"
#include "base/status.h"

namespace etcdd::backup {

inline constexpr char kLockFileName[] = ".kvbackup.lock";

class DirectoryLock {
 public:
  // Locks `dir` (which must exist), waiting up to `wait` (zero: not at all)
  // while another process holds it. Errors: FailedPrecondition "another
  // kvbackup is working in <dir> (it holds <dir>/.kvbackup.lock); retry
  // later, or wait for it with --lock-timeout"; IOError.
  static Result<DirectoryLock> Acquire(const std::string& dir, std::chrono::milliseconds wait);

 private:
  explicit DirectoryLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// One backup file of a directory.
struct BackupEntry {
  std::string name;  // file name
  std::string path;  // dir + name
  BackupName parsed;
  uint64_t size = 0;                 // bytes
  std::optional<Manifest> manifest;  // when read and readable
  std::string manifest_error;        // why it could not be read, if it was tried
};

// The backups in `dir` (files whose whole name matches naming.h's pattern;
// temporary and other files are ignored), oldest first. With
// `read_manifests`, reads each archive's manifest (encrypted ones only with
// `key`); a manifest that cannot be read is noted in manifest_error, not
// failed. Errors: NotFound when `dir` does not exist, IOError.
Result<std::vector<BackupEntry>> ListBackups(const std::string& dir, bool read_manifests,
                                             const std::optional<EncryptionKey>& key);

// Removes from `dir` the temporary files (naming.h's TempName) of saves whose
// process no longer runs, and returns their names. Call with the directory
// locked. Errors: IOError listing the directory; a file that cannot be
// removed is skipped.
Result<std::vector<std::string>> RemoveStaleTempFiles(Env* env, const std::string& dir);

struct PruneResult {
  std::vector<RetentionDecision> decisions;  // newest first
  std::vector<std::string> removed;          // names actually removed (none on a dry run)
};

// Applies `policy` to the backups of `dir` and, unless `dry_run`, removes the
// ones it does not keep, then syncs the directory. Call with the directory
// locked. Errors: InvalidArgument for an empty policy; IOError (backups
// removed before the failure stay removed and are listed in the message).
Result<PruneResult> Prune(Env* env, const std::string& dir, const RetentionPolicy& policy,
                          bool dry_run);

}  // namespace etcdd::backup
