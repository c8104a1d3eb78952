// Internal: thin RAII layer over LMDB for lib/mvcc, and the error mapping
// from LMDB return codes to Status.
//
// Thread-safety: an Env is shared by all threads (the environment is opened
// with MDB_NOTLS so read transactions are not tied to threads). A write
// transaction must begin, be used and end on one thread (LMDB's writer mutex).
// ReadTxnPool is thread-safe.
#pragma once

#include <lmdb.h>
#include <pthread.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace etcdd::mvcc::lmdb {

// Maps an LMDB return code: MDB_MAP_FULL -> ErrNoSpace; MDB_CORRUPTED,
// MDB_PAGE_NOTFOUND, MDB_INVALID, MDB_VERSION_MISMATCH -> Corruption naming
// `where`; positive codes (errno) -> IOError; anything else -> Internal.
Status FromRc(int rc, std::string_view context, const std::string& where);

inline MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view View(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

struct EnvCloser {
  void operator()(MDB_env* env) const { mdb_env_close(env); }
};
using EnvPtr = std::unique_ptr<MDB_env, EnvCloser>;

struct TxnAborter {
  void operator()(MDB_txn* txn) const { mdb_txn_abort(txn); }
};
using TxnPtr = std::unique_ptr<MDB_txn, TxnAborter>;

struct CursorCloser {
  void operator()(MDB_cursor* c) const { mdb_cursor_close(c); }
};
using CursorPtr = std::unique_ptr<MDB_cursor, CursorCloser>;

class ReadTxnPool;

// A read-only transaction borrowed from a ReadTxnPool: reset and returned on
// destruction. It keeps its pool, and so the environment, open until then
// (a defragmented store swaps environments under its readers). Empty
// (get() == nullptr) when default-constructed.
class PooledReadTxn {
 public:
  PooledReadTxn() = default;
  PooledReadTxn(std::shared_ptr<ReadTxnPool> pool, MDB_txn* txn)
      : pool_(std::move(pool)), txn_(txn) {}
  PooledReadTxn(PooledReadTxn&& o) noexcept : pool_(std::move(o.pool_)), txn_(o.txn_) {
    o.txn_ = nullptr;
  }
  PooledReadTxn& operator=(PooledReadTxn&& o) noexcept;
  PooledReadTxn(const PooledReadTxn&) = delete;
  PooledReadTxn& operator=(const PooledReadTxn&) = delete;
  ~PooledReadTxn() { Release(); }

  MDB_txn* get() const { return txn_; }

 private:
  void Release();
  std::shared_ptr<ReadTxnPool> pool_;
  MDB_txn* txn_ = nullptr;
};

// An open environment and its read transactions. Reuses reset read
// transactions (mdb_txn_renew is far cheaper than begin, and with MDB_NOTLS a
// reset transaction keeps its reader slot). The pool grows to the peak number
// of concurrent readers, bounded by the env's maxreaders. The environment is
// closed when the pool and every transaction borrowed from it are gone.
// Always held by a shared_ptr (Acquire hands out shares of it).
class ReadTxnPool : public std::enable_shared_from_this<ReadTxnPool> {
 public:
  ReadTxnPool(EnvPtr env, std::string where) : env_(std::move(env)), where_(std::move(where)) {}
  ~ReadTxnPool();
  ReadTxnPool(const ReadTxnPool&) = delete;
  ReadTxnPool& operator=(const ReadTxnPool&) = delete;

  MDB_env* env() const { return env_.get(); }

  // A read transaction on the latest committed snapshot. Errors: Unavailable
  // when LMDB's reader table is full, IOError/Internal.
  Result<PooledReadTxn> Acquire();

 private:
  friend class PooledReadTxn;
  void Return(MDB_txn* txn);

  EnvPtr env_;
  std::string where_;
  std::mutex mu_;
  std::vector<MDB_txn*> free_;  // guarded by mu_
};

// A writer-preferring reader/writer lock (glibc's default rwlock lets a
// steady stream of readers starve the writer). Satisfies Lockable and
// SharedLockable. Readers must not lock it recursively.
class RwLock {
 public:
  RwLock();
  ~RwLock() { pthread_rwlock_destroy(&lock_); }
  RwLock(const RwLock&) = delete;
  RwLock& operator=(const RwLock&) = delete;

  void lock() { pthread_rwlock_wrlock(&lock_); }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

}  // namespace etcdd::mvcc::lmdb
