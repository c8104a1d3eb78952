// Unstable: the tail of the Raft log that the state machine has accepted but
// the application has not yet reported persisted (via Ready/Advance).
//
// It may also hold an incoming snapshot (from the leader's MsgSnap) that the
// application has not persisted yet; the unstable entries then follow it.
//
// entries_[i] has log index offset_ + i. offset_ may be below the storage's
// last index: the next write to storage then truncates the stored log before
// appending these entries (a follower replacing a conflicting suffix).
//
// Internal to lib/raft; mirrors etcd's log_unstable.go. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "raftpb/raft.pb.h"

namespace etcdd::raft {

class Unstable {
 public:
  explicit Unstable(uint64_t offset) : offset_(offset) {}

  uint64_t offset() const { return offset_; }
  const std::vector<raftpb::Entry>& entries() const { return entries_; }
  const std::optional<raftpb::Snapshot>& snapshot() const { return snapshot_; }

  // The index after the pending snapshot, if there is one.
  std::optional<uint64_t> MaybeFirstIndex() const;

  // Index of the last unstable entry, else of the pending snapshot, if any.
  std::optional<uint64_t> MaybeLastIndex() const;
  // Term of the unstable entry (or pending snapshot) at `index`, if any.
  std::optional<uint64_t> MaybeTerm(uint64_t index) const;

  // The application persisted entries up to (index, term): drop them from the
  // unstable tail. Ignored if the entry at `index` was since replaced (term
  // differs) or is not unstable.
  void StableTo(uint64_t index, uint64_t term);

  // The application persisted the snapshot at `index`: forget it.
  void StableSnapTo(uint64_t index);
  // Replaces everything with `snap`: no entries, offset after it.
  void Restore(const raftpb::Snapshot& snap);

  // Appends `ents` (consecutive, non-empty), first truncating every unstable
  // entry at or after ents[0].index().
  void TruncateAndAppend(const std::vector<raftpb::Entry>& ents);

  // Copies of the unstable entries in [lo, hi); aborts if out of bounds.
  std::vector<raftpb::Entry> Slice(uint64_t lo, uint64_t hi) const;

 private:
  std::optional<raftpb::Snapshot> snapshot_;
  std::vector<raftpb::Entry> entries_;
  uint64_t offset_;
};

}  // namespace etcdd::raft
