// Which snapshot markers a restart may open from, and releasing and purging
// the segments older than a durable snapshot. Rules: FORMAT.md, "Retention".

#include <algorithm>
#include <cstddef>

#include "wal/replay.h"
#include "wal/segment.h"
#include "wal/wal.h"

namespace etcdd::wal {

Result<std::vector<SnapshotMarker>> Wal::ValidSnapshotMarkers(const std::string& dir,
                                                              Logger& logger) {
  ASSIGN_OR_RETURN(const std::vector<internal::SegmentName> segments,
                   internal::ListExistingSegments(dir));
  RETURN_IF_ERROR(internal::CheckSequence(segments, dir));
  auto replayer = internal::Replayer::MarkersOnly();
  ASSIGN_OR_RETURN(internal::SegmentsRead read, internal::ReadSegments(dir, segments, 0, replayer));
  if (read.tail.dirty_end > read.tail.end) {
    logger.Info("wal: torn tail ends the snapshot markers read",
                {{"path", dir + "/" + segments.back().file}, {"offset", read.tail.end}});
  }
  // Open must find a segment to start at for the marker, and the marker must
  // not be ahead of the commit index that reached the disk (etcd #10219: a
  // snapshot from the leader is saved before the HardState that commits it).
  const uint64_t commit = replayer.contents().hard_state.commit();
  auto openable = [&](uint64_t index) {
    return segments.front().first_index <= std::max<uint64_t>(index, 1);
  };
  std::vector<SnapshotMarker> valid;
  if (openable(0)) valid.push_back({0, 0});
  for (const SnapshotMarker& m : replayer.markers()) {
    if (m.index != 0 && m.index <= commit && openable(m.index)) valid.push_back(m);
  }
  return valid;
}

Status Wal::ReleaseTo(uint64_t index) {
  std::lock_guard lock(mu_);
  if (index > last_index_) {
    return Status::InvalidArgument("wal: cannot release to index " + std::to_string(index) +
                                   ", beyond the last index " + std::to_string(last_index_) +
                                   " of the log");
  }
  // The segment Open would start at for a marker at `index` stays.
  if (auto keep = internal::StartSegment(retained_, index)) {
    retained_.erase(retained_.begin(), retained_.begin() + static_cast<std::ptrdiff_t>(*keep));
  }
  return Status::Ok();
}

Status Wal::PurgeReleased(size_t max_segments) {
  if (max_segments == 0) return Status::Ok();
  std::lock_guard purge_lock(purge_mu_);
  uint64_t first_kept;
  {
    // Later cuts only add newer segments, and releasing only moves forward,
    // so what is released now stays released while the files are deleted.
    std::lock_guard lock(mu_);
    first_kept = retained_.front().seq;
  }
  ASSIGN_OR_RETURN(const std::vector<internal::SegmentName> segments, internal::ListSegments(dir_));
  size_t remaining = segments.size();
  for (const internal::SegmentName& seg : segments) {
    if (remaining <= max_segments || seg.seq >= first_kept) break;
    const std::string path = dir_ + "/" + seg.file;
    Status removed = env_.RemoveFile(path);
    if (!removed.ok() && removed.code() != Code::kNotFound) return removed;
    // Synced one by one, oldest first, so a crash leaves no gap in seqs.
    RETURN_IF_ERROR(env_.SyncDir(dir_));
    --remaining;
    logger_.Info("purged file", {{"path", path}});
  }
  return Status::Ok();
}

}  // namespace etcdd::wal
