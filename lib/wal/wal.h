// The write-ahead log of a member: Raft entries, HardState and snapshot
// markers, in segment files of (by default) 64 MiB, every record checksummed
// with a CRC-32C chained to the record before it. The on-disk format, the
// end-of-log rules and what counts as corruption are in lib/wal/FORMAT.md.
//
// It follows etcd's wal package (go.etcd.io/etcd/wal): Create writes the
// metadata blob first; Save appends a Ready batch and syncs once (group
// commit); segments are cut when they pass the size limit and start with the
// running CRC, the metadata and the last HardState; Open replays from a
// snapshot marker and resolves conflicting suffixes as ReadAll does. Unlike
// etcd, a torn tail is repaired by Open itself (logged, original kept aside)
// and anything else that fails a check refuses to open.
//
// Thread-safety: a Wal is internally synchronized; Save and SaveSnapshot may
// be called from any thread, but the server calls them from its raft loop.
// Ownership: the Logger passed to Create/Open must outlive the Wal. A Wal
// holds an exclusive flock on the segment it appends to.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/file.h"
#include "base/log.h"
#include "base/status.h"
#include "raftpb/raft.pb.h"
#include "wal/file_pipeline.h"

namespace etcdd::wal {

// Marks that a snapshot covering the log up to `index` (at `term`) exists.
struct SnapshotMarker {
  uint64_t index = 0;
  uint64_t term = 0;
};

// What Open replays.
struct Contents {
  std::string metadata;          // the blob given to Create
  raftpb::HardState hard_state;  // last saved HardState (default if none)
  std::vector<raftpb::Entry>
      entries;  // entries after `from.index`, in index order, conflicts resolved
};

inline constexpr uint64_t kDefaultSegmentBytes = 64ull << 20;

struct Options {
  // Segments are preallocated to this size (bytes) and cut once an append
  // reaches it. Tests use small values to exercise cuts.
  uint64_t segment_bytes = kDefaultSegmentBytes;
};

class Wal {
 public:
  // Creates a new WAL in `dir` (created, with parents, if missing) whose first
  // segment holds `metadata`. Leftover "*.wal.tmp" files are removed.
  // Errors: AlreadyExists if `dir` already holds a "*.wal" file,
  // InvalidArgument if options.segment_bytes is 0, IOError.
  static Result<std::unique_ptr<Wal>> Create(const std::string& dir, std::string_view metadata,
                                             Logger& logger, const Options& options = {});

  // True if `dir` holds at least one segment file.
  static bool Exists(const std::string& dir);

  // Opens the WAL in `dir`, verifies and replays it, and positions it for
  // appends. Reading starts at the last segment whose first index is
  // <= from.index + 1 (earlier segments hold nothing after `from`); entries
  // with index <= from.index are skipped. Like etcd's ReadAll, an entry whose
  // index was seen before replaces it and drops everything after it.
  //
  // A torn tail of the last segment (a partial or damaged final record with
  // nothing valid after it) is cut off: the segment is first copied to
  // "<segment>.broken" (or ".broken.N" if that exists), then the bytes after
  // the last good record are zeroed and a warning is logged.
  //
  // Errors: NotFound if `dir` holds no segment ("wal: file not found"), or if
  // from.index != 0 and no marker for it is in the segments read ("wal:
  // snapshot not found"); FailedPrecondition "wal: snapshot mismatch" if the
  // marker's term differs, or if another process holds the WAL; Corruption
  // (Code::kDataLoss, message naming the file and byte offset) for a bad record anywhere but the
  // torn tail, a broken CRC chain, a missing segment, a segment whose first index does not follow
  // on from the previous one, conflicting metadata or a gap in entry indexes; IOError.
  static Result<std::pair<std::unique_ptr<Wal>, Contents>> Open(const std::string& dir,
                                                                const SnapshotMarker& from,
                                                                Logger& logger,
                                                                const Options& options = {});

  // Appends `entries` then `hard_state` (skipped if empty, i.e. all zero) in
  // one write and syncs (fdatasync) once. A call with no entries and an empty
  // HardState does nothing. As etcd's MustSync, the sync is skipped when there
  // are no entries and only the commit index changed (commit is not needed
  // for safety and is re-learnt from the leader). When the segment reaches
  // the size limit a new one is cut (which syncs the new file and directory).
  // Errors: IOError; after any error the WAL is unusable and every later
  // call returns that same error.
  Status Save(const raftpb::HardState& hard_state, const std::vector<raftpb::Entry>& entries);

  // Appends a snapshot marker and syncs. Errors: as Save.
  Status SaveSnapshot(const SnapshotMarker& marker);

  // Syncs records a Save left unsynced (commit-only HardState), best effort.
  ~Wal();

  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

 private:
  Wal(std::string dir, Logger& logger, const Options& options, std::string metadata);

  // Writes buf_ and syncs if `sync`; cuts if the segment is full.
  Status AppendLocked(bool sync);
  Status CutLocked();
  // Records error_ if `s` is an error; returns `s`.
  Status Sticky(Status s);

  const std::string dir_;
  Logger& logger_;
  const Options options_;
  const std::string metadata_;

  std::mutex mu_;
  UniqueFd fd_;              // segment being appended to
  std::string path_;         // its path
  uint64_t seq_ = 0;         // its sequence number
  uint64_t offset_ = 0;      // where the next record goes
  uint32_t crc_ = 0;         // CRC of the last record written
  uint64_t last_index_ = 0;  // index of the last entry written (or marker, if higher)
  raftpb::HardState state_;  // last HardState written
  bool unsynced_ = false;    // records written since the last sync
  std::string buf_;          // batch buffer, reused across calls
  Status error_;             // sticky
  // The next segment's file, prepared in the background; declared last so
  // its thread stops before the rest of the Wal goes away.
  internal::FilePipeline pipeline_;
};

}  // namespace etcdd::wal
