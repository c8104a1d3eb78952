// Store::HashKV: etcd's store.HashByRev (mvcc/kvstore.go) over the key
// database.
#include <algorithm>
#include <mutex>
#include <shared_mutex>

#include "base/crc32c.h"
#include "mvcc/errors.h"
#include "mvcc/store_state.h"

namespace etcdd::mvcc {

namespace {

// etcd hashes its bucket name first.
constexpr std::string_view kHashPrefix = "key";

}  // namespace

Result<std::pair<uint32_t, int64_t>> Store::HashKV(int64_t revision) const {
  const internal::StoreState& s = *s_;
  int64_t at = 0;
  int64_t compact = 0;
  // The revision each key live at `at` holds, if at or below the compact
  // revision (etcd's kvindex.Keep(at), less what the hash does not consult).
  std::vector<Revision> keep;
  bool any_live = false;
  lmdb::PooledReadTxn rtxn;
  {
    // As Range: revisions, index and LMDB snapshot taken together.
    std::shared_lock lock(s.mu);
    const int64_t current = s.current_rev.load(std::memory_order_acquire);
    compact = s.compact_rev.load(std::memory_order_acquire);
    if (revision > 0 && revision <= compact) return ErrCompacted();
    if (revision > current) return ErrFutureRev();
    at = revision > 0 ? revision : current;
    for (const auto& [key, ki] : s.index.map()) {
      if (auto kr = ki.Get(at)) {
        any_live = true;
        if (kr->mod.main <= compact) keep.push_back(kr->mod);
      }
    }
    ASSIGN_OR_RETURN(rtxn, s.Pool()->Acquire());
  }
  std::sort(keep.begin(), keep.end());

  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(rtxn.get(), s.key_dbi, &raw);
  if (rc != MDB_SUCCESS) return s.Rc(rc, "mdb_cursor_open(key)");
  lmdb::CursorPtr cursor(raw);
  uint32_t crc = Crc32c(0, kHashPrefix);
  MDB_val k;
  MDB_val v;
  for (rc = mdb_cursor_get(raw, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(raw, &k, &v, MDB_NEXT)) {
    Revision r;
    bool tombstone = false;
    if (!DecodeRevKey(lmdb::View(k), &r, &tombstone)) {
      return Status::Corruption("malformed revision key in key database", s.data_path);
    }
    if (r.main > at) break;  // key order is revision order
    // Skip what a compaction at `at` would drop; like etcd, skip nothing when
    // no key is live at `at`.
    if (r.main <= compact && any_live && !std::binary_search(keep.begin(), keep.end(), r)) {
      continue;
    }
    crc = Crc32c(crc, lmdb::View(k));
    crc = Crc32c(crc, lmdb::View(v));
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return s.Rc(rc, "mdb_cursor_get(key)");
  return std::make_pair(crc, compact);
}

}  // namespace etcdd::mvcc
