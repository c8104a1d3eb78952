#include "mvcc/raw_view.h"

#include <algorithm>

#include "mvcc/revision.h"
#include "mvcc/store_state.h"

namespace etcdd::mvcc {

namespace internal {

struct RawViewState {
  const StoreState* s = nullptr;
  lmdb::PooledReadTxn txn;

  MDB_dbi Dbi(RawDb db) const {
    switch (db) {
      case RawDb::kKey:
        return s->key_dbi;
      case RawDb::kMeta:
        return s->meta_dbi;
      case RawDb::kServer:
        break;
    }
    return s->server_dbi;
  }
};

}  // namespace internal

namespace {

// The revision Store::Open would publish for the state `st` sees (LAYOUT.md,
// "Opening", step 4).
Result<int64_t> ViewRevision(const internal::RawViewState& st) {
  int64_t rev = 1;
  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(st.txn.get(), st.s->key_dbi, &raw);
  if (rc != MDB_SUCCESS) return st.s->Rc(rc, "mdb_cursor_open(key)");
  lmdb::CursorPtr cursor(raw);
  MDB_val k, v;
  rc = mdb_cursor_get(raw, &k, &v, MDB_LAST);
  if (rc == MDB_SUCCESS) {
    Revision r;
    bool tombstone = false;
    if (!DecodeRevKey(lmdb::View(k), &r, &tombstone)) {
      return Status::Corruption("bad revision key in key database", st.s->data_path);
    }
    rev = std::max(rev, r.main);
  } else if (rc != MDB_NOTFOUND) {
    return st.s->Rc(rc, "mdb_cursor_get(key)");
  }
  MDB_val mk = lmdb::Val(internal::kFinishedCompactKey);
  rc = mdb_get(st.txn.get(), st.s->meta_dbi, &mk, &v);
  if (rc == MDB_SUCCESS) {
    Revision r;
    bool tombstone = false;
    if (!DecodeRevKey(lmdb::View(v), &r, &tombstone)) {
      return Status::Corruption("bad finishedCompactRev in meta database", st.s->data_path);
    }
    rev = std::max(rev, r.main);
  } else if (rc != MDB_NOTFOUND) {
    return st.s->Rc(rc, "mdb_get(meta)");
  }
  return rev;
}

}  // namespace

RawView::RawView(std::unique_ptr<internal::RawViewState> st, int64_t revision)
    : st_(std::move(st)), revision_(revision) {}

RawView::~RawView() = default;

Result<std::optional<std::string>> RawView::Get(RawDb db, std::string_view key) const {
  MDB_val k = lmdb::Val(key);
  MDB_val v;
  int rc = mdb_get(st_->txn.get(), st_->Dbi(db), &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != MDB_SUCCESS) return st_->s->Rc(rc, "mdb_get");
  return std::optional<std::string>(std::string(lmdb::View(v)));
}

Status RawView::ForEach(RawDb db, std::string_view prefix, const EntryFn& fn) const {
  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(st_->txn.get(), st_->Dbi(db), &raw);
  if (rc != MDB_SUCCESS) return st_->s->Rc(rc, "mdb_cursor_open");
  lmdb::CursorPtr cursor(raw);
  MDB_val k = lmdb::Val(prefix);
  MDB_val v;
  // LMDB refuses empty keys, so an empty prefix starts at the first entry.
  const MDB_cursor_op first = prefix.empty() ? MDB_FIRST : MDB_SET_RANGE;
  for (rc = mdb_cursor_get(raw, &k, &v, first); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(raw, &k, &v, MDB_NEXT)) {
    const std::string_view key = lmdb::View(k);
    if (key.substr(0, prefix.size()) != prefix) return Status::Ok();
    RETURN_IF_ERROR(fn(key, lmdb::View(v)));
  }
  if (rc != MDB_NOTFOUND) return st_->s->Rc(rc, "mdb_cursor_get");
  return Status::Ok();
}

Result<std::unique_ptr<RawView>> Store::OpenRawView() const {
  auto st = std::make_unique<internal::RawViewState>();
  st->s = s_.get();
  ASSIGN_OR_RETURN(st->txn, s_->Pool()->Acquire());
  ASSIGN_OR_RETURN(int64_t rev, ViewRevision(*st));
  return std::unique_ptr<RawView>(new RawView(std::move(st), rev));
}

}  // namespace etcdd::mvcc
