// Internal: the state behind Store and Store::WriteTxn, shared by store.cc,
// write_txn.cc, txn.cc, compaction.cc and restore.cc. Not part of the API.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "etcdserverpb/rpc.pb.h"
#include "mvcc/key_index.h"
#include "mvcc/lmdb_util.h"
#include "mvcc/store.h"
#include "mvccpb/kv.pb.h"

namespace etcdd::mvcc::internal {

// LMDB named databases and meta keys; LAYOUT.md describes them.
inline constexpr const char* kKeyDb = "key";
inline constexpr const char* kMetaDb = "meta";
inline constexpr const char* kServerDb = "server";
inline constexpr std::string_view kConsistentIndexKey = "consistent_index";
inline constexpr std::string_view kTermKey = "term";
inline constexpr std::string_view kScheduledCompactKey = "scheduledCompactRev";
inline constexpr std::string_view kFinishedCompactKey = "finishedCompactRev";
inline constexpr std::string_view kLayoutVersionKey = "etcdd_layout_version";
inline constexpr std::string_view kLayoutVersion = "1";

struct ReadView;

// One LMDB write: put `value` under `key` in `dbi`, or delete `key` (no value).
struct LmdbWrite {
  MDB_dbi dbi = 0;
  std::string key;
  std::optional<std::string> value;
};

// The LMDB writes committed while a defrag copies the environment, in commit
// order, to be replayed onto the copy (defrag.cc).
struct DefragLog {
  std::mutex mu;
  std::vector<LmdbWrite> writes;  // guarded by mu
};

struct StoreState {
  std::string dir;
  std::string data_path;  // dir + "/data.mdb", for error messages
  Options opts;
  // The open environment and its read transactions. Defragment replaces it
  // while readers go on, so it is read with Pool() (an atomic load); a
  // borrowed read transaction keeps its environment open.
  std::shared_ptr<lmdb::ReadTxnPool> pool;
  MDB_dbi key_dbi = 0;  // the same in every environment of this store (Defragment checks)
  MDB_dbi meta_dbi = 0;
  MDB_dbi server_dbi = 0;

  // Locking rules:
  // - `mu` guards the structure and contents of `index` and the published
  //   revisions. Readers hold it shared while they read current_rev and
  //   compact_rev, collect revisions from the index and take their LMDB
  //   snapshot; they fetch values after releasing it. A ReadTxn takes the
  //   lock once per index walk and checks compact_rev each time (read_view.h).
  // - The one writer (the open WriteTxn's thread) reads `index` without the
  //   lock, being its only mutator, and holds `mu` exclusively to mutate it.
  //   Revisions above current_rev are invisible to readers, so uncommitted
  //   writes in the index are never seen.
  // - A commit containing a compaction holds `mu` across the LMDB commit and
  //   the publication of compact_rev, so no reader pairs the old compact
  //   revision with a snapshot that lacks the compacted revisions.
  mutable lmdb::RwLock mu;
  TreeIndex index;
  std::atomic<int64_t> current_rev{1};
  std::atomic<int64_t> compact_rev{-1};  // etcd's compactMainRev: -1 = never compacted
  std::atomic<uint64_t> consistent_index{0};
  std::atomic<uint64_t> consistent_term{0};
  // Bumped under `mu` (exclusive) each time RestoreFrom replaces the whole
  // state: a reader's view taken before it must not walk the new index
  // (read_view.h).
  std::atomic<uint64_t> restores{0};
  // Set while a WriteTxn or RestoreFrom runs: there is one writer at a time.
  std::atomic<bool> writer_active{false};
  // Held by the open WriteTxn and by RestoreFrom for their whole life, and by
  // Defragment to start recording writes and to swap environments, so that
  // no write is half in one environment and half in the other.
  std::mutex write_gate;
  // Set (under write_gate) while Defragment copies the environment: every
  // WriteTxn begun meanwhile appends its LMDB writes here when it commits.
  std::shared_ptr<DefragLog> defrag_log;
  std::mutex defrag_mu;   // one Defragment at a time
  uint64_t defrags = 0;   // guarded by defrag_mu; numbers the copy directories
  std::string live_dir;   // guarded by defrag_mu; where the live environment's lock file is

  Status Rc(int rc, std::string_view context) const { return lmdb::FromRc(rc, context, data_path); }
  std::shared_ptr<lmdb::ReadTxnPool> Pool() const { return std::atomic_load(&pool); }
  // The environment, for the writer (which Defragment never swaps under):
  // others keep Pool() alive while they use it.
  MDB_env* env() const { return pool->env(); }
};

// One server-metadata write, kept for replay.
struct MetaOp {
  std::string key;
  std::optional<std::string> value;  // nullopt = delete
};

// The bookkeeping of one request (Put, DeleteRange, Txn, Compact) inside a
// WriteTxn: where it started, so it can be rolled back alone.
struct Scope {
  int64_t begin_rev = 0;
  size_t begin_events = 0;
  size_t begin_meta = 0;
  size_t begin_compactions = 0;
  int64_t begin_compact_rev = 0;
  uint64_t begin_lmdb_writes = 0;
};

struct WriteState {
  StoreState* s = nullptr;
  MDB_txn* txn = nullptr;   // owned; aborted unless committed
  int64_t rev = 0;          // revision reached inside this WriteTxn
  int64_t compact_rev = 0;  // compact revision inside this WriteTxn
  // Every change, in order. Events double as the undo log of the key index
  // and the redo log of the key database (see Rollback).
  std::vector<mvccpb::Event> events;
  std::vector<MetaOp> meta_ops;
  std::vector<int64_t> compactions;
  std::optional<std::pair<uint64_t, uint64_t>> consistent;
  Status broken;  // sticky
  bool done = false;
  uint64_t lmdb_writes = 0;     // LMDB write attempts, to know whether a rollback must replay
  bool events_prev_kv = false;  // WriteTxn::SetEventsPrevKv
  std::unique_lock<std::mutex> gate;  // StoreState::write_gate, held for this WriteTxn's life
  // While a defrag runs: every successful LMDB write of this transaction, for
  // StoreState::defrag_log at commit.
  bool record = false;
  std::vector<LmdbWrite> recorded;

  ~WriteState();

  Scope Open() const {
    return Scope{rev, events.size(), meta_ops.size(), compactions.size(), compact_rev, lmdb_writes};
  }
  bool Changed(const Scope& sc) const { return events.size() > sc.begin_events; }
  // Revision a read inside the request sees: its own writes included.
  int64_t ReadRev(const Scope& sc) const { return sc.begin_rev + (Changed(sc) ? 1 : 0); }
  int64_t WriteRev(const Scope& sc) const { return sc.begin_rev + 1; }
  int64_t NextSub(const Scope& sc) const {
    return static_cast<int64_t>(events.size() - sc.begin_events);
  }
  // Ends a successful request: it took a revision if it wrote something.
  void Close(const Scope& sc) { rev = ReadRev(sc); }

  // Undoes the request begun at `sc` after a failure: trims the key index,
  // drops its events, and if anything reached LMDB re-creates the LMDB
  // transaction by replaying everything before `sc`. Returns `cause`; a failed
  // replay makes the WriteTxn broken.
  Status Rollback(const Scope& sc, Status cause);
  // Writes the whole WriteTxn again into a fresh LMDB transaction.
  Status Replay();
  // Notes a successful LMDB write for a running defrag (value nullopt: a
  // delete); nothing unless `record`.
  void Record(MDB_dbi dbi, std::string_view key, std::optional<std::string_view> value) {
    if (!record) return;
    recorded.push_back({dbi, std::string(key),
                        value ? std::optional<std::string>(*value) : std::nullopt});
  }

  // Writes one revision of the key database (MDB_APPEND: revisions only grow).
  Status PutRevision(Revision rev, bool tombstone, const mvccpb::KeyValue& kv);
  Status WriteMeta(MDB_dbi dbi, std::string_view key, std::string_view value);
  Status EraseMeta(MDB_dbi dbi, std::string_view key);
  // For each (key, revision) of `live` (keys a DeleteRange at `rev` deletes),
  // the key's KeyValue at rev - 1 (nullopt if it did not exist then), as the
  // prev_kv of its DELETE event. `fetched` (may be null) holds values already
  // read for the response's prev_kvs, in the same order.
  Status FetchPrevKvs(const std::vector<std::pair<const std::string*, Revision>>& live, int64_t rev,
                      const etcdserverpb::DeleteRangeResponse* fetched,
                      std::vector<std::optional<mvccpb::KeyValue>>* out);
  // The state this WriteTxn has reached, read at `read_rev` (read_view.h).
  ReadView View(int64_t read_rev) const;
  // Ok, or why no request may run now (finished or broken).
  Status Usable() const;
  // The key database part of Compact(rev), see compaction.cc.
  Status CompactBackend(int64_t rev);

  // ErrLeaseNotFound unless `lease` is 0 or names a live lease
  // (Options::lease_exists).
  Status CheckLease(int64_t lease) const;

  // Request bodies; `sc` is the enclosing request's scope.
  Status DoPut(const Scope& sc, const etcdserverpb::PutRequest& req,
               etcdserverpb::PutResponse* resp);
  Status DoDeleteRange(const Scope& sc, const etcdserverpb::DeleteRangeRequest& req,
                       etcdserverpb::DeleteRangeResponse* resp);
  Status DoRange(const Scope& sc, const etcdserverpb::RangeRequest& req,
                 etcdserverpb::RangeResponse* resp);
  Status DoTxn(const Scope& sc, const etcdserverpb::TxnRequest& req,
               etcdserverpb::TxnResponse* resp);
};

// Compacts the in-memory index at `rev` in chunks, taking `s->mu` exclusively
// per chunk (compaction.cc).
void CompactIndex(StoreState* s, int64_t rev);

// Rebuilds the index and published state from LMDB (restore.cc). Sets
// *unfinished_compaction to a scheduled but unfinished compaction's revision
// (0 if none) for the caller to complete.
Status RestoreState(StoreState* s, int64_t* unfinished_compaction);
// Opens the LMDB environment and databases (restore.cc).
Status OpenEnv(StoreState* s);
// Removes the leftovers of defrags in `dir` (defrag.cc): only at Open, when
// no environment of the store uses them.
void RemoveDefragCopies(const std::string& dir);
// Reads the compaction marks, consistent index and term from the meta
// database into `s` (restore.cc); *scheduled gets scheduledCompactRev (0 if
// none). Errors: Corruption for a value of the wrong size.
Status RestoreMeta(StoreState* s, MDB_txn* txn, int64_t* scheduled);
// Checks the meta database's etcdd_layout_version (restore.cc). Errors:
// Corruption if absent, FailedPrecondition if another version.
Status CheckLayoutVersion(const StoreState* s, MDB_txn* txn);

}  // namespace etcdd::mvcc::internal
