// Internal: the key space at one revision as a txn's compares and ranges read
// it, so that the writer (WriteTxn::Txn, WriteTxn::Range) and a reader's
// snapshot (Store::ReadTxn) share one implementation of compares, branch
// walking and ranges (txn.cc, range.cc).
//
// Two kinds of view:
// - the writer's: its own LMDB write transaction; the index is read without
//   the lock (the writer is its only mutator), its uncommitted revisions
//   included when `rev` covers them;
// - a reader's (`shared`): a pooled LMDB read transaction and the revisions
//   published when it was taken. Every index walk holds the store lock shared
//   only for the walk (values are fetched from the snapshot after it), and
//   fails with ErrCompacted if a compaction committed since then may have
//   removed the revisions the walk reads. Committed revisions up to `rev`
//   never change otherwise, so all the reads of one view agree.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <mutex>
#include <shared_mutex>

#include "base/status.h"
#include "etcdserverpb/rpc.pb.h"
#include "mvcc/errors.h"
#include "mvcc/key_index.h"
#include "mvcc/range.h"
#include "mvcc/store_state.h"
#include "mvccpb/kv.pb.h"

namespace etcdd::mvcc::internal {

struct ReadView {
  const StoreState* s = nullptr;
  MDB_txn* txn = nullptr;    // holds every revision <= rev
  int64_t rev = 0;           // the view's current revision
  int64_t compact_rev = -1;  // the compaction reads are checked against (-1: none)
  bool shared = false;       // a reader's view, see above
  uint64_t restores = 0;     // shared views: StoreState::restores when the view was taken

  // Runs f(const TreeIndex&) with the index stable for reads at or below
  // `at_rev`. Errors: ErrCompacted (shared views) when a compaction above
  // at_rev committed after the view was taken, or a RestoreFrom replaced the
  // whole state (the caller then reads again on a new view).
  template <typename F>
  Status WithIndex(int64_t at_rev, F&& f) const {
    if (!shared) {
      f(s->index);
      return Status::Ok();
    }
    std::shared_lock lock(s->mu);
    // compact_rev is published before the index is compacted, so at or below
    // it the index still holds every revision >= the published value.
    if (at_rev < s->compact_rev.load(std::memory_order_acquire)) return ErrCompacted();
    if (s->restores.load(std::memory_order_acquire) != restores) return ErrCompacted();
    f(s->index);
    return Status::Ok();
  }

  // The KeyValue stored at `r` (a put). Errors: Corruption, IOError.
  Status Fetch(Revision r, mvccpb::KeyValue* kv) const {
    return FetchKeyValue(txn, s->key_dbi, r, s->data_path, kv);
  }

  // etcd's Range on this view (Store::Range's semantics, header.revision = rev).
  // Errors: ErrFutureRev, ErrCompacted, Corruption, IOError.
  Status Range(const etcdserverpb::RangeRequest& req, etcdserverpb::RangeResponse* resp) const;
};

}  // namespace etcdd::mvcc::internal
