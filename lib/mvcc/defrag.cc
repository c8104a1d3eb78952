// Store::Defragment: a compacting copy of the environment made while reads
// and writes go on, then swapped in (LAYOUT.md, "Defragmentation").
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <utility>

#include "base/file.h"
#include "mvcc/batch_txn.h"
#include "mvcc/store_state.h"

namespace etcdd::mvcc {

namespace {

using internal::DefragLog;
using internal::LmdbWrite;
using internal::StoreState;
using Clock = std::chrono::steady_clock;

constexpr const char* kCopyPrefix = "defrag-";
// Writers wait while at most this many recorded writes are replayed onto the
// copy; catching up goes on in rounds until the backlog is that small.
constexpr size_t kPauseWrites = 2048;
// Rounds of catching up before the swap replays whatever is left: writes
// arriving faster than they replay would otherwise keep the defrag going.
constexpr int kMaxRounds = 32;

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Removes the copy directories in `dir` (a defrag's leftovers: an unfinished
// copy, or the lock file of an environment swapped out) but `keep`.
void RemoveCopies(const std::string& dir, const std::string& keep) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kCopyPrefix, 0) != 0 || entry.path().string() == keep) continue;
    fs::remove_all(entry.path(), ec);
  }
}

std::vector<LmdbWrite> Take(DefragLog& log) {
  std::lock_guard lock(log.mu);
  return std::exchange(log.writes, {});
}

// Applies `writes` in order to the copy, committing every kBatchBytes.
Status Replay(StoreState* copy, const std::vector<LmdbWrite>& writes) {
  if (writes.empty()) return Status::Ok();
  internal::BatchTxn w(copy);
  RETURN_IF_ERROR(w.Begin());
  for (const LmdbWrite& op : writes) {
    MDB_val k = lmdb::Val(op.key);
    int rc;
    if (op.value) {
      MDB_val v = lmdb::Val(*op.value);
      rc = mdb_put(w.get(), op.dbi, &k, &v, 0);
    } else {
      rc = mdb_del(w.get(), op.dbi, &k, nullptr);
      if (rc == MDB_NOTFOUND) rc = MDB_SUCCESS;  // a write already in the copy
    }
    if (rc != MDB_SUCCESS) return w.Rc(rc, op.value ? "mdb_put(copy)" : "mdb_del(copy)");
    RETURN_IF_ERROR(w.Wrote(op.key.size() + (op.value ? op.value->size() : 0)));
  }
  return w.Commit();
}

// Stops recording when Defragment returns, whatever the outcome.
class Recording {
 public:
  explicit Recording(StoreState* s) : s_(s), log_(std::make_shared<DefragLog>()) {
    std::lock_guard gate(s_->write_gate);
    s_->defrag_log = log_;
  }
  ~Recording() { Stop(); }
  Recording(const Recording&) = delete;
  Recording& operator=(const Recording&) = delete;
  DefragLog& log() { return *log_; }
  // Caller holds write_gate or nothing else writes.
  void StopLocked() { s_->defrag_log.reset(); }

 private:
  void Stop() {
    std::lock_guard gate(s_->write_gate);
    if (s_->defrag_log == log_) s_->defrag_log.reset();
  }
  StoreState* s_;
  std::shared_ptr<DefragLog> log_;
};

}  // namespace

namespace internal {
void RemoveDefragCopies(const std::string& dir) { RemoveCopies(dir, ""); }
}  // namespace internal

Result<DefragStats> Store::Defragment() {
  StoreState& s = *s_;
  std::lock_guard one_at_a_time(s.defrag_mu);
  const Clock::time_point start = Clock::now();
  DefragStats stats;
  stats.db_size_before = FileSize(s.data_path);
  if (s.live_dir.empty()) s.live_dir = s.dir;
  RemoveCopies(s.dir, s.live_dir);
  const std::string copy_dir = s.dir + "/" + kCopyPrefix + std::to_string(++s.defrags);
  struct RemoveOnError {
    const std::string& dir;
    bool keep = false;
    ~RemoveOnError() {
      std::error_code ec;
      if (!keep) std::filesystem::remove_all(dir, ec);
    }
  } remove_copy{copy_dir};
  if (::mkdir(copy_dir.c_str(), 0700) != 0) return Status::IOError("mkdir " + copy_dir, errno);

  // Every WriteTxn begun from here on records its writes; every one begun
  // before has committed once the gate was passed, so the copy (whose read
  // transaction starts below) holds it. Writes recorded and also in the copy
  // replay harmlessly: each sets or deletes a whole entry.
  Recording recording(&s);
  const uint64_t restores = s.restores.load();
  {
    const auto pool = s.Pool();
    const int rc = mdb_env_copy2(pool->env(), copy_dir.c_str(), MDB_CP_COMPACT);
    if (rc != MDB_SUCCESS) return s.Rc(rc, "mdb_env_copy2(" + copy_dir + ")");
  }
  StoreState copy;
  copy.dir = copy_dir;
  copy.data_path = copy_dir + "/data.mdb";
  copy.opts = s.opts;
  if (::chmod(copy.data_path.c_str(), 0600) != 0) {
    return Status::IOError("chmod " + copy.data_path, errno);
  }
  RETURN_IF_ERROR(internal::OpenEnv(&copy));
  if (copy.key_dbi != s.key_dbi || copy.meta_dbi != s.meta_dbi || copy.server_dbi != s.server_dbi) {
    return Status::Internal("mvcc: defragmented copy has other database handles");
  }

  // Catch up while writers go on, then make the copy durable: the fsync of
  // the bulk happens here, not while writers wait.
  for (int round = 0; round < kMaxRounds; ++round) {
    std::vector<LmdbWrite> writes = Take(recording.log());
    stats.replayed_writes += writes.size();
    RETURN_IF_ERROR(Replay(&copy, writes));
    if (writes.size() <= kPauseWrites) break;
  }
  RETURN_IF_ERROR(copy.Rc(mdb_env_sync(copy.env(), 1), "mdb_env_sync(copy)"));

  // The swap: writers wait for the last writes to replay, the copy to sync
  // and the rename; readers never wait (both environments hold the same
  // data until the gate opens again).
  const Clock::time_point pause_start = Clock::now();
  // Closed once writers go on: unmapping a large file takes a while.
  std::shared_ptr<lmdb::ReadTxnPool> old;
  {
    std::lock_guard gate(s.write_gate);
    if (s.restores.load() != restores) {
      return Status::Unavailable("mvcc: defragment interrupted by a snapshot restore");
    }
    std::vector<LmdbWrite> writes = Take(recording.log());
    stats.replayed_writes += writes.size();
    stats.paused_writes = writes.size();
    RETURN_IF_ERROR(Replay(&copy, writes));
    RETURN_IF_ERROR(copy.Rc(mdb_env_sync(copy.env(), 1), "mdb_env_sync(copy)"));
    if (::rename(copy.data_path.c_str(), s.data_path.c_str()) != 0) {
      return Status::IOError("rename " + copy.data_path + " to " + s.data_path, errno);
    }
    remove_copy.keep = true;  // from here on it holds the live lock file
    // Without it a crash could bring back the old file, which lacks the
    // writes made after the swap (the WAL may already have dropped them).
    Status synced = SyncDir(s.dir);
    old = std::atomic_exchange(&s.pool, copy.pool);
    recording.StopLocked();
    s.live_dir = copy_dir;
    stats.pause = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - pause_start);
    RETURN_IF_ERROR(synced);
  }
  old.reset();  // unless readers still use it
  // The swapped-out environment's lock file, if it was a copy's: unlinking it
  // while readers finish on it is harmless (they hold it open).
  RemoveCopies(s.dir, s.live_dir);
  stats.took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  stats.db_size_after = FileSize(s.data_path);
  if (s.opts.env != nullptr) s.opts.env->NoteSyncedOutside(s.data_path);
  return stats;
}

}  // namespace etcdd::mvcc
