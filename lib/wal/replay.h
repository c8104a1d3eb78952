// Turning the records of a WAL into Contents (internal to lib/wal): record
// order within a segment, segment continuity, conflict resolution of entries
// (as etcd's ReadAll) and the snapshot-marker match.
//
// Thread-safety: none; one Replayer per Open.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "wal/record.h"
#include "wal/segment.h"
#include "wal/wal.h"

namespace etcdd::wal::internal {

class Replayer {
 public:
  explicit Replayer(const SnapshotMarker& from) : from_(from) {}

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
  // Index of the last entry record read (or of a later snapshot marker):
  // where the next segment's first index must follow on.
  uint64_t last_index() const { return last_index_; }

 private:
  Status ApplyPrologue(const RecordView& rec, size_t ordinal);
  Status ApplyEntry(const RecordView& rec);
  Status ApplySnapshot(const RecordView& rec);
  Status Bad(const std::string& what, const RecordView& rec) const;

  const SnapshotMarker from_;
  Contents contents_;
  const SegmentName* segment_ = nullptr;
  std::string path_;
  bool started_ = false;
  bool have_metadata_ = false;
  bool matched_ = false;
  uint64_t last_index_ = 0;
};

}  // namespace etcdd::wal::internal
