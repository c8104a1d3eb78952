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
// Retention (etcd: ValidSnapshotEntries, ReleaseLockTo and the server's
// purgeFile with --max-wals): at restart ValidSnapshotMarkers lists the
// markers Open may start from; after a snapshot is durable, ReleaseTo marks
// the segments before it as no longer needed and PurgeReleased deletes the
// oldest of those while there are more segment files than --max-wals.
//
// Thread-safety: a Wal is internally synchronized; Save and SaveSnapshot may
// be called from any thread, but the server calls them from its raft loop.
// ReleaseTo and PurgeReleased may be called from any thread (etcd purges from
// its own goroutine); PurgeReleased does not block Save while it deletes.
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

#include "base/env.h"
#include "base/file.h"
#include "base/log.h"
#include "base/status.h"
#include "raftpb/raft.pb.h"
#include "wal/file_pipeline.h"
#include "wal/segment.h"

namespace etcdd::wal {

// Marks that a snapshot covering the log up to `index` (at `term`) exists.
struct SnapshotMarker {
  uint64_t index = 0;
  uint64_t term = 0;

  bool operator==(const SnapshotMarker&) const = default;
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
  // The file layer every write, sync, rename and removal goes through; it
  // must outlive the Wal. nullptr: Env::Default(). Tests pass a FaultEnv.
  Env* env = nullptr;
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

  // Reads the WAL in `dir` and returns the snapshot markers a restart may
  // pass to Open, in log order (etcd: wal.ValidSnapshotEntries). The caller
  // picks the newest one it also has a snapshot for.
  //
  // A marker is valid if its index is <= the commit index of the last
  // HardState in the log, as in etcd: a marker written for a snapshot from
  // the leader, before the HardState that commits it reached the disk, is
  // not. It must also still be openable: the oldest remaining segment must
  // start at or before it (after PurgeReleased, markers before the oldest
  // segment's first index are gone or useless). The implicit marker {0, 0}
  // ("from the beginning") comes first exactly when Open from it is possible,
  // i.e. the oldest segment starts at index 1 (always true while segment 0
  // exists); explicit markers with index 0 are not repeated.
  //
  // Read-only: takes no lock, so it works whether or not a Wal is open on
  // `dir`, and repairs nothing. A torn tail of the last segment ends the read
  // (logged at info level); Open repairs it later.
  // Errors: NotFound "wal: file not found in <dir>" if `dir` holds no
  // segment; Corruption (Code::kDataLoss) for anything Open would refuse
  // except a torn tail (a bad record before the tail, a broken CRC chain, a
  // missing segment, ...); IOError.
  static Result<std::vector<SnapshotMarker>> ValidSnapshotMarkers(const std::string& dir,
                                                                  Logger& logger);

  // Opens the WAL in `dir`, verifies and replays it, and positions it for
  // appends. Reading starts at the last segment whose first index is
  // <= max(from.index, 1), as etcd's searchIndex: such a segment was started
  // before the marker for `from` was written and before every entry after
  // it. Entries with index <= from.index are skipped. Like etcd's ReadAll, an
  // entry whose index was seen before replaces it and drops everything after
  // it; a skipped entry read after kept ones is such a rewrite too and drops
  // them all. Segments before the one reading starts at count as released
  // (see ReleaseTo).
  //
  // A torn tail of the last segment (a partial or damaged final record with
  // nothing valid after it) is cut off: the segment is first copied to
  // "<segment>.broken" (or ".broken.N" if that exists), then the bytes after
  // the last good record are zeroed and a warning is logged.
  //
  // Errors: NotFound "wal: file not found in <dir>" if `dir` holds no
  // segment; NotFound "wal: file not found: first segment <file> starts
  // after snapshot index <n>" (etcd's ErrFileNotFound) if every segment
  // starts after `from`, e.g. Open from {0, 0} after a purge; NotFound "wal:
  // snapshot not found" if from.index != 0 and no marker for it is in the
  // segments read; FailedPrecondition "wal: snapshot mismatch" if the
  // marker's term differs, or if another process holds the WAL; Corruption
  // (Code::kDataLoss, message naming the file and byte offset) for a bad
  // record anywhere but the torn tail, a broken CRC chain, a missing segment,
  // a segment whose first index does not follow on from the previous one,
  // conflicting metadata or a gap in entry indexes; IOError.
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
  // Errors: IOError (keeping the errno: ENOSPC, EIO, ...); after any error
  // the WAL is unusable and every later call returns that same error, as a
  // failed fdatasync leaves nothing known about what reached the disk (etcd
  // then exits; the server hands the error to its fatal handler).
  Status Save(const raftpb::HardState& hard_state, const std::vector<raftpb::Entry>& entries);

  // Appends a snapshot marker and syncs. Errors: as Save.
  Status SaveSnapshot(const SnapshotMarker& marker);

  // Declares that the log up to `index` is no longer needed: a snapshot at
  // `index` is durable and its marker was saved in this WAL (SaveSnapshot).
  // As etcd's ReleaseLockTo, the segment reading would start at for a marker
  // at `index` (the last one whose first index is <= max(index, 1); it may
  // hold the marker and entries after it) and every later segment are kept;
  // the earlier ones become releasable. Releasing never moves back, and the
  // segment being written is never released. Nothing is deleted here.
  // Errors: InvalidArgument if `index` is beyond the last entry or marker
  // written (no marker for it can be in this WAL); nothing is released then.
  Status ReleaseTo(uint64_t index);

  // Deletes released segment files, oldest first, while the directory holds
  // more than `max_segments` segment files (etcd's --max-wals, default 5; 0
  // keeps every file). Only "<seq>-<index>.wal" files count: the spare
  // "*.spare.wal.tmp" and "*.broken" copies do not, and are never deleted.
  // The directory is fsynced after each deletion, so a crash never leaves a
  // gap in the sequence. Logs "purged file" (info, with the path) for each.
  // A segment that has not been released is never deleted, even if that
  // leaves more than `max_segments` files. Call it after ReleaseTo, or
  // periodically as etcd does. Errors: IOError (files deleted before the
  // error stay deleted).
  Status PurgeReleased(size_t max_segments);

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
  Env& env_;
  const std::string metadata_;

  std::mutex mu_;
  std::unique_ptr<File> file_;  // segment being appended to
  std::string path_;            // its path
  uint64_t seq_ = 0;            // its sequence number
  uint64_t offset_ = 0;         // where the next record goes
  uint32_t crc_ = 0;            // CRC of the last record written
  uint64_t last_index_ = 0;     // index of the last entry written (or marker, if higher)
  raftpb::HardState state_;     // last HardState written
  bool unsynced_ = false;       // records written since the last sync
  std::string buf_;             // batch buffer, reused across calls
  Status error_;                // sticky
  // Segments not released, oldest first; the last is the one being written.
  std::vector<internal::SegmentName> retained_;

  std::mutex purge_mu_;  // serializes PurgeReleased; mu_ may be taken while holding it
  // The next segment's file, prepared in the background; declared last so
  // its thread stops before the rest of the Wal goes away.
  internal::FilePipeline pipeline_;
};

}  // namespace etcdd::wal
