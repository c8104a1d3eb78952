#include "mvcc/store.h"

#include <sys/stat.h>

#include <mutex>
#include <shared_mutex>

#include "mvcc/range.h"
#include "mvcc/store_state.h"

namespace etcdd::mvcc {

using etcdserverpb::RangeRequest;
using etcdserverpb::RangeResponse;
using internal::StoreState;

Store::Store(std::unique_ptr<StoreState> s) : s_(std::move(s)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, const Options& opts) {
  auto state = std::make_unique<StoreState>();
  state->dir = dir;
  state->data_path = dir + "/data.mdb";
  state->opts = opts;
  RETURN_IF_ERROR(internal::OpenEnv(state.get()));
  internal::RemoveDefragCopies(dir);
  int64_t unfinished_compaction = 0;
  RETURN_IF_ERROR(internal::RestoreState(state.get(), &unfinished_compaction));
  std::unique_ptr<Store> store(new Store(std::move(state)));
  // Compaction marks are written with the compaction itself, so "scheduled"
  // runs ahead of "finished" only in a backend written otherwise; finish the
  // job, as etcd's restore does.
  if (unfinished_compaction > 0) {
    RETURN_IF_ERROR(store->FinishScheduledCompaction(unfinished_compaction));
  }
  // Start from a durable file: whatever a crash may keep of later commits
  // (MDB_NOSYNC) lies on top of it, and an Env told of the sync has it too.
  RETURN_IF_ERROR(store->Sync());
  return store;
}

Status Store::FinishScheduledCompaction(int64_t rev) {
  ASSIGN_OR_RETURN(auto txn, BeginWrite());
  etcdserverpb::CompactionRequest req;
  req.set_revision(rev);
  ASSIGN_OR_RETURN(auto resp, txn->Compact(req));
  (void)resp;
  return txn->Commit();
}

Result<RangeResponse> Store::Range(const RangeRequest& req) const {
  const StoreState& s = *s_;
  RangeResponse resp;
  std::vector<Revision> revs;
  lmdb::PooledReadTxn rtxn;
  int64_t current = 0;
  int64_t count = 0;
  {
    std::shared_lock lock(s.mu);
    current = s.current_rev.load(std::memory_order_acquire);
    ASSIGN_OR_RETURN(int64_t at,
                     internal::ResolveReadRevision(req.revision(), current, s.compact_rev.load()));
    count = internal::CollectRevisions(s.index, KeyRange::Make(req.key(), req.range_end()), at,
                                       internal::RevisionsToFetch(req), &revs);
    // The snapshot is taken under the lock: a compaction commit cannot slip
    // between the compact-revision check and the snapshot.
    if (!revs.empty()) {
      ASSIGN_OR_RETURN(rtxn, s.Pool()->Acquire());
    }
  }
  resp.mutable_header()->set_revision(current);
  RETURN_IF_ERROR(
      internal::FinishRange(req, count, revs, rtxn.get(), s.key_dbi, s.data_path, &resp));
  return resp;
}

int64_t Store::CurrentRevision() const { return s_->current_rev.load(std::memory_order_acquire); }

int64_t Store::CompactRevision() const {
  const int64_t c = s_->compact_rev.load(std::memory_order_acquire);
  return c < 0 ? 0 : c;
}

uint64_t Store::ConsistentIndex() const { return s_->consistent_index.load(); }
uint64_t Store::ConsistentTerm() const { return s_->consistent_term.load(); }

uint64_t Store::DbSizeBytes() const {
  struct stat st;
  if (::stat(s_->data_path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

uint64_t Store::DbSizeInUseBytes() const {
  auto rtxn = s_->Pool()->Acquire();
  if (!rtxn.ok()) return 0;
  MDB_txn* txn = rtxn->get();
  // Two meta pages, then every database's pages (0 = LMDB's free list,
  // 1 = the main database holding the names of the others).
  uint64_t pages = 2;
  uint64_t psize = 0;
  for (MDB_dbi dbi : {MDB_dbi{0}, MDB_dbi{1}, s_->key_dbi, s_->meta_dbi, s_->server_dbi}) {
    MDB_stat st;
    if (mdb_stat(txn, dbi, &st) != MDB_SUCCESS) continue;
    pages += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    psize = st.ms_psize;
  }
  return pages * psize;
}

Result<std::optional<std::string>> Store::GetMeta(std::string_view key) const {
  ASSIGN_OR_RETURN(auto rtxn, s_->Pool()->Acquire());
  MDB_val k = lmdb::Val(key);
  MDB_val v;
  int rc = mdb_get(rtxn.get(), s_->server_dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != MDB_SUCCESS) return s_->Rc(rc, "mdb_get(server)");
  return std::optional<std::string>(std::string(lmdb::View(v)));
}

Result<std::vector<std::pair<std::string, std::string>>> Store::ListMeta(
    std::string_view prefix) const {
  ASSIGN_OR_RETURN(auto rtxn, s_->Pool()->Acquire());
  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(rtxn.get(), s_->server_dbi, &raw);
  if (rc != MDB_SUCCESS) return s_->Rc(rc, "mdb_cursor_open(server)");
  lmdb::CursorPtr cursor(raw);
  std::vector<std::pair<std::string, std::string>> out;
  MDB_val k = lmdb::Val(prefix);
  MDB_val v;
  // LMDB refuses empty keys, so an empty prefix starts at the first entry.
  const MDB_cursor_op first = prefix.empty() ? MDB_FIRST : MDB_SET_RANGE;
  for (rc = mdb_cursor_get(raw, &k, &v, first); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(raw, &k, &v, MDB_NEXT)) {
    std::string_view key = lmdb::View(k);
    if (key.substr(0, prefix.size()) != prefix) break;
    out.emplace_back(std::string(key), std::string(lmdb::View(v)));
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return s_->Rc(rc, "mdb_cursor_get(server)");
  return out;
}

Status Store::Sync() {
  const auto pool = s_->Pool();  // a defrag may swap the environment meanwhile
  int rc = mdb_env_sync(pool->env(), 1);
  if (rc == MDB_SUCCESS && s_->opts.env != nullptr) s_->opts.env->NoteSyncedOutside(s_->data_path);
  return s_->Rc(rc, "mdb_env_sync");
}

}  // namespace etcdd::mvcc
