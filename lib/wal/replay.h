// Turning the records of a WAL into Contents (internal to lib/wal): record
// order within a segment, segment continuity, conflict resolution of entries
// (as etcd's ReadAll), the snapshot-marker match, and the snapshot markers
// and HardState that ValidSnapshotMarkers needs.
//
// Thread-safety: none; one Replayer per read of the log.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "wal/record.h"
#include "wal/scan.h"
#include "wal/segment.h"
#include "wal/wal.h"

namespace etcdd::wal::internal {

class Replayer {
 public:
  // Replays the entries after `from`; Finish requires a marker for `from`
  // unless from.index is 0.
  explicit Replayer(const SnapshotMarker& from) : from_(from) {}
  // Reads the log for its snapshot markers and HardState only: entries are
  // decoded and checked for gaps but not kept, and no marker is required.
  static Replayer MarkersOnly();

  // Called before the records of each segment read, in order. Errors:
  // Corruption if the segment's first index does not follow on from the
  // records before it.
  Status BeginSegment(const SegmentName& name, const std::string& path);
  // Applies one verified record; `ordinal` is its position in the segment.
  // Errors: Corruption (naming `path` and the record's offset) for records
  // out of place or undecodable, conflicting metadata, entry index gaps;
  // FailedPrecondition for a snapshot marker whose term does not match.
  Status Apply(const RecordView& rec, size_t ordinal);
  // Errors: NotFound "wal: snapshot not found" if `from` was never matched.
  Status Finish() const;

  Contents& contents() { return contents_; }
  // Every snapshot marker read, in log order.
  const std::vector<SnapshotMarker>& markers() const { return markers_; }
  // Index of the last entry record read (or of a later snapshot marker):
  // where the next segment's first index must follow on.
  uint64_t last_index() const { return last_index_; }

 private:
  Status ApplyPrologue(const RecordView& rec, size_t ordinal);
  Status ApplyEntry(const RecordView& rec);
  Status ApplySnapshot(const RecordView& rec);
  Status Bad(const std::string& what, const RecordView& rec) const;

  const SnapshotMarker from_;
  bool markers_only_ = false;
  Contents contents_;
  std::vector<SnapshotMarker> markers_;
  const SegmentName* segment_ = nullptr;
  std::string path_;
  bool started_ = false;
  bool have_metadata_ = false;
  bool matched_ = false;
  uint64_t last_index_ = 0;
};

// What reading segments left behind for the caller that appends next.
struct SegmentsRead {
  uint32_t crc = 0;       // of the last good record
  SegmentScan tail;       // how the last segment ends (a torn tail is reported, not repaired)
  std::string tail_data;  // bytes of the last segment as read
};

// Verifies segments[start..] of `dir` and feeds their records to `replayer`
// (Finish is left to the caller). Reads files without locking or changing
// them. Errors: those of ScanSegment and Replayer; IOError.
Result<SegmentsRead> ReadSegments(const std::string& dir, const std::vector<SegmentName>& segments,
                                  size_t start, Replayer& replayer);

}  // namespace etcdd::wal::internal
