#include "mvcc/lmdb_util.h"

#include "mvcc/errors.h"

namespace etcdd::mvcc::lmdb {

Status FromRc(int rc, std::string_view context, const std::string& where) {
  std::string what = std::string(context) + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_SUCCESS:
      return Status::Ok();
    case MDB_MAP_FULL:
      return ErrNoSpace();
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      return Status::Corruption(what, where);
    case MDB_READERS_FULL:
      return Status::Unavailable(what);
    default:
      break;
  }
  if (rc > 0) return Status::IOError(std::string(context) + " (" + where + ")", rc);
  return Status::Internal(what + " (" + where + ")");
}

PooledReadTxn& PooledReadTxn::operator=(PooledReadTxn&& o) noexcept {
  if (this != &o) {
    Release();
    pool_ = std::move(o.pool_);
    txn_ = o.txn_;
    o.txn_ = nullptr;
  }
  return *this;
}

void PooledReadTxn::Release() {
  if (txn_ == nullptr) return;
  mdb_txn_reset(txn_);
  pool_->Return(txn_);
  txn_ = nullptr;
  pool_.reset();
}

ReadTxnPool::~ReadTxnPool() {
  for (MDB_txn* txn : free_) mdb_txn_abort(txn);
}

Result<PooledReadTxn> ReadTxnPool::Acquire() {
  MDB_txn* txn = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_.empty()) {
      txn = free_.back();
      free_.pop_back();
    }
  }
  if (txn != nullptr) {
    int rc = mdb_txn_renew(txn);
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      return FromRc(rc, "mdb_txn_renew", where_);
    }
    return PooledReadTxn(shared_from_this(), txn);
  }
  int rc = mdb_txn_begin(env_.get(), nullptr, MDB_RDONLY, &txn);
  if (rc != MDB_SUCCESS) return FromRc(rc, "mdb_txn_begin(read)", where_);
  return PooledReadTxn(shared_from_this(), txn);
}

void ReadTxnPool::Return(MDB_txn* txn) {
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(txn);
}

RwLock::RwLock() {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&lock_, &attr);
  pthread_rwlockattr_destroy(&attr);
}

}  // namespace etcdd::mvcc::lmdb
