// Backend snapshots: Store::WriteSnapshot, InspectSnapshot and RestoreFrom.
// The file format is in snapshot_file.h and LAYOUT.md ("Snapshot files").
#include <algorithm>
#include <mutex>

#include "mvcc/batch_txn.h"
#include "mvcc/errors.h"
#include "mvcc/snapshot_file.h"
#include "mvcc/store_state.h"

namespace etcdd::mvcc {

using internal::StoreState;

namespace internal {
namespace {

constexpr unsigned kSnapshotMaxDbs = 8;

// An LMDB failure on a snapshot file: errno values are I/O errors, every
// other code means the file is not a sound LMDB environment.
Status SnapRc(const StoreState& snap, int rc, std::string_view context) {
  if (rc == MDB_SUCCESS) return Status::Ok();
  if (rc > 0) return Status::IOError(std::string(context) + " (" + snap.data_path + ")", rc);
  return Status::Corruption(std::string(context) + ": " + mdb_strerror(rc), snap.data_path);
}

Status OpenSnapshotDatabases(StoreState* snap) {
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(snap->env(), nullptr, MDB_RDONLY, &raw);
  if (rc != MDB_SUCCESS) return SnapRc(*snap, rc, "mdb_txn_begin(read)");
  lmdb::TxnPtr txn(raw);
  const std::pair<const char*, MDB_dbi*> dbs[] = {
      {kKeyDb, &snap->key_dbi}, {kMetaDb, &snap->meta_dbi}, {kServerDb, &snap->server_dbi}};
  for (const auto& [name, dbi] : dbs) {
    rc = mdb_dbi_open(raw, name, 0, dbi);
    if (rc == MDB_NOTFOUND) {
      return Status::Corruption(std::string("not an etcdd backend: no '") + name + "' database",
                                snap->data_path);
    }
    if (rc != MDB_SUCCESS) return SnapRc(*snap, rc, std::string("mdb_dbi_open(") + name + ")");
  }
  RETURN_IF_ERROR(CheckLayoutVersion(snap, raw));
  // Committing a read transaction keeps its database handles for later ones.
  return SnapRc(*snap, mdb_txn_commit(txn.release()), "mdb_txn_commit(read)");
}

// Opens a snapshot file read-only, after checking its trailer, as a
// StoreState holding the environment and database handles (nothing loaded).
Result<std::unique_ptr<StoreState>> OpenSnapshot(const std::string& path) {
  ASSIGN_OR_RETURN(const uint64_t len, VerifySnapshotFile(path));
  auto snap = std::make_unique<StoreState>();
  snap->dir = path;
  snap->data_path = path;
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != MDB_SUCCESS) return SnapRc(*snap, rc, "mdb_env_create");
  snap->pool = std::make_shared<lmdb::ReadTxnPool>(lmdb::EnvPtr(env), snap->data_path);
  rc = mdb_env_set_maxdbs(env, kSnapshotMaxDbs);
  if (rc != MDB_SUCCESS) return SnapRc(*snap, rc, "mdb_env_set_maxdbs");
  // Read-only without a lock file: the file is never modified, and nothing
  // else writes it.
  rc = mdb_env_open(env, path.c_str(),
                    MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOTLS | MDB_NORDAHEAD, 0);
  if (rc != MDB_SUCCESS) return SnapRc(*snap, rc, "mdb_env_open");
  MDB_envinfo info;
  MDB_stat st;
  rc = mdb_env_info(env, &info);
  if (rc == MDB_SUCCESS) rc = mdb_env_stat(env, &st);
  if (rc != MDB_SUCCESS) return SnapRc(*snap, rc, "mdb_env_info");
  // LMDB would map pages past the end of the file (SIGBUS on access).
  if ((static_cast<uint64_t>(info.me_last_pgno) + 1) * st.ms_psize > len) {
    return Status::Corruption("backend pages extend past the end of the LMDB part", path);
  }
  RETURN_IF_ERROR(OpenSnapshotDatabases(snap.get()));
  return snap;
}

// Appends the entries of `src` (of `snap`, in read transaction `r`) to the
// empty `dst`, in key order, through `w`.
Status CopyDatabase(const StoreState& snap, MDB_txn* r, MDB_dbi src, BatchTxn* w, MDB_dbi dst) {
  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(r, src, &raw);
  if (rc != MDB_SUCCESS) return SnapRc(snap, rc, "mdb_cursor_open");
  lmdb::CursorPtr cursor(raw);
  MDB_val k;
  MDB_val v;
  for (rc = mdb_cursor_get(raw, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(raw, &k, &v, MDB_NEXT)) {
    // Same comparator on both sides: the source order is the target order.
    const int put = mdb_put(w->get(), dst, &k, &v, MDB_APPEND);
    if (put == MDB_KEYEXIST) return Status::Corruption("keys out of order", snap.data_path);
    if (put != MDB_SUCCESS) return w->Rc(put, "mdb_put");
    RETURN_IF_ERROR(w->Wrote(k.mv_size + v.mv_size));
  }
  if (rc != MDB_NOTFOUND) return SnapRc(snap, rc, "mdb_cursor_get");
  return Status::Ok();
}

// The map must hold the current pages and the snapshot's (LAYOUT.md,
// "Restore"); checked before anything changes. Errors: ErrNoSpace.
Status CheckInstallFits(StoreState* s, const StoreState& snap) {
  MDB_envinfo mine;
  MDB_envinfo theirs;
  MDB_stat st;
  int rc = mdb_env_info(s->env(), &mine);
  if (rc == MDB_SUCCESS) rc = mdb_env_info(snap.env(), &theirs);
  if (rc == MDB_SUCCESS) rc = mdb_env_stat(s->env(), &st);
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_env_info");
  const uint64_t pages = static_cast<uint64_t>(mine.me_last_pgno) + theirs.me_last_pgno + 2;
  if (pages * st.ms_psize > mine.me_mapsize) return ErrNoSpace();
  return Status::Ok();
}

// Replaces the contents of `s` by those of the loaded snapshot `snap` and
// switches the in-memory state, under the store lock held exclusively
// throughout, so that no reader starts on a half-installed state (readers
// that started before keep their LMDB snapshot of the old pages). On disk:
// first one transaction empties `key` and `server` and every `meta` entry
// but the layout version, so the backend's consistent index reads 0; then
// `key` and `server` are copied in transactions of kBatchBytes; `meta`
// (with the snapshot's consistent index) comes last. A crash before that
// last commit leaves a backend at consistent index 0, which the server
// installs the snapshot file into again at restart (the file is deleted only
// after the install). `snap` receives the old index.
Status InstallSnapshot(StoreState* s, StoreState* snap) {
  RETURN_IF_ERROR(CheckInstallFits(s, *snap));
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(snap->env(), nullptr, MDB_RDONLY, &raw);
  if (rc != MDB_SUCCESS) return SnapRc(*snap, rc, "mdb_txn_begin(read)");
  lmdb::TxnPtr r(raw);
  std::unique_lock lock(s->mu);
  BatchTxn w(s);
  RETURN_IF_ERROR(w.Begin());
  for (MDB_dbi dbi : {s->key_dbi, s->server_dbi, s->meta_dbi}) {
    rc = mdb_drop(w.get(), dbi, 0);
    if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_drop");
  }
  MDB_val k = lmdb::Val(kLayoutVersionKey);
  MDB_val v = lmdb::Val(kLayoutVersion);
  rc = mdb_put(w.get(), s->meta_dbi, &k, &v, 0);
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_put(meta)");
  RETURN_IF_ERROR(w.Commit());
  RETURN_IF_ERROR(w.Begin());
  const std::pair<MDB_dbi, MDB_dbi> dbs[] = {{snap->key_dbi, s->key_dbi},
                                             {snap->server_dbi, s->server_dbi}};
  for (const auto& [src, dst] : dbs) {
    Status st = CopyDatabase(*snap, r.get(), src, &w, dst);
    if (!st.ok()) return st.Annotate("restore from snapshot " + snap->data_path);
  }
  RETURN_IF_ERROR(w.Commit());
  RETURN_IF_ERROR(w.Begin());
  rc = mdb_drop(w.get(), s->meta_dbi, 0);  // the layout version comes back with the rest
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_drop");
  Status st = CopyDatabase(*snap, r.get(), snap->meta_dbi, &w, s->meta_dbi);
  if (st.ok()) st = w.Commit();
  if (!st.ok()) return st.Annotate("restore from snapshot " + snap->data_path);
  std::swap(s->index, snap->index);
  s->compact_rev.store(snap->compact_rev.load(), std::memory_order_release);
  s->consistent_index.store(snap->consistent_index.load());
  s->consistent_term.store(snap->consistent_term.load());
  s->current_rev.store(snap->current_rev.load(), std::memory_order_release);
  s->restores.fetch_add(1, std::memory_order_acq_rel);
  return Status::Ok();
}

// Clears StoreState::writer_active when RestoreFrom ends.
class WriterSlot {
 public:
  explicit WriterSlot(std::atomic<bool>* active) : active_(active) {}
  ~WriterSlot() { Release(); }
  WriterSlot(const WriterSlot&) = delete;
  WriterSlot& operator=(const WriterSlot&) = delete;
  void Release() {
    if (active_ != nullptr) active_->store(false);
    active_ = nullptr;
  }

 private:
  std::atomic<bool>* active_;
};

}  // namespace
}  // namespace internal

Status Store::WriteSnapshot(const std::string& path) const {
  const auto pool = s_->Pool();  // a defrag may swap the environment meanwhile
  return internal::WriteSnapshotFile(pool->env(), path);
}

Result<SnapshotInfo> Store::InspectSnapshot(const std::string& path) {
  ASSIGN_OR_RETURN(auto snap, internal::OpenSnapshot(path));
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(snap->env(), nullptr, MDB_RDONLY, &raw);
  if (rc != MDB_SUCCESS) return internal::SnapRc(*snap, rc, "mdb_txn_begin(read)");
  lmdb::TxnPtr txn(raw);
  int64_t scheduled = 0;
  RETURN_IF_ERROR(internal::RestoreMeta(snap.get(), raw, &scheduled));
  SnapshotInfo info;
  info.consistent_index = snap->consistent_index.load();
  info.consistent_term = snap->consistent_term.load();
  info.compact_revision = std::max<int64_t>(snap->compact_rev.load(), 0);

  MDB_cursor* cur = nullptr;
  rc = mdb_cursor_open(raw, snap->key_dbi, &cur);
  if (rc != MDB_SUCCESS) return internal::SnapRc(*snap, rc, "mdb_cursor_open(key)");
  lmdb::CursorPtr keys(cur);
  MDB_val k;
  MDB_val v;
  int64_t last_main = 1;
  rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
  if (rc == MDB_SUCCESS) {
    Revision last;
    bool tombstone = false;
    if (!DecodeRevKey(lmdb::View(k), &last, &tombstone) || last.main <= 0) {
      return Status::Corruption("malformed last revision key in key database", path);
    }
    last_main = last.main;
  } else if (rc != MDB_NOTFOUND) {
    return internal::SnapRc(*snap, rc, "mdb_cursor_get(key)");
  }
  // As Open: compaction may have removed the newest revisions (tombstones).
  info.revision = std::max(last_main, snap->compact_rev.load());

  rc = mdb_cursor_open(raw, snap->server_dbi, &cur);
  if (rc != MDB_SUCCESS) return internal::SnapRc(*snap, rc, "mdb_cursor_open(server)");
  lmdb::CursorPtr server(cur);
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    info.meta.emplace(lmdb::View(k), lmdb::View(v));
  }
  if (rc != MDB_NOTFOUND) return internal::SnapRc(*snap, rc, "mdb_cursor_get(server)");
  return info;
}

Status Store::RestoreFrom(const std::string& path) {
  StoreState& s = *s_;
  bool expected = false;
  if (!s.writer_active.compare_exchange_strong(expected, true)) {
    return Status::FailedPrecondition("mvcc: cannot restore a snapshot while a write is open");
  }
  internal::WriterSlot slot(&s.writer_active);
  // Writes no defrag records: the `restores` bump makes a running one give up.
  std::unique_lock gate(s.write_gate);
  ASSIGN_OR_RETURN(auto snap, internal::OpenSnapshot(path));
  // Loads meta and builds the new index, checking every revision key and
  // value, before anything of this store changes.
  int64_t unfinished_compaction = 0;
  RETURN_IF_ERROR(internal::RestoreState(snap.get(), &unfinished_compaction));
  RETURN_IF_ERROR(internal::InstallSnapshot(&s, snap.get()));
  snap.reset();  // the old index and the snapshot's environment
  gate.unlock();
  slot.Release();
  if (unfinished_compaction > 0) return FinishScheduledCompaction(unfinished_compaction);
  return Status::Ok();
}

}  // namespace etcdd::mvcc
