// File helpers shared by the WAL, snapshots and the backend: RAII file
// descriptors, durable writes, directory sync and the data-dir lock.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace etcdd {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// Writes all of `data` at the fd's offset, retrying short writes and EINTR.
// Errors: IOError naming `path`.
Status WriteAll(int fd, std::string_view data, const std::string& path);

// fsync(2) of a directory, so that created, renamed or removed entries in it
// are durable. Errors: IOError.
Status SyncDir(const std::string& dir);

// Reads a whole file. Errors: NotFound if it does not exist, IOError.
Result<std::string> ReadFile(const std::string& path);

// Replaces `path` with `data` durably and atomically: writes `path.tmp`,
// fsyncs it, renames it over `path`, fsyncs the directory. A crash leaves the
// old or the new contents, never a mix. Errors: IOError. The
// WriteFileAtomic(Env&, ...) of base/env.h through the POSIX Env::Default().
Status WriteFileAtomic(const std::string& path, std::string_view data);

// Creates `dir` and its parents with mode 0700 if missing. Errors: IOError,
// FailedPrecondition if `dir` exists and is not a directory.
Status CreateDirs(const std::string& dir);

// True if `path` exists (any type).
bool PathExists(const std::string& path);

// An exclusive advisory lock (flock) on `dir/lock`, held for the life of the
// object, so two daemons never share a data dir.
class DirLock {
 public:
  // Errors: FailedPrecondition "data dir <dir> is in use by another process",
  // IOError.
  static Result<DirLock> Acquire(const std::string& dir);

 private:
  explicit DirLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace etcdd
