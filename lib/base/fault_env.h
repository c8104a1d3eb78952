// FaultEnv: an Env for tests that can fail calls (EIO, ENOSPC, ...), stop a
// write short, and simulate a power cut: every byte and every directory
// change not yet made durable by an fsync is lost (LevelDB's
// FaultInjectionTestEnv, etcd's failpoints).
//
// Model. Writes reach the real files at once (readers see them, as they see
// the page cache), and FaultEnv keeps what it needs to take them back:
//   - per file, an undo record of every write and truncate since its last
//     File::Sync (which makes them all durable, as fdatasync does);
//   - per directory, the files created, renamed and removed since its last
//     SyncDir (the content of a removed or replaced file is kept);
//   - for files written outside the Env (LMDB's memory map), a copy of the
//     file as of its last NoteSyncedOutside.
// PowerCut() then undoes the directory changes (newest first), rolls every
// file back to its last sync, and puts the outside-written files back to
// their copies (a file never noted is left as it is). A crash that keeps some
// unsynced writes is modelled by Unsynced::kKeepRandomPrefix: per file, the
// writes since its last sync are kept in the order they were made up to a
// random byte, as a disk that writes back in order would leave them.
//
// Counted calls are the ones that change the disk: OpenFile (creating or
// truncating), File::WriteAt, Truncate, Sync, RenameFile, RemoveFile and
// SyncDir. After CutPowerAfter(n), the n+1-th counted call and every later
// one fails with EIO and changes nothing ("the power is off"); so do
// NoteSyncedOutside calls, which are ignored. Tests pick n from a seed to
// cut the power at a random point.
//
// Thread-safety: every method may be called from any thread (one mutex).
// Ownership: the base Env must outlive the FaultEnv; Files opened through it
// may outlive PowerCut (their later calls fail with EIO).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/env.h"

namespace etcdd {

class FaultEnv final : public Env {
 public:
  enum class Op { kOpen, kWrite, kTruncate, kSync, kRename, kRemove, kSyncDir };

  // A call to fail: the first `skip` matching calls succeed, the next
  // `count` fail with errno `err`. A failing WriteAt first writes
  // `short_bytes` bytes of its data (a short write, then the error).
  // Matching: same op, and `path_contains` is a substring of the path
  // (empty: any path).
  struct Fault {
    Op op = Op::kWrite;
    int err = 5;  // EIO
    uint64_t skip = 0;
    uint64_t count = 1;
    size_t short_bytes = 0;
    std::string path_contains;
  };

  enum class Unsynced { kDropAll, kKeepRandomPrefix };

  // `base` does the real work; nullptr means Env::Default(). Unless
  // `real_syncs`, File::Sync and SyncDir do the bookkeeping only and skip
  // the real fsync: the test process does not crash for real, so only what
  // FaultEnv records as durable matters, and hundreds of seeded runs stay
  // fast.
  explicit FaultEnv(Env* base = nullptr, bool real_syncs = false);
  ~FaultEnv() override;

  // Env. Counted calls go to `base` unless a fault or the power says no.
  Result<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  void NoteSyncedOutside(const std::string& path) override;

  // Adds a fault (see Fault). Faults are checked in the order added.
  void InjectFault(const Fault& fault);
  // Removes every fault not yet used up.
  void ClearFaults();
  // How many calls failed because of an injected fault.
  uint64_t FaultsHit() const;

  // Turns the power off after `ops` more counted calls succeed.
  void CutPowerAfter(uint64_t ops);
  // True once the power is off (CutPowerAfter reached, or PowerCut called).
  bool PowerIsOff() const;
  // Counted calls so far (including failed ones).
  uint64_t OpCount() const;

  // Turns the power off (if not already) and leaves the disk as a crash at
  // that moment would: see the model above. Call it once whatever writes
  // through this env, or to the noted outside files, has stopped. `seed`
  // drives kKeepRandomPrefix. Afterwards the FaultEnv forgets every pending
  // change and stays off; open the data again with another Env.
  // Errors: IOError from restoring the files.
  Status PowerCut(Unsynced mode = Unsynced::kDropAll, uint64_t seed = 0);

 private:
  friend class FaultFile;
  struct Node;
  struct DirOp;

  // With mu_ held: counts a call of `op` on `path` and decides its fate:
  // Ok to go ahead, or the error to return. `*short_bytes` (if not null) is
  // how much a failing write should still write.
  Status Admit(Op op, const std::string& path, size_t* short_bytes);
  // With mu_ held: records the undo of writing `len` bytes at `offset` of
  // `node`'s file (or of truncating it to `offset`, if `truncate`).
  Status RecordUndo(Node& node, uint64_t offset, uint64_t len, bool truncate);
  std::shared_ptr<Node> NodeFor(const std::string& path);
  Status UndoDirOps();
  Status UndoWrites(Unsynced mode, uint64_t seed);

  Env* const base_;
  const bool real_syncs_;
  mutable std::mutex mu_;
  std::vector<Fault> faults_;                           // guarded by mu_
  uint64_t faults_hit_ = 0;                             // guarded by mu_
  uint64_t ops_ = 0;                                    // guarded by mu_
  int64_t ops_until_off_ = -1;                          // guarded by mu_; -1: never
  bool off_ = false;                                    // guarded by mu_
  std::map<std::string, std::shared_ptr<Node>> nodes_;  // by current path; guarded by mu_
  std::vector<DirOp> dir_ops_;                          // guarded by mu_
  std::map<std::string, std::string> outside_copies_;   // guarded by mu_
};

}  // namespace etcdd
