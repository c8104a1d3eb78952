#include "mvcc/import.h"

#include "mvcc/batch_txn.h"
#include "mvcc/revision.h"
#include "mvcc/store_state.h"

namespace etcdd::mvcc {

using internal::BatchTxn;
using internal::StoreState;

namespace {

// Whether `dbi` holds any entry. Errors: IOError.
Result<bool> HasEntries(const StoreState& s, MDB_txn* txn, MDB_dbi dbi) {
  MDB_stat st;
  const int rc = mdb_stat(txn, dbi, &st);
  if (rc != MDB_SUCCESS) return s.Rc(rc, "mdb_stat");
  return st.ms_entries > 0;
}

}  // namespace

Importer::Importer(std::unique_ptr<StoreState> s, std::unique_ptr<BatchTxn> w)
    : s_(std::move(s)), w_(std::move(w)) {}

Importer::~Importer() = default;

Result<std::unique_ptr<Importer>> Importer::Create(const std::string& dir, const Options& opts) {
  auto s = std::make_unique<StoreState>();
  s->dir = dir;
  s->data_path = dir + "/data.mdb";
  s->opts = opts;
  RETURN_IF_ERROR(internal::OpenEnv(s.get()));
  auto w = std::make_unique<BatchTxn>(s.get());
  RETURN_IF_ERROR(w->Begin());
  // The layout version is the one meta entry a new backend has.
  ASSIGN_OR_RETURN(bool keys, HasEntries(*s, w->get(), s->key_dbi));
  ASSIGN_OR_RETURN(bool server, HasEntries(*s, w->get(), s->server_dbi));
  MDB_stat meta;
  const int rc = mdb_stat(w->get(), s->meta_dbi, &meta);
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_stat");
  if (keys || server || meta.ms_entries > 1) {
    return Status::FailedPrecondition("backend " + s->data_path + " is not empty");
  }
  return std::unique_ptr<Importer>(new Importer(std::move(s), std::move(w)));
}

Status Importer::PutRevision(std::string_view key, std::string_view value) {
  Revision rev;
  bool tombstone = false;
  if (!DecodeRevKey(key, &rev, &tombstone) || rev.main <= 0) {
    return Status::InvalidArgument("malformed revision key at entry " +
                                   std::to_string(revisions_ + 1));
  }
  if (revisions_ > 0 && key <= std::string_view(last_key_)) {
    return Status::InvalidArgument("revision keys out of order at entry " +
                                   std::to_string(revisions_ + 1));
  }
  MDB_val k = lmdb::Val(key);
  MDB_val v = lmdb::Val(value);
  RETURN_IF_ERROR(w_->Rc(mdb_put(w_->get(), s_->key_dbi, &k, &v, MDB_APPEND), "mdb_put(key)"));
  last_key_.assign(key);
  ++revisions_;
  return w_->Wrote(key.size() + value.size());
}

Status Importer::PutServerMeta(std::string_view key, std::string_view value) {
  MDB_val k = lmdb::Val(key);
  MDB_val v = lmdb::Val(value);
  RETURN_IF_ERROR(w_->Rc(mdb_put(w_->get(), s_->server_dbi, &k, &v, 0), "mdb_put(server)"));
  return w_->Wrote(key.size() + value.size());
}

Status Importer::Finish(const ImportMeta& meta) {
  RETURN_IF_ERROR(w_->Commit());
  RETURN_IF_ERROR(w_->Begin());
  auto put = [&](std::string_view key, std::string_view value) {
    MDB_val k = lmdb::Val(key);
    MDB_val v = lmdb::Val(value);
    return w_->Rc(mdb_put(w_->get(), s_->meta_dbi, &k, &v, 0), "mdb_put(meta)");
  };
  char buf[8];
  if (meta.consistent_index > 0) {
    PutBigEndian64(meta.consistent_index, buf);
    RETURN_IF_ERROR(put(internal::kConsistentIndexKey, std::string_view(buf, 8)));
    PutBigEndian64(meta.term, buf);
    RETURN_IF_ERROR(put(internal::kTermKey, std::string_view(buf, 8)));
  }
  if (meta.scheduled_compact_revision > 0) {
    RevKey rev({meta.scheduled_compact_revision, 0}, false);
    RETURN_IF_ERROR(put(internal::kScheduledCompactKey, rev.view()));
  }
  if (meta.finished_compact_revision > 0) {
    RevKey rev({meta.finished_compact_revision, 0}, false);
    RETURN_IF_ERROR(put(internal::kFinishedCompactKey, rev.view()));
  }
  RETURN_IF_ERROR(w_->Commit());
  const int rc = mdb_env_sync(s_->env(), 1);
  return s_->Rc(rc, "mdb_env_sync");
}

}  // namespace etcdd::mvcc
