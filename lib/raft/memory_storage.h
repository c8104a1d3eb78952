// MemoryStorage: a Storage backed by an in-memory vector, like etcd's
// raft.MemoryStorage.
//
// The server fills it at restart from the WAL (SetHardState + Append), hands it
// to the RawNode through Config::storage, and keeps appending every Ready's
// entries to it. Tests use it as the "disk" that survives a simulated crash.
//
// Layout: ents_[0] is a dummy entry carrying the index and term of the last
// snapshot/compaction point (0/0 for a new storage); ents_[i] has log index
// ents_[0].index() + i.
//
// Thread-safety: every method takes an internal mutex, so the raft loop can
// read while another thread appends or compacts. Errors are returned as
// Status; none of these methods aborts.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "raft/storage.h"
#include "raftpb/raft.pb.h"

namespace etcdd::raft {

class MemoryStorage : public Storage {
 public:
  // An empty log: FirstIndex() 1, LastIndex() 0, empty HardState.
  MemoryStorage();

  // Saves the HardState returned by InitialState(). Never fails.
  Status SetHardState(const raftpb::HardState& hs);

  // Appends entries, which must have consecutive indexes. Entries at or below
  // the compaction point are skipped; an entry that overlaps the existing log
  // replaces it and everything after it (a conflicting suffix is truncated).
  // Errors: InvalidArgument if the indexes are not consecutive or the first new
  // entry would leave a gap after LastIndex() ("missing log entry").
  Status Append(const std::vector<raftpb::Entry>& entries);

  // Replaces the whole contents with the snapshot: the log becomes empty after
  // the snapshot's index. Errors: ErrSnapOutOfDate() if the snapshot is not
  // newer than the current one.
  Status ApplySnapshot(const raftpb::Snapshot& snap);

  // Records a snapshot of the state machine at `index` (which must be <=
  // LastIndex()) with `data`, and `conf_state` if not null (else the previous
  // snapshot's ConfState is kept). Does not compact the log; call Compact().
  // Errors: ErrSnapOutOfDate() if index <= the current snapshot's index,
  // InvalidArgument if index > LastIndex().
  Result<raftpb::Snapshot> CreateSnapshot(uint64_t index, const raftpb::ConfState* conf_state,
                                          std::string data);

  // Discards the entries before `index`; entry `index` becomes the dummy
  // (its term is kept). The caller must not compact past its applied index.
  // Errors: ErrCompacted() if index <= the current compaction point,
  // InvalidArgument if index > LastIndex().
  Status Compact(uint64_t index);

  Result<std::pair<raftpb::HardState, raftpb::ConfState>> InitialState() const override;
  Result<std::vector<raftpb::Entry>> Entries(uint64_t lo, uint64_t hi,
                                             uint64_t max_bytes) const override;
  Result<uint64_t> Term(uint64_t index) const override;
  uint64_t FirstIndex() const override;
  uint64_t LastIndex() const override;
  Result<raftpb::Snapshot> GetSnapshot() const override;

 private:
  uint64_t FirstIndexLocked() const { return ents_[0].index() + 1; }
  uint64_t LastIndexLocked() const { return ents_[0].index() + ents_.size() - 1; }

  mutable std::mutex mu_;
  raftpb::HardState hard_state_;     // guarded by mu_
  raftpb::Snapshot snapshot_;        // guarded by mu_
  std::vector<raftpb::Entry> ents_;  // guarded by mu_; never empty (dummy first)
};

}  // namespace etcdd::raft
