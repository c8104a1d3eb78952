#include "wal/replay.h"

#include "wal/scan.h"

namespace etcdd::wal::internal {

Replayer Replayer::MarkersOnly() {
  Replayer r(SnapshotMarker{});
  r.markers_only_ = true;
  return r;
}

Status Replayer::Bad(const std::string& what, const RecordView& rec) const {
  return Status::Corruption(what, path_, rec.offset);
}

Status Replayer::BeginSegment(const SegmentName& name, const std::string& path) {
  if (name.first_index == 0) {
    return Status::Corruption("wal: segment first index must be at least 1", path);
  }
  if (started_ && name.first_index != last_index_ + 1) {
    return Status::Corruption("wal: segment first index " + std::to_string(name.first_index) +
                                  " does not follow on from last index " +
                                  std::to_string(last_index_) + " of the previous segment",
                              path);
  }
  if (!started_) last_index_ = name.first_index - 1;
  started_ = true;
  segment_ = &name;
  path_ = path;
  return Status::Ok();
}

Status Replayer::ApplyPrologue(const RecordView& rec, size_t ordinal) {
  if (ordinal == 0) {
    if (rec.type != RecordType::kSegmentHeader) return Bad("wal: segment header missing", rec);
    auto h = DecodeSegmentHeader(rec.payload);
    if (!h) return Bad("wal: bad segment header", rec);
    if (h->version != kFormatVersion) {
      return Bad("wal: unsupported format version " + std::to_string(h->version), rec);
    }
    if (h->seq != segment_->seq || h->first_index != segment_->first_index) {
      return Bad("wal: segment header does not match the file name", rec);
    }
    return Status::Ok();
  }
  if (rec.type != RecordType::kMetadata) return Bad("wal: metadata record missing", rec);
  if (have_metadata_ && rec.payload != contents_.metadata) {
    return Bad("wal: conflicting metadata found", rec);
  }
  contents_.metadata = std::string(rec.payload);
  have_metadata_ = true;
  return Status::Ok();
}

Status Replayer::ApplyEntry(const RecordView& rec) {
  raftpb::Entry e;
  if (!e.ParseFromArray(rec.payload.data(), static_cast<int>(rec.payload.size()))) {
    return Bad("wal: cannot decode entry", rec);
  }
  auto& entries = contents_.entries;
  const uint64_t index = e.index();
  if (markers_only_) {
    // Without a starting point, entries follow on from the last entry or
    // marker (after a snapshot from the leader the log continues after it).
    if (index > last_index_ + 1) {
      return Bad("wal: entry index " + std::to_string(index) + " leaves a gap after index " +
                     std::to_string(last_index_),
                 rec);
    }
  } else if (index > from_.index) {
    uint64_t pos = index - from_.index - 1;
    if (pos > entries.size()) {
      return Bad("wal: entry index " + std::to_string(index) + " leaves a gap after index " +
                     std::to_string(from_.index + entries.size()),
                 rec);
    }
    // A repeated index means raft truncated a conflicting suffix: the later
    // record wins and what followed the old one is gone.
    entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(pos), entries.end());
    entries.push_back(std::move(e));
  } else {
    // Skipped, but still a rewrite: everything kept so far came after it.
    // (The commit index, and then `from`, can pass a rewrite made earlier.)
    entries.clear();
  }
  last_index_ = index;
  return Status::Ok();
}

Status Replayer::ApplySnapshot(const RecordView& rec) {
  if (rec.payload.size() != 16) return Bad("wal: bad snapshot marker", rec);
  SnapshotMarker m{GetU64(rec.payload.data()), GetU64(rec.payload.data() + 8)};
  markers_.push_back(m);
  if (!markers_only_ && m.index == from_.index) {
    if (m.term != from_.term) {
      return Status::FailedPrecondition(
          "wal: snapshot mismatch: marker at index " + std::to_string(m.index) + " has term " +
          std::to_string(m.term) + ", expected " + std::to_string(from_.term) + " (" +
          Where(path_, rec.offset) + ")");
    }
    matched_ = true;
  }
  if (m.index > last_index_) last_index_ = m.index;
  return Status::Ok();
}

Status Replayer::Apply(const RecordView& rec, size_t ordinal) {
  if (ordinal < kSegmentPrologueRecords) return ApplyPrologue(rec, ordinal);
  switch (rec.type) {
    case RecordType::kEntry:
      return ApplyEntry(rec);
    case RecordType::kHardState:
      if (!contents_.hard_state.ParseFromArray(rec.payload.data(),
                                               static_cast<int>(rec.payload.size()))) {
        return Bad("wal: cannot decode hard state", rec);
      }
      return Status::Ok();
    case RecordType::kSnapshot:
      return ApplySnapshot(rec);
    default:
      return Bad("wal: unexpected record type", rec);
  }
}

Status Replayer::Finish() const {
  if (from_.index != 0 && !matched_) return Status::NotFound("wal: snapshot not found");
  return Status::Ok();
}

Result<SegmentsRead> ReadSegments(const std::string& dir, const std::vector<SegmentName>& segments,
                                  size_t start, Replayer& replayer) {
  SegmentsRead r;
  auto visit = [&](const RecordView& rec, size_t ordinal) { return replayer.Apply(rec, ordinal); };
  for (size_t i = start; i < segments.size(); ++i) {
    const std::string path = dir + "/" + segments[i].file;
    RETURN_IF_ERROR(replayer.BeginSegment(segments[i], path));
    RETURN_IF_ERROR(ReadWholeFile(path, &r.tail_data));
    ASSIGN_OR_RETURN(
        r.tail, ScanSegment(r.tail_data, path, i + 1 == segments.size(), i > start, &r.crc, visit));
  }
  return r;
}

}  // namespace etcdd::wal::internal
