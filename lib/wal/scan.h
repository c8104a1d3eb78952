// Walking the records of one segment and classifying how it ends (internal to
// lib/wal; the rules are those of FORMAT.md, "End of log, torn tails and
// corruption").
//
// Thread-safety: pure function over caller-owned bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "wal/record.h"

namespace etcdd::wal::internal {

// Records every segment must start with: segment header, then metadata.
inline constexpr size_t kSegmentPrologueRecords = 2;

struct SegmentScan {
  size_t end = 0;        // offset just past the last good record
  size_t dirty_end = 0;  // when > end, bytes [end, dirty_end) are a torn tail to zero
  DecodeProblem problem = DecodeProblem::kTruncated;  // what was wrong at `end` if torn
};

// Called for each good record, in order; `ordinal` is its position in the
// segment (0 for the segment header). A non-ok Status stops the scan.
using RecordVisitor = std::function<Status(const RecordView& rec, size_t ordinal)>;

// Walks `data`, the bytes of the segment at `path`. `*crc` is the running CRC
// and is advanced past every good record; when `chain_known`, the first
// record's prev_crc must equal it (otherwise the first record seeds it).
//
// Ends cleanly at EOF or where only zero bytes remain. A record that cannot
// be decoded, with non-zero bytes at or after it, is a torn tail (reported in
// the result, not repaired here) only if `is_last`, the segment prologue is
// intact, and no decodable record starts at any later 8-byte boundary.
// Errors: Corruption naming `path` and the byte offset for anything else,
// including a broken CRC chain.
Result<SegmentScan> ScanSegment(std::string_view data, const std::string& path, bool is_last,
                                bool chain_known, uint32_t* crc, const RecordVisitor& visit);

// "<path> at offset <offset>", the `where` of a Corruption status.
std::string Where(const std::string& path, size_t offset);

}  // namespace etcdd::wal::internal
