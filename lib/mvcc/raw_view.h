// RawView: read-only access to the backend's LMDB databases as stored, all
// from one LMDB read transaction, for code that must see the whole backend
// at one instant without going through the key index (exporting it in
// etcd's snapshot format, hashing it as etcd's backend). Databases and
// encodings: LAYOUT.md.
//
// A RawView is a consistent snapshot: writes committed after it was opened
// are not seen, and writers are never blocked by it (LMDB MVCC). The pages it
// sees stay allocated until it is destroyed, so do not keep one longer than
// the work needs. A RestoreFrom meanwhile does not change what it reads.
//
// Thread-safety: one thread at a time (the transaction is not tied to a
// thread). Must be destroyed before its Store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace etcdd::mvcc {

namespace internal {
struct StoreState;
struct RawViewState;
}  // namespace internal

// The backend's databases (LAYOUT.md, "Databases").
enum class RawDb {
  kKey,     // revision -> mvccpb.KeyValue, byte for byte etcd's `key` bucket
  kMeta,    // consistent_index, term, compaction marks, etcdd_layout_version
  kServer,  // the server's own records (Store::GetMeta)
};

class RawView {
 public:
  // Called with each entry; the views point into LMDB's map and are valid
  // only during the call. A non-OK return stops the walk and is returned.
  using EntryFn = std::function<Status(std::string_view key, std::string_view value)>;

  ~RawView();
  RawView(const RawView&) = delete;
  RawView& operator=(const RawView&) = delete;

  // The value of `key` (1..511 bytes) in `db`, nullopt if absent.
  // Errors: IOError, Corruption naming data.mdb.
  Result<std::optional<std::string>> Get(RawDb db, std::string_view key) const;

  // Calls fn for every entry of `db` whose key starts with `prefix` ("" =
  // all), in LMDB key order (bytewise, unsigned). Memory: none beyond the
  // cursor. Errors: fn's, IOError, Corruption.
  Status ForEach(RawDb db, std::string_view prefix, const EntryFn& fn) const;

  // The store revision of this snapshot, as Store::CurrentRevision() would
  // report it for this state: the last `key` entry's main revision, at least
  // the finished compaction revision, at least 1. Computed at open.
  int64_t revision() const { return revision_; }

 private:
  friend class Store;
  RawView(std::unique_ptr<internal::RawViewState> st, int64_t revision);
  std::unique_ptr<internal::RawViewState> st_;
  int64_t revision_;
};

}  // namespace etcdd::mvcc
