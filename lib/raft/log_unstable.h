// Unstable: the tail of the Raft log that the state machine has accepted but
// the application has not yet reported persisted (via Ready/Advance).
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

  // Index of the last unstable entry, if there is one.
  std::optional<uint64_t> MaybeLastIndex() const;
  // Term of the unstable entry at `index`, if it is unstable.
  std::optional<uint64_t> MaybeTerm(uint64_t index) const;

  // The application persisted entries up to (index, term): drop them from the
  // unstable tail. Ignored if the entry at `index` was since replaced (term
  // differs) or is not unstable.
  void StableTo(uint64_t index, uint64_t term);

  // Appends `ents` (consecutive, non-empty), first truncating every unstable
  // entry at or after ents[0].index().
  void TruncateAndAppend(const std::vector<raftpb::Entry>& ents);

  // Copies of the unstable entries in [lo, hi); aborts if out of bounds.
  std::vector<raftpb::Entry> Slice(uint64_t lo, uint64_t hi) const;

 private:
  std::vector<raftpb::Entry> entries_;
  uint64_t offset_;
};

}  // namespace etcdd::raft
