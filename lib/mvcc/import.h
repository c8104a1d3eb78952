// Bulk load of a new backend from another backend's records: `kvbackup
// restore` turns a snapshot of etcd's (a bbolt file) into an etcdd backend
// through it. The records are etcd's own encodings, which are also ours
// (LAYOUT.md): revision keys and mvccpb.KeyValue values, the compaction marks
// and the consistent index; server metadata is opaque here, as in Store.
//
//   ASSIGN_OR_RETURN(auto im, Importer::Create(dir, opts));
//   for each revision in order: RETURN_IF_ERROR(im->PutRevision(key, value));
//   RETURN_IF_ERROR(im->PutServerMeta("members", ...));
//   RETURN_IF_ERROR(im->Finish(meta));
//   ASSIGN_OR_RETURN(auto store, Store::Open(dir, opts));  // checks every record
//
// Records are committed in LMDB transactions of 16 MiB (memory stays bounded
// whatever the size); the metadata comes last, so a backend whose import was
// interrupted has consistent index 0 and no compaction marks. The caller
// builds it in a directory of its own and removes that on error.
//
// Thread-safety: an Importer is used by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "mvcc/store.h"

namespace etcdd::mvcc {

namespace internal {
struct StoreState;
class BatchTxn;
}  // namespace internal

// The meta records written by Importer::Finish.
struct ImportMeta {
  uint64_t consistent_index = 0;  // the Raft index the data is as of (0: none)
  uint64_t term = 0;              // that entry's term
  // Compaction marks, main revisions; 0: not written. A scheduled compaction
  // above the finished one is run by the next Store::Open (as etcd's restore
  // does), and raises the current revision to it if it is above the last
  // revision (etcdutl's --bump-revision with --mark-compacted).
  int64_t scheduled_compact_revision = 0;
  int64_t finished_compact_revision = 0;
};

class Importer {
 public:
  // Creates the backend in `dir` (created if missing). Errors:
  // FailedPrecondition if `dir` already holds a backend with any record;
  // IOError.
  static Result<std::unique_ptr<Importer>> Create(const std::string& dir, const Options& opts);
  ~Importer();  // without Finish: what was committed stays, without metadata
  Importer(const Importer&) = delete;
  Importer& operator=(const Importer&) = delete;

  // Appends one entry of the `key` database: `key` an etcd revision key (17
  // bytes, or 18 ending in 't' for a tombstone), strictly above the previous
  // one; `value` the serialized mvccpb.KeyValue (checked by Store::Open).
  // Errors: InvalidArgument for a malformed or out-of-order key;
  // ResourceExhausted ErrNoSpace past the map size; IOError.
  Status PutRevision(std::string_view key, std::string_view value);
  // Sets server metadata `key` (Store::GetMeta), in any order. Errors: as
  // PutRevision.
  Status PutServerMeta(std::string_view key, std::string_view value);
  // Writes `meta` and commits. No call may follow. Errors: ErrNoSpace,
  // IOError.
  Status Finish(const ImportMeta& meta);

  // Revision keys put so far.
  uint64_t revisions() const { return revisions_; }

 private:
  Importer(std::unique_ptr<internal::StoreState> s, std::unique_ptr<internal::BatchTxn> w);
  std::unique_ptr<internal::StoreState> s_;
  std::unique_ptr<internal::BatchTxn> w_;
  std::string last_key_;
  uint64_t revisions_ = 0;
};

}  // namespace etcdd::mvcc
