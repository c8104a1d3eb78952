#include "wal/scan.h"

#include <cstring>

namespace etcdd::wal::internal {

namespace {

// Offset just past the last non-zero byte in [from, size), or `from` if none.
size_t EndOfNonZero(std::string_view d, size_t from) {
  size_t end = d.size();
  while (end > from && end % 8 != 0) {
    if (d[end - 1] != 0) return end;
    --end;
  }
  while (end >= from + 8) {
    uint64_t word;
    std::memcpy(&word, d.data() + end - 8, 8);
    if (word != 0) break;
    end -= 8;
  }
  while (end > from && d[end - 1] == 0) --end;
  return end;
}

// True if a record that verifies against its own CRC starts at an aligned
// offset in (after, limit). Used to tell a torn tail (nothing valid follows)
// from corruption in the middle of the log.
bool ValidRecordFollows(std::string_view d, size_t after, size_t limit) {
  for (size_t y = after + kAlignment; y < limit; y += kAlignment) {
    if (DecodeRecord(d, y).record) return true;
  }
  return false;
}

}  // namespace

std::string Where(const std::string& path, size_t offset) {
  return path + " at offset " + std::to_string(offset);
}

Result<SegmentScan> ScanSegment(std::string_view data, const std::string& path, bool is_last,
                                bool chain_known, uint32_t* crc, const RecordVisitor& visit) {
  size_t offset = 0;
  size_t ordinal = 0;
  for (;;) {
    DecodeResult d = DecodeRecord(data, offset);
    if (!d.record) {
      SegmentScan scan{offset, EndOfNonZero(data, offset), d.problem};
      if (scan.dirty_end == offset) scan.dirty_end = 0;  // clean end: EOF or zeros only
      if (ordinal < kSegmentPrologueRecords) {
        return Status::Corruption(
            scan.dirty_end != 0 ? DecodeProblemMessage(d.problem) : "wal: segment header missing",
            path, offset);
      }
      if (scan.dirty_end != 0 && (!is_last || ValidRecordFollows(data, offset, scan.dirty_end))) {
        return Status::Corruption(DecodeProblemMessage(d.problem), path, offset);
      }
      return scan;
    }
    const RecordView& rec = *d.record;
    if ((ordinal > 0 || chain_known) && rec.prev_crc != *crc) {
      return Status::Corruption("wal: crc chain broken", path, offset);
    }
    RETURN_IF_ERROR(visit(rec, ordinal));
    *crc = rec.crc;
    offset += rec.size;
    ++ordinal;
  }
}

}  // namespace etcdd::wal::internal
