// RaftLog: the replicated log as one member sees it, the stable part read from
// Storage plus the Unstable tail not yet persisted. Mirrors etcd's log.go.
//
// Invariants (checked by CheckInvariants()):
//   FirstIndex()-1 <= applied <= committed <= LastIndex()  (the first one
//   only once a snapshot being installed was reported applied)
//   unstable.offset() <= storage LastIndex() + 1
//   entry indexes are consecutive and terms never decrease along the log
// `committed` is the highest index known to be stored on a quorum; `applied`
// the highest index handed to the application in a Ready and acknowledged by
// Advance(). Committed entries are never truncated: an attempt to do so aborts
// (it means a peer or the local storage broke Raft's guarantees).
//
// Internal to lib/raft. Not thread-safe; the Storage it reads must be.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/status.h"
#include "raft/log_unstable.h"
#include "raft/storage.h"
#include "raftpb/raft.pb.h"

namespace etcdd::raft {

class RaftLog {
 public:
  // Starts from what `storage` holds: committed and applied at the compaction
  // point, everything after it stable. `max_next_ents_size` caps (in bytes) the
  // committed entries returned by NextEntries().
  RaftLog(const Storage* storage, uint64_t max_next_ents_size);

  uint64_t committed() const { return committed_; }
  uint64_t applied() const { return applied_; }
  const Unstable& unstable() const { return unstable_; }

  uint64_t FirstIndex() const;
  uint64_t LastIndex() const;
  uint64_t LastTerm() const;

  // Term of entry `index`: 0 outside [FirstIndex()-1, LastIndex()];
  // ErrCompacted()/ErrUnavailable() if storage no longer has it.
  Result<uint64_t> Term(uint64_t index) const;
  // Term(), with 0 for a compacted index.
  uint64_t TermOrZero(uint64_t index) const;
  bool MatchTerm(uint64_t index, uint64_t term) const;

  // Whether a log ending at (last_index, term) is at least as up to date as
  // this one (Raft paper §5.4.1).
  bool IsUpToDate(uint64_t last_index, uint64_t term) const;

  // The follower side of AppendEntries: if the entry at `index` has term
  // `log_term`, appends `ents` (dropping those already present, truncating a
  // conflicting suffix), commits up to min(committed, last new index) and
  // returns the last new index. Returns nullopt if the log does not match.
  std::optional<uint64_t> MaybeAppend(uint64_t index, uint64_t log_term, uint64_t committed,
                                      const std::vector<raftpb::Entry>& ents);
  // Appends entries (consecutive, starting at most one past LastIndex() and
  // above `committed`); returns the new last index.
  uint64_t Append(const std::vector<raftpb::Entry>& ents);

  // The index of the first entry in `ents` whose term differs from this log's
  // (or that this log lacks); 0 if this log already holds all of them.
  uint64_t FindConflict(const std::vector<raftpb::Entry>& ents) const;
  // The largest index <= `index` whose term is <= `term` (the first index that
  // could possibly match a log whose entry at `index` has term `term`). Used
  // for the fast backtracking of rejected appends on both sides.
  uint64_t FindConflictByTerm(uint64_t index, uint64_t term) const;

  // Entries [index, LastIndex()], at most `max_bytes` (at least one).
  // Errors: ErrCompacted() if `index` is below FirstIndex().
  Result<std::vector<raftpb::Entry>> EntriesFrom(uint64_t index, uint64_t max_bytes) const;
  // Entries [lo, hi), at most `max_bytes` (at least one). Errors:
  // ErrCompacted() if lo < FirstIndex(); aborts if hi > LastIndex()+1.
  Result<std::vector<raftpb::Entry>> Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;

  // Committed entries not yet applied, at most max_next_ents_size bytes.
  std::vector<raftpb::Entry> NextEntries() const;
  bool HasNextEntries() const;

  // Raises committed to `index` (never lowers it); aborts if past LastIndex().
  void CommitTo(uint64_t index);
  // Commits `max_index` if its entry has term `term` (a leader commits only
  // entries of its own term, Raft paper §5.4.2). Returns true if it advanced.
  bool MaybeCommit(uint64_t max_index, uint64_t term);
  // Records that entries up to `index` were applied; aborts unless
  // applied <= index <= committed.
  void AppliedTo(uint64_t index);
  // Records that the application persisted entries up to (index, term).
  void StableTo(uint64_t index, uint64_t term) { unstable_.StableTo(index, term); }
  // Records that the application persisted the snapshot at `index`.
  void StableSnapTo(uint64_t index) { unstable_.StableSnapTo(index); }

  // Replaces the log with `snap` (a follower installing the leader's
  // snapshot): empty after it, committed at its index. The snapshot is
  // unstable until the application persists it.
  void Restore(const raftpb::Snapshot& snap);
  // The pending unstable snapshot, else the storage's. Errors: the storage's.
  Result<raftpb::Snapshot> Snapshot() const;

  // The log invariants listed above; a non-ok Status names the broken one.
  Status CheckInvariants() const;

 private:
  const Storage* storage_;
  Unstable unstable_;
  uint64_t committed_;
  uint64_t applied_;
  uint64_t max_next_ents_size_;
};

}  // namespace etcdd::raft
