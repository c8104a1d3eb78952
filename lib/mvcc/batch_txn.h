// Internal: an LMDB write transaction that commits and begins anew every
// kBatchBytes of written entries, for bulk copies (snapshot install, import)
// whose size is unbounded. LMDB keeps a transaction's dirty pages in memory
// until it commits, so batching keeps the heap bounded whatever the size
// (one transaction for a 1 GiB install held 1.1 GiB of heap).
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <string_view>

#include "base/status.h"
#include "mvcc/lmdb_util.h"
#include "mvcc/store_state.h"

namespace etcdd::mvcc::internal {

inline constexpr uint64_t kBatchBytes = 16u << 20;

class BatchTxn {
 public:
  explicit BatchTxn(StoreState* s) : s_(s) {}
  // Begins a write transaction. Errors: IOError.
  Status Begin() {
    MDB_txn* raw = nullptr;
    const int rc = mdb_txn_begin(s_->env(), nullptr, 0, &raw);
    txn_.reset(raw);
    return s_->Rc(rc, "mdb_txn_begin");
  }
  MDB_txn* get() const { return txn_.get(); }
  // Counts `bytes` written; past kBatchBytes, commits and begins the next
  // transaction. Errors: those of Commit and Begin.
  Status Wrote(uint64_t bytes) {
    batch_ += bytes;
    if (batch_ < kBatchBytes) return Status::Ok();
    batch_ = 0;
    RETURN_IF_ERROR(Commit());
    return Begin();
  }
  // Errors: IOError, ErrNoSpace.
  Status Commit() { return s_->Rc(mdb_txn_commit(txn_.release()), "mdb_txn_commit"); }
  Status Rc(int rc, std::string_view context) const { return s_->Rc(rc, context); }

 private:
  StoreState* s_;
  lmdb::TxnPtr txn_;
  uint64_t batch_ = 0;
};

}  // namespace etcdd::mvcc::internal
