// Storage: the persisted Raft log as the state machine reads it.
//
// Mirrors etcd's raft.Storage. The application writes to its storage (WAL,
// MemoryStorage) when it handles a Ready; the Raft state machine only reads
// through this interface, for entries that are already stable. Unstable
// entries live inside the state machine until Advance() reports them
// persisted.
//
// Indexes: the log holds entries FirstIndex()..LastIndex(). The entry just
// before FirstIndex() (index FirstIndex()-1) is the "dummy" left by the last
// snapshot or compaction: its term is still available from Term() for the
// log-matching check, its data is not. A brand-new storage has FirstIndex()==1
// and LastIndex()==0.
//
// Errors: an index that was compacted away is OutOfRange with etcd's message
// "requested index is unavailable due to compaction" (ErrCompacted()); one past
// the end of the log is Unavailable "requested entry at index is unavailable"
// (ErrUnavailable()). The state machine treats any other error from a Storage
// as fatal, as etcd's raft panics on them.
//
// Thread-safety: implementations decide; the state machine calls them from the
// thread that drives it.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "base/status.h"
#include "raftpb/raft.pb.h"

namespace etcdd::raft {

// OutOfRange "requested index is unavailable due to compaction" (etcd's
// ErrCompacted).
Status ErrCompacted();
// Unavailable "requested entry at index is unavailable" (etcd's
// ErrUnavailable).
Status ErrUnavailable();
// FailedPrecondition "requested index is older than the existing snapshot"
// (etcd's ErrSnapOutOfDate).
Status ErrSnapOutOfDate();

// True if `s` is ErrCompacted() (compared by code).
inline bool IsCompacted(const Status& s) { return s.code() == Code::kOutOfRange; }
// True if `s` is ErrUnavailable() (compared by code).
inline bool IsUnavailable(const Status& s) { return s.code() == Code::kUnavailable; }

class Storage {
 public:
  virtual ~Storage() = default;

  // The saved HardState and the ConfState of the latest snapshot (empty when
  // there is none; the configuration then comes from replaying the log's
  // ConfChange entries).
  virtual Result<std::pair<raftpb::HardState, raftpb::ConfState>> InitialState() const = 0;

  // Entries in [lo, hi), at most `max_bytes` of encoded entries in total but
  // at least one entry if the range is not empty. Errors: ErrCompacted() if
  // lo <= the dummy index, ErrUnavailable() if there are no entries at all.
  virtual Result<std::vector<raftpb::Entry>> Entries(uint64_t lo, uint64_t hi,
                                                     uint64_t max_bytes) const = 0;

  // The term of entry `index`, which must be in [FirstIndex()-1, LastIndex()].
  // Errors: ErrCompacted() below that range, ErrUnavailable() above it.
  virtual Result<uint64_t> Term(uint64_t index) const = 0;

  // Index of the first entry possibly available through Entries().
  virtual uint64_t FirstIndex() const = 0;

  // Index of the last entry in the log (the dummy's index if there is none).
  virtual uint64_t LastIndex() const = 0;

  // The most recent snapshot (empty metadata if none was taken).
  virtual Result<raftpb::Snapshot> GetSnapshot() const = 0;
};

}  // namespace etcdd::raft
