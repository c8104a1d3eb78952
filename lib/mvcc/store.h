// The revisioned key space: etcd's MVCC store (mvcc/kvstore.go and the KV
// part of etcdserver/apply.go) on LMDB. On-disk layout and recovery are in
// lib/mvcc/LAYOUT.md.
//
// Model (etcd's, exactly): a store-wide revision starts at 1 on an empty
// store. Every Put, every DeleteRange that deletes something and every Txn
// that writes something takes the next main revision; the writes inside it are
// numbered by sub revision. Each key carries create_revision, mod_revision,
// version (1 on creation, reset by a delete) and its lease id. Old revisions
// stay readable until compacted.
//
// Writes: one WriteTxn at a time (the server's apply thread). A WriteTxn
// covers a batch of Raft entries; it applies requests one after the other and
// makes all of them, the consistent index and any compaction visible to
// readers at once in Commit(), in one LMDB transaction.
//
// Reads: Range and ReadTxn are thread-safe, read the latest committed state
// (or an older revision) through an LMDB read transaction, and never see a
// partly applied WriteTxn. Readers and the writer share the in-memory key
// index under a short lock: a reader holds it while it walks the index for one
// range or compare (values are read from LMDB after releasing it), the writer
// while it updates the index for one request; an open WriteTxn otherwise never
// delays a read.
//
// Snapshots: WriteSnapshot copies the whole backend to one file without
// stopping writes; RestoreFrom replaces the store's whole state with a
// snapshot's, atomically for readers; HashKV is etcd's consistency hash.
//
// Errors carry etcd's gRPC codes and message strings (see mvcc/errors.h).
// Requests are not validated here: the server runs mvcc/validate.h first, as
// etcd's v3rpc layer does.
//
// Ownership: Store::Open returns the only owner. Every WriteTxn must be
// destroyed before its Store.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "etcdserverpb/rpc.pb.h"
#include "mvcc/raw_view.h"
#include "mvccpb/kv.pb.h"

namespace etcdd::mvcc {

namespace internal {
struct StoreState;
struct WriteState;
}  // namespace internal

struct Options {
  // LMDB map size: the largest the database file may grow, in bytes. Default
  // 2 GiB, etcd's default backend quota. A write that needs more fails with
  // ResourceExhausted "etcdserver: mvcc: database space exceeded"; give the
  // map some room above the server's quota.
  uint64_t map_size_bytes = 2ull << 30;
  // true: every Commit() is durable (LMDB fsyncs). false (default): commits
  // are not fsynced (MDB_NOSYNC); the server's WAL provides durability and the
  // server calls Sync() before it releases WAL entries (see LAYOUT.md).
  bool sync_on_commit = false;
  // Whether a lease id names a live lease (etcd's lessor.Lookup). A Put, or a
  // put in the branch a Txn takes, with a nonzero lease for which this is
  // false fails with NotFound "etcdserver: requested lease not found". Unset:
  // no lease exists, so every nonzero lease is refused.
  std::function<bool(int64_t lease_id)> lease_exists;
  // Told after every Sync() (Env::NoteSyncedOutside of the data file), so a
  // FaultEnv can put the backend back to its last sync on a simulated power
  // cut; LMDB's own writes cannot go through an Env. nullptr: nobody.
  Env* env = nullptr;
};

// What a snapshot file written by Store::WriteSnapshot holds (InspectSnapshot).
struct SnapshotInfo {
  uint64_t consistent_index = 0;  // last applied Raft index recorded with the data; 0 if none
  uint64_t consistent_term = 0;   // that entry's term
  int64_t revision = 1;           // the store revision (CurrentRevision()) of the copy
  std::map<std::string, std::string> meta;  // every server metadata key/value (GetMeta)
  int64_t compact_revision = 0;             // CompactRevision() of the copy; 0 if never compacted
};

// What Store::Defragment did. Sizes are those of data.mdb, in bytes.
struct DefragStats {
  uint64_t db_size_before = 0;
  uint64_t db_size_after = 0;
  uint64_t replayed_writes = 0;  // LMDB writes committed during the copy, replayed onto it
  uint64_t paused_writes = 0;    // of those, replayed while writers waited
  std::chrono::microseconds pause{0};  // how long the swap held writers off
  std::chrono::microseconds took{0};   // the whole defragmentation
};

class Store {
 public:
  class WriteTxn;

  // Opens or creates the backend in directory `dir` (created if missing;
  // LMDB files data.mdb and lock.mdb) and rebuilds the key index from it.
  // Errors: IOError, Corruption (DataLoss) naming the file, FailedPrecondition
  // for an unknown layout version.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const Options& opts);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // etcd's Range (apply.go applierV3backend.Range): single key, [key,
  // range_end), from-key (range_end "\0"); revision <= 0 reads the current
  // revision; limit with more/count; sort (order NONE with a target other than
  // KEY sorts ascending; sorting and the min/max revision filters happen
  // before limit, count is the number of keys in range before filtering);
  // keys_only, count_only. header.revision is the current revision (also for
  // historical reads); the server fills the other header fields.
  // Errors: OutOfRange ErrCompacted (revision < compact revision),
  // ErrFutureRev (revision > current revision); Corruption, IOError.
  // Thread-safe.
  Result<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& req) const;

  // etcd's Txn for a read-only request (see IsReadOnly), served without the
  // writer as etcd 3.4's server does (v3_server.go Txn: isTxnReadonly ->
  // applyV3Base.Txn on a read view): the compares (nested ones too) and the
  // ranges of the branches taken all read one consistent snapshot, the latest
  // committed revision when the call starts; a WriteTxn committing meanwhile is
  // not seen. The response is the one WriteTxn::Txn gives for the same request
  // on that state: succeeded, responses, nested TxnResponses with an empty
  // header; header.revision is the snapshot's revision. Linearizable or
  // serializable is the caller's choice (wait for the read index first, or not).
  // Errors: FailedPrecondition if !IsReadOnly(req) (a caller bug); the range
  // errors of WriteTxn::Txn (ErrFutureRev, ErrCompacted for a range revision
  // below the compact revision), checked before any range runs; Corruption,
  // IOError. A compaction committing during the call never fails it: the
  // call then reads again from a newer snapshot.
  // Thread-safety: as Range.
  Result<etcdserverpb::TxnResponse> ReadTxn(const etcdserverpb::TxnRequest& req) const;
  // True if no branch of `req`, nested txns included, holds a Put or a
  // DeleteRange (or an empty op, which etcd also counts as a write). etcd
  // 3.4's isTxnReadonly also refuses every nested txn; serving read-only
  // nested txns locally gives the same result, so we accept them.
  static bool IsReadOnly(const etcdserverpb::TxnRequest& req);

  int64_t CurrentRevision() const;    // committed; 1 on an empty store
  int64_t CompactRevision() const;    // last compaction's revision; 0 if never compacted
  uint64_t ConsistentIndex() const;   // last applied Raft index committed with the data; 0 if none
  uint64_t ConsistentTerm() const;    // the term recorded with it
  uint64_t DbSizeBytes() const;       // size of data.mdb in bytes
  uint64_t DbSizeInUseBytes() const;  // pages holding data or free-list, times page size

  // The server's own metadata (members, cluster id, ...), kept in a database of
  // its own beside the key space and written with WriteTxn::PutMeta. Keys are
  // 1 to 511 bytes (LMDB's limit). Returns nullopt if `key` is absent.
  // Errors: IOError, Corruption.
  Result<std::optional<std::string>> GetMeta(std::string_view key) const;
  // All server metadata whose key starts with `prefix`, in key order.
  Result<std::vector<std::pair<std::string, std::string>>> ListMeta(std::string_view prefix) const;

  // A read-only view of the raw databases (raw_view.h), all read from one
  // LMDB read transaction taken now: the latest committed state. Errors:
  // Unavailable when LMDB's reader table is full; IOError, Corruption.
  // Thread-safe.
  Result<std::unique_ptr<RawView>> OpenRawView() const;

  // Flushes committed transactions to disk (fdatasync), then tells
  // Options::env (if set). Errors: IOError.
  Status Sync();

  // etcd's Maintenance.HashKV (mvcc/kvstore.go HashByRev): the CRC-32C of the
  // key space as of `revision` (a main revision; <= 0: the current revision,
  // where etcd hashes nothing for a negative one), computed
  // exactly as etcd does over the key database in revision order: the bytes
  // "key", then, for every stored revision <= `revision`, its key bytes
  // (LAYOUT.md encoding, tombstones with their 't') followed by its stored
  // KeyValue bytes. Revisions <= the compact revision are included only if
  // they hold a key's live value at `revision` (etcd skips those a compaction
  // at `revision` would drop; and like etcd, none is skipped when no key is
  // live at `revision`). The result depends only on the applied writes and the
  // compact revision, never on LMDB's page layout, so two members that
  // applied the same entries and compacted at the same revision agree.
  // Returns {hash, compact revision}; the compact revision is etcd's
  // compactMainRev, -1 if never compacted (what etcd's HashKVResponse
  // carries). Compare hashes only between equal compact revisions.
  // Errors (etcd's): OutOfRange ErrCompacted when 0 < revision <= compact
  // revision; OutOfRange ErrFutureRev when revision > CurrentRevision();
  // Corruption, IOError. Thread-safe; a consistent snapshot, never blocks the
  // writer except while the key index is walked (as Range).
  Result<std::pair<uint32_t, int64_t>> HashKV(int64_t revision) const;

  // History for watchers catching up (etcd's syncWatchers reading the
  // revision-keyed bucket): the events on keys in a range, in revision order.
  // Range forms as Range: empty range_end = the single key `key`; "\0" = every
  // key >= key; otherwise [key, range_end).
  //
  // Reads the committed revisions [from_revision, to_revision] (to_revision
  // <= 0 or above the current revision: up to the current revision) from one
  // LMDB snapshot, in revision order and sub-revision order within a
  // revision. Each event is the one WriteTxn::Events() reported for that
  // change, prev_kv included when `with_prev_kv` (same rule as
  // SetEventsPrevKv; like etcd, a change at revision R gets no prev_kv when
  // R - 1 is below the compact revision, where the old value is gone).
  //
  // `limit` (0 = none) bounds the number of events, but a revision is never
  // split: the batch ends before the first revision that would exceed it, or
  // holds just that whole revision if it alone exceeds it, so a batch always
  // progresses. Continue from EventBatch::next_revision.
  //
  // Cost: scans every stored revision in [from, to] (LMDB cursor in
  // revision order; each entry's key is read from the value's first bytes
  // without parsing it), parses only the matching ones, so it is linear in the
  // revisions in the window, not in the history before it nor in the key
  // space. with_prev_kv adds, per non-create event, a key-index lookup (all
  // under one shared hold of the store lock, like a Range walk) and one LMDB
  // read.
  //
  // Errors: OutOfRange ErrCompacted when from_revision < the compact
  // revision: etcd's rule (watcher_group.go chooseAll: minRev < compactRev),
  // so a watcher restarting from the CompactRevision it was told about
  // succeeds. Note that, as in etcd, history at exactly the compact
  // revision lacks its DELETE events (compaction removes tombstones <= it).
  // Corruption for an undecodable entry; IOError. A compaction or
  // RestoreFrom committing during the call never fails it: it reads again.
  // Thread-safe; never blocks the writer except during the index lookups.
  struct EventBatch {
    std::vector<mvccpb::Event> events;
    // The first revision not covered: to_revision + 1 (after clamping) when
    // the window was read to its end, else the revision of the first event
    // left out by `limit`. from_revision if the window is empty (from > to).
    int64_t next_revision = 0;
    int64_t current_revision = 0;  // the snapshot's CurrentRevision()
    int64_t compact_revision = 0;  // the snapshot's CompactRevision() (0: never)
  };
  Result<EventBatch> ReadEvents(std::string_view key, std::string_view range_end,
                                int64_t from_revision, int64_t to_revision, size_t limit,
                                bool with_prev_kv) const;

  // Backend snapshots for Raft (etcd's backend snapshot / snapshot install).
  //
  // A snapshot file is a compacted LMDB copy of the whole backend (key space,
  // compaction marks, consistent index and term, server metadata) as of one
  // LMDB read transaction, followed by a 20-byte trailer holding its length
  // and CRC-32C (LAYOUT.md, "Snapshot files"). The LMDB part opens with any
  // LMDB tool (MDB_NOSUBDIR); the trailer lets a damaged file be refused
  // before LMDB reads it.
  //
  // WriteSnapshot writes the copy to `path + ".tmp"`, fsyncs it, renames it
  // over `path` and fsyncs the directory: a crash leaves the old `path` (or
  // none) and maybe a stale .tmp, never a partial `path`. Writers are not
  // blocked (the copy reads an LMDB snapshot; pages it pins stay allocated
  // until it ends). The copy is read back once to compute its CRC.
  // Errors: IOError naming the file; Internal. Thread-safe.
  Status WriteSnapshot(const std::string& path) const;

  // Reads a snapshot file without modifying it (opened read-only, no lock
  // file). Verifies the trailer's length and CRC over the whole file, then the
  // layout (databases, layout version, meta encodings, last revision key).
  // Errors: NotFound if `path` does not exist; Corruption (DataLoss) naming
  // the path for a file that is not a complete etcdd snapshot (empty,
  // truncated, garbage, bit flips, a plain LMDB file without trailer, another
  // layout); FailedPrecondition for another etcdd layout version; IOError.
  static Result<SnapshotInfo> InspectSnapshot(const std::string& path);

  // Replaces the whole contents of this store (key space, index, compaction
  // marks, consistent index and term, server metadata) by the snapshot's, as
  // Raft snapshot installation needs. The file is validated first (as
  // InspectSnapshot, plus every revision key and value) and the map checked
  // to hold the current data plus the snapshot's (else ResourceExhausted
  // ErrNoSpace); then the store lock is held exclusively while the old
  // contents are removed and the snapshot's copied in, in LMDB write
  // transactions of 16 MiB each (heap stays bounded whatever the size), the
  // consistent index last (LAYOUT.md, "Restore"). So a concurrent Range,
  // ReadTxn or HashKV sees the old state (it started before) or the new one
  // (it waited), never a mix. A crash meanwhile leaves a backend whose
  // consistent index is 0, into which a restart installs the file again.
  // The Store object, its directory and environment stay the same;
  // CurrentRevision, CompactRevision, ConsistentIndex/Term, GetMeta and the
  // next WriteTxn all continue from the snapshot's state. data.mdb does not
  // shrink (LMDB never does; the old pages join the free list). Memory: the
  // new key index is built before the old is freed.
  // Must not run while a WriteTxn is open (FailedPrecondition); call it on
  // the writer's (apply) thread, and do not BeginWrite meanwhile.
  // Errors found before anything changes (those of InspectSnapshot;
  // ResourceExhausted; FailedPrecondition) leave the store as it was; an
  // IOError (or an LMDB failure) once the copy started leaves it emptied or
  // half-installed: the caller must stop using it and reopen the backend
  // (the server stops, and installs the snapshot again at restart).
  Status RestoreFrom(const std::string& path);

  // Returns the free pages of data.mdb to the filesystem, as etcd's
  // backend.Defrag (mvcc/backend/backend.go) does, without stopping reads or
  // writes (LAYOUT.md, "Defragmentation"): a compacting copy of the
  // environment (mdb_env_copy2, MDB_CP_COMPACT) into `dir/defrag-N/`, made
  // while WriteTxns go on and record their LMDB writes; the recorded writes
  // are replayed onto the copy in rounds; then, holding off the writer only
  // while the last few (at most ~2048) replay and the copy is fsynced, the
  // copy is renamed over data.mdb and becomes the live environment. Readers
  // never wait; those still reading the old environment finish on it. A
  // crash at any point leaves the old data.mdb or the complete new one (the
  // new one is fsynced before the rename, the directory after it); Open
  // removes a half-made copy. Only one runs at a time (a second call waits,
  // then defragments again). May run on any thread; the caller's WriteTxn,
  // if any, must not be open on the same thread.
  // Errors: IOError (disk full while copying: nothing changed), Unavailable if a
  // RestoreFrom ran meanwhile (nothing changed), Internal.
  Result<DefragStats> Defragment();

  // Starts the write transaction. Only one may exist at a time, and it must be
  // used and destroyed on the thread that began it (LMDB's writer lock).
  // Errors: FailedPrecondition if another WriteTxn is open; IOError.
  Result<std::unique_ptr<WriteTxn>> BeginWrite();

  class WriteTxn {
   public:
    ~WriteTxn();  // aborts if not committed: nothing of it stays, in memory or on disk
    WriteTxn(const WriteTxn&) = delete;
    WriteTxn& operator=(const WriteTxn&) = delete;

    // Each request below is atomic: on error nothing of that request remains
    // and the WriteTxn stays usable, except after a failed rollback (an LMDB
    // failure while re-applying earlier requests), which is sticky: every later
    // call and Commit() return that error. Responses carry header.revision
    // only.

    // etcd's Put: takes a new revision (header.revision). prev_kv returns the
    // previous value; ignore_value/ignore_lease keep the current value/lease.
    // Errors: InvalidArgument ErrKeyNotFound (ignore_value/ignore_lease on a
    // missing key), ResourceExhausted ErrNoSpace, IOError.
    Result<etcdserverpb::PutResponse> Put(const etcdserverpb::PutRequest& req);
    // etcd's DeleteRange over the range forms of Range; takes a new revision
    // only if something was deleted (else header.revision is the current one).
    Result<etcdserverpb::DeleteRangeResponse> DeleteRange(
        const etcdserverpb::DeleteRangeRequest& req);
    // etcd 3.4's Txn: all compares (nested ones too) are evaluated against the
    // state before the txn; a range compare holds only if every key in range
    // satisfies it; a missing key compares as version/create/mod/lease 0 and a
    // VALUE compare on a missing key fails. Ops run in order, reads see the
    // txn's earlier writes, all writes share one main revision with increasing
    // sub revisions. header.revision is the revision after the txn; nested
    // TxnResponses carry an empty header, as in etcd.
    // Errors: as Put and Range (checked before anything is written).
    Result<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& req);
    // etcd's Compact: drops every revision <= req.revision() except each key's
    // value at that revision (a key deleted by then loses all of them).
    // Physical: done synchronously in this transaction, so `physical` always
    // holds once Commit() returns. header.revision is the current revision.
    // Errors: OutOfRange ErrCompacted (revision <= compact revision),
    // ErrFutureRev (revision > current revision).
    Result<etcdserverpb::CompactionResponse> Compact(const etcdserverpb::CompactionRequest& req);
    // Range reading this transaction's state, uncommitted writes included.
    Result<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& req);

    // Server metadata (see Store::GetMeta). Errors: ErrNoSpace, IOError.
    Status PutMeta(std::string_view key, std::string_view value);
    Status DeleteMeta(std::string_view key);
    // Records the Raft entry (index, term) the batch ends with; written in the
    // same LMDB transaction as the data at Commit().
    void SetConsistentIndex(uint64_t index, uint64_t term);

    // The revision this transaction has reached (CurrentRevision() plus the
    // revisions taken so far).
    int64_t Revision() const;
    // One event per key written so far, in revision order (sub-revision
    // order within a revision): PUT events carry the stored KeyValue; DELETE
    // events carry key and mod_revision (the deletion's revision), as etcd's
    // watch events do. prev_kv: see SetEventsPrevKv. Store::ReadEvents later
    // returns the same events for these revisions (with prev_kv when the flag
    // was on; see ReadEvents for the compact revision itself).
    // Valid until the WriteTxn is destroyed (also after Commit).
    const std::vector<mvccpb::Event>& Events() const;
    // Whether the events of the requests applied from now on carry prev_kv
    // (default false). When on, every event except a creation (a PUT with
    // create_revision == mod_revision) carries the key's KeyValue as of
    // revision mod_revision - 1, absent if the key did not exist then:
    // exactly what etcd's watch server sends with prev_kv (v3rpc/watch.go
    // reads the key at mod_revision - 1 for every non-create event).
    // Cost when on: per overwritten or deleted key, one LMDB lookup in this
    // write transaction (none when the request asked for prev_kv itself, or
    // for a put with ignore_value/ignore_lease, which already read it) plus a
    // KeyValue parse and copy held in memory until the WriteTxn is destroyed.
    // Off: nothing. The server turns it on while some watcher wants prev_kv;
    // events applied while it was off can be read again with ReadEvents.
    void SetEventsPrevKv(bool on);

    // Commits data, compaction, metadata and the consistent index in one LMDB
    // transaction and makes them visible to readers. Errors: IOError,
    // ErrNoSpace, or the sticky error; on error nothing of this WriteTxn is
    // committed and it accepts no further calls (the server must not report
    // its entries as applied).
    Status Commit();

   private:
    friend class Store;
    explicit WriteTxn(std::unique_ptr<internal::WriteState> w);
    std::unique_ptr<internal::WriteState> w_;
  };

 private:
  explicit Store(std::unique_ptr<internal::StoreState> s);
  // Runs a compaction that was scheduled but not finished in the backend
  // (never the case for a backend written by etcdd), as etcd's restore does.
  Status FinishScheduledCompaction(int64_t rev);
  std::unique_ptr<internal::StoreState> s_;
};

}  // namespace etcdd::mvcc
