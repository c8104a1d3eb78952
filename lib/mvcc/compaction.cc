// Compaction (etcd's kvstore_compaction.go and treeIndex.Compact), done
// synchronously: the key database in the WriteTxn's LMDB transaction, the
// in-memory index right after that transaction commits.
#include <algorithm>
#include <mutex>

#include "mvcc/store_state.h"

namespace etcdd::mvcc::internal {

namespace {

// Index keys compacted per hold of the store lock, so readers are not held
// off for the whole index.
constexpr int kIndexCompactChunk = 1024;

}  // namespace

Status WriteState::CompactBackend(int64_t rev) {
  RevKey mark(Revision{rev, 0}, false);
  RETURN_IF_ERROR(WriteMeta(s->meta_dbi, kScheduledCompactKey, mark.view()));

  // What survives among revisions <= rev: each key's value at rev, if the key
  // is live then. Every other entry <= rev goes, tombstones included.
  std::vector<Revision> keep;
  keep.reserve(s->index.size());
  for (const auto& [key, ki] : s->index.map()) {
    if (auto kr = ki.Get(rev)) keep.push_back(kr->mod);
  }
  std::sort(keep.begin(), keep.end());

  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(txn, s->key_dbi, &raw);
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_cursor_open(key)");
  lmdb::CursorPtr cursor(raw);
  auto kept = keep.begin();
  MDB_val k;
  MDB_val v;
  for (rc = mdb_cursor_get(raw, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(raw, &k, &v, MDB_NEXT)) {
    Revision r;
    bool tombstone = false;
    if (!DecodeRevKey(lmdb::View(k), &r, &tombstone)) {
      return Status::Corruption("malformed revision key in key database", s->data_path);
    }
    if (r.main > rev) break;
    while (kept != keep.end() && *kept < r) ++kept;
    if (!tombstone && kept != keep.end() && *kept == r) continue;
    ++lmdb_writes;
    const std::string deleted = record ? std::string(lmdb::View(k)) : std::string();
    // After a delete the cursor already stands on the next entry; MDB_NEXT
    // then returns that entry.
    rc = mdb_cursor_del(raw, 0);
    if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_cursor_del(key)");
    Record(s->key_dbi, deleted, std::nullopt);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return s->Rc(rc, "mdb_cursor_get(key)");
  return WriteMeta(s->meta_dbi, kFinishedCompactKey, mark.view());
}

void CompactIndex(StoreState* s, int64_t rev) {
  // Iterators stay valid between chunks: this thread is the only mutator.
  auto& map = s->index.map();
  auto it = map.begin();
  while (it != map.end()) {
    std::unique_lock lock(s->mu);
    for (int n = 0; n < kIndexCompactChunk && it != map.end(); ++n) {
      it->second.Compact(rev);
      it = it->second.Empty() ? map.erase(it) : std::next(it);
    }
  }
}

}  // namespace etcdd::mvcc::internal
