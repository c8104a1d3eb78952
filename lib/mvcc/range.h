// Internal: etcd's Range semantics (mvcc rangeKeys + apply.go Range) split in
// the part that needs the key index (under the store lock for readers) and the
// part that reads values from an LMDB transaction.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "etcdserverpb/rpc.pb.h"
#include "mvcc/key_index.h"
#include "mvccpb/kv.pb.h"

namespace etcdd::mvcc::internal {

// The revision a read asking for `requested` uses, given the view's current
// and compact revisions (etcd rangeKeys): <= 0 means current.
// Errors: ErrFutureRev (requested > current), ErrCompacted (< compact).
Result<int64_t> ResolveReadRevision(int64_t requested, int64_t current, int64_t compact);

// How many revisions of a range FinishRange will read: all of them when it
// sorts or filters, limit+1 (for `more`) otherwise, none for count_only.
size_t RevisionsToFetch(const etcdserverpb::RangeRequest& req);

// Appends to *out the revision each key in `range` has at `at_rev`, in key
// order, up to `max_out` of them; keys that did not exist then are skipped.
// Returns the number of keys that existed (etcd's count).
int64_t CollectRevisions(const TreeIndex& index, const KeyRange& range, int64_t at_rev,
                         size_t max_out, std::vector<Revision>* out);

// Reads the KeyValue stored at `rev` (a put, never a tombstone).
// Errors: Corruption naming `where` if it is missing or does not parse.
Status FetchKeyValue(MDB_txn* txn, MDB_dbi key_dbi, Revision rev, const std::string& where,
                     mvccpb::KeyValue* kv);

// Fills kvs, count and more of `resp` for `req` from the collected revisions
// and `count` (filters, sort, limit, keys_only, count_only as etcd's apply.go
// Range). `txn` may be null when `revs` is empty.
Status FinishRange(const etcdserverpb::RangeRequest& req, int64_t count,
                   const std::vector<Revision>& revs, MDB_txn* txn, MDB_dbi key_dbi,
                   const std::string& where, etcdserverpb::RangeResponse* resp);

}  // namespace etcdd::mvcc::internal
