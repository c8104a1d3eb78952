// Env and File: the file layer the WAL and snapshot files write through, so
// that tests can make writes fail, stop short, or lose what was not fsynced
// (LevelDB's Env and its fault_injection_test; etcd's failpoints).
//
// Only what changes the disk goes through it: writing, truncating, syncing,
// creating, renaming and removing files, and syncing directories. Reads and
// directory listings use the file system directly: a simulated power cut
// (FaultEnv, base/fault_env.h) puts the real files back the way a crash would
// leave them, so readers need no indirection.
//
// Env::Default() is the POSIX implementation: stateless, shared by the whole
// process. Every error is a Status::IOError keeping the errno and naming the
// path ("write <path>: No space left on device").
//
// Thread-safety: an Env may be used from any thread. A File is used by one
// thread at a time. Ownership: whoever is given an Env* does not own it; it
// must outlive every File it opened.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace etcdd {

// An open, writable file (always opened O_RDWR | O_CLOEXEC).
class File {
 public:
  virtual ~File() = default;

  // The path the file was opened with.
  virtual const std::string& path() const = 0;

  // Writes all of `data` at byte `offset` (pwrite(2), retrying short writes
  // and EINTR), extending the file if it ends before. Errors: IOError
  // "write <path>: ..."; some prefix of `data` may have been written.
  virtual Status WriteAt(uint64_t offset, std::string_view data) = 0;

  // Sets the file's size to `size` bytes (ftruncate(2)). Errors: IOError.
  virtual Status Truncate(uint64_t size) = 0;

  // Makes what was written durable (fdatasync(2)): after it returns, a crash
  // keeps every byte written before the call. Errors: IOError "fdatasync
  // <path>: ..."; after a failed sync nothing is known about what is durable
  // (as the Linux page cache drops the dirty pages), so callers must treat
  // the file as unusable.
  virtual Status Sync() = 0;

  // The file's size in bytes (fstat(2)). Errors: IOError.
  virtual Result<uint64_t> Size() = 0;

  // Takes a non-blocking exclusive flock(2), held until the file is closed.
  // Errors: FailedPrecondition "<path> is locked by another process" if
  // another open file description holds it, IOError.
  virtual Status Lock() = 0;
};

class Env {
 public:
  // How OpenFile treats a missing or existing file.
  enum class OpenMode {
    kExisting,   // the file must exist; kept as it is
    kCreate,     // created if missing; kept as it is otherwise
    kTruncate,   // created if missing; emptied otherwise (O_CREAT | O_TRUNC)
    kExclusive,  // must not exist (O_CREAT | O_EXCL)
  };

  virtual ~Env() = default;

  // The POSIX env: every call is the system call it names. Never null; lives
  // for the whole process and holds no state.
  static Env* Default();

  // Opens `path` for reading and writing; new files get mode 0600.
  // Errors: NotFound "<path>: no such file" for kExisting on a missing file,
  // AlreadyExists for kExclusive on an existing one, IOError.
  virtual Result<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) = 0;

  // rename(2): atomically replaces `to`. Durable once the directory is
  // synced (SyncDir). Errors: IOError.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;

  // unlink(2). Durable once the directory is synced. Errors: NotFound if
  // `path` does not exist, IOError.
  virtual Status RemoveFile(const std::string& path) = 0;

  // fsync(2) of directory `dir`, making the files created, renamed and
  // removed in it durable. Errors: IOError.
  virtual Status SyncDir(const std::string& dir) = 0;

  // Told after code that cannot write through the Env (LMDB's memory map)
  // made `path` durable with its own fsync. The POSIX env does nothing; a
  // FaultEnv keeps a copy of the file to put back on a power cut.
  virtual void NoteSyncedOutside(const std::string& path) { (void)path; }
};

// Writes `data` to "<path>.tmp" through `env`, syncs it, renames it over
// `path` and syncs the directory: a crash leaves the old or the new
// contents, never a mix (the WriteFileAtomic of base/file.h, through an Env).
// Errors: IOError; the .tmp file is removed on error when possible.
Status WriteFileAtomic(Env& env, const std::string& path, std::string_view data);

// The directory part of `path` ("." if it has none).
std::string DirName(const std::string& path);

}  // namespace etcdd
