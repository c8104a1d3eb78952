// Opening the LMDB environment and rebuilding the in-memory state from it
// (etcd's store.restore). The procedure is described in LAYOUT.md.
#include <algorithm>
#include <cstdio>

#include "base/file.h"
#include "base/go_text.h"
#include "mvcc/kv_fields.h"
#include "mvcc/store_state.h"

namespace etcdd::mvcc::internal {

namespace {

constexpr unsigned kMaxDbs = 8;
constexpr unsigned kMaxReaders = 1024;

std::string Hex(std::string_view bytes) { return HexBytes(bytes); }

Status OpenDatabases(StoreState* s) {
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(s->env(), nullptr, 0, &raw);
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_txn_begin");
  lmdb::TxnPtr txn(raw);
  const std::pair<const char*, MDB_dbi*> dbs[] = {
      {kKeyDb, &s->key_dbi}, {kMetaDb, &s->meta_dbi}, {kServerDb, &s->server_dbi}};
  for (const auto& [name, dbi] : dbs) {
    rc = mdb_dbi_open(raw, name, MDB_CREATE, dbi);
    if (rc != MDB_SUCCESS) return s->Rc(rc, std::string("mdb_dbi_open(") + name + ")");
  }
  MDB_val k = lmdb::Val(kLayoutVersionKey);
  MDB_val v;
  rc = mdb_get(raw, s->meta_dbi, &k, &v);
  if (rc == MDB_NOTFOUND) {
    v = lmdb::Val(kLayoutVersion);
    rc = mdb_put(raw, s->meta_dbi, &k, &v, 0);
    if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_put(meta)");
  } else {
    RETURN_IF_ERROR(CheckLayoutVersion(s, raw));
  }
  rc = mdb_txn_commit(txn.release());
  return s->Rc(rc, "mdb_txn_commit");
}

}  // namespace

Status CheckLayoutVersion(const StoreState* s, MDB_txn* txn) {
  MDB_val k = lmdb::Val(kLayoutVersionKey);
  MDB_val v;
  int rc = mdb_get(txn, s->meta_dbi, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return Status::Corruption("not an etcdd backend: no layout version", s->data_path);
  }
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_get(meta)");
  if (lmdb::View(v) != kLayoutVersion) {
    return Status::FailedPrecondition("backend " + s->data_path + " has layout version '" +
                                      std::string(lmdb::View(v)) + "', this build reads '" +
                                      std::string(kLayoutVersion) + "'");
  }
  return Status::Ok();
}

namespace {

// Reads a meta value of `size` bytes; false if absent.
Result<bool> ReadMeta(StoreState* s, MDB_txn* txn, std::string_view key, size_t size,
                      std::string* out) {
  MDB_val k = lmdb::Val(key);
  MDB_val v;
  int rc = mdb_get(txn, s->meta_dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_get(meta)");
  if (v.mv_size != size) {
    return Status::Corruption(
        "meta key " + std::string(key) + " has " + std::to_string(v.mv_size) + " bytes",
        s->data_path);
  }
  out->assign(lmdb::View(v));
  return true;
}

}  // namespace

Status RestoreMeta(StoreState* s, MDB_txn* txn, int64_t* scheduled) {
  std::string v;
  ASSIGN_OR_RETURN(bool has, ReadMeta(s, txn, kFinishedCompactKey, kRevBytesLen, &v));
  if (has) s->compact_rev = static_cast<int64_t>(GetBigEndian64(v.data()));
  ASSIGN_OR_RETURN(has, ReadMeta(s, txn, kScheduledCompactKey, kRevBytesLen, &v));
  *scheduled = has ? static_cast<int64_t>(GetBigEndian64(v.data())) : 0;
  ASSIGN_OR_RETURN(has, ReadMeta(s, txn, kConsistentIndexKey, 8, &v));
  if (has) s->consistent_index = GetBigEndian64(v.data());
  ASSIGN_OR_RETURN(has, ReadMeta(s, txn, kTermKey, 8, &v));
  if (has) s->consistent_term = GetBigEndian64(v.data());
  return Status::Ok();
}

namespace {

// Adds one key-database entry to the index, as etcd's restoreIntoIndex.
void IndexEntry(TreeIndex* index, Revision rev, bool tombstone, const IndexFields& kv) {
  if (KeyIndex* ki = index->Find(kv.key)) {
    if (tombstone) {
      ki->Tombstone(rev);
    } else {
      ki->Put(rev);
    }
  } else if (!tombstone) {
    // First entry of a key: earlier revisions may be compacted away, so
    // created and version come from the stored value.
    index->FindOrCreate(kv.key).Restore(kv.create_revision, rev, kv.version);
  }
}

Status RestoreIndex(StoreState* s, MDB_txn* txn, int64_t* last_main) {
  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(txn, s->key_dbi, &raw);
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_cursor_open(key)");
  lmdb::CursorPtr cursor(raw);
  IndexFields kv;
  MDB_val k;
  MDB_val v;
  for (rc = mdb_cursor_get(raw, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(raw, &k, &v, MDB_NEXT)) {
    Revision rev;
    bool tombstone = false;
    if (!DecodeRevKey(lmdb::View(k), &rev, &tombstone) || rev.main <= 0) {
      return Status::Corruption("malformed revision key " + Hex(lmdb::View(k)) + " in key database",
                                s->data_path);
    }
    if (!ParseIndexFields(lmdb::View(v), &kv)) {
      return Status::Corruption("unparsable KeyValue at revision key " + Hex(lmdb::View(k)),
                                s->data_path);
    }
    IndexEntry(&s->index, rev, tombstone, kv);
    *last_main = rev.main;
  }
  if (rc != MDB_NOTFOUND) return s->Rc(rc, "mdb_cursor_get(key)");
  return Status::Ok();
}

}  // namespace

Status OpenEnv(StoreState* s) {
  RETURN_IF_ERROR(CreateDirs(s->dir));
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_env_create");
  s->pool = std::make_shared<lmdb::ReadTxnPool>(lmdb::EnvPtr(env), s->data_path);
  rc = mdb_env_set_mapsize(env, s->opts.map_size_bytes);
  if (rc == MDB_SUCCESS) rc = mdb_env_set_maxdbs(env, kMaxDbs);
  if (rc == MDB_SUCCESS) rc = mdb_env_set_maxreaders(env, kMaxReaders);
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_env_set");
  // NOTLS: read transactions are pooled and used from any thread.
  // NORDAHEAD: point reads of a B+tree gain nothing from readahead (bbolt
  // likewise madvises MADV_RANDOM).
  unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
  if (!s->opts.sync_on_commit) flags |= MDB_NOSYNC;
  rc = mdb_env_open(env, s->dir.c_str(), flags, 0600);
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_env_open");
  // Reader slots of a crashed process would pin old pages forever.
  int dead = 0;
  rc = mdb_reader_check(env, &dead);
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_reader_check");
  return OpenDatabases(s);
}

Status RestoreState(StoreState* s, int64_t* unfinished_compaction) {
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(s->env(), nullptr, MDB_RDONLY, &raw);
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_txn_begin(read)");
  lmdb::TxnPtr txn(raw);
  int64_t scheduled = 0;
  RETURN_IF_ERROR(RestoreMeta(s, raw, &scheduled));
  int64_t last_main = 1;
  RETURN_IF_ERROR(RestoreIndex(s, raw, &last_main));
  // Compaction may have removed the newest revisions (tombstones); the
  // revision never goes below the compaction point, nor below a scheduled
  // one (etcdutl's restore --bump-revision schedules one above the last
  // revision; Open then runs it).
  s->current_rev = std::max({last_main, s->compact_rev.load(), scheduled});
  *unfinished_compaction = scheduled > s->compact_rev.load() ? scheduled : 0;
  return Status::Ok();
}

}  // namespace etcdd::mvcc::internal
