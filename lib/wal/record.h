// Record framing of WAL segments (internal to lib/wal; see FORMAT.md).
//
// A record is a 16-byte header, a payload and zero padding up to a multiple
// of 8 bytes:
//
//   0  u32 crc       CRC-32C chained: Crc32c(prev_crc, bytes [8, record end))
//   4  u32 prev_crc  `crc` of the record before this one in the log
//   8  u32 length    payload bytes
//   12 u8  type      RecordType; 0 is never valid, so zeroed space is no record
//   13 u8[3]         reserved, zero
//
// Integers are little-endian. prev_crc is covered as the CRC's seed, not as
// data: a CRC over bytes that start with its own seed does not depend on them.
// Because the previous CRC is stored in the
// header, one record can be verified alone (used to tell a torn tail from
// corruption), and the chain is checked by comparing prev_crc with the CRC of
// the record read before it.
//
// Thread-safety: pure functions over caller-owned buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace google::protobuf {
class MessageLite;
}

namespace etcdd::wal::internal {

enum class RecordType : uint8_t {
  kSegmentHeader = 1,  // first record of every segment
  kMetadata = 2,       // the blob given to Wal::Create, second record of every segment
  kEntry = 3,          // raftpb::Entry
  kHardState = 4,      // raftpb::HardState
  kSnapshot = 5,       // snapshot marker: u64 index, u64 term
};

inline constexpr size_t kHeaderBytes = 16;
inline constexpr size_t kAlignment = 8;
// Sanity bound on a payload read from disk (1 GiB).
inline constexpr uint32_t kMaxPayloadBytes = 1u << 30;

// Bytes a record with `payload_bytes` of payload occupies, padding included.
inline size_t RecordBytes(size_t payload_bytes) {
  return (kHeaderBytes + payload_bytes + kAlignment - 1) / kAlignment * kAlignment;
}

// Appends a record to `*buf` and returns its CRC (the next record's prev_crc).
uint32_t AppendRecord(std::string* buf, RecordType type, std::string_view payload,
                      uint32_t prev_crc);
// Same, with `msg` serialized in place as the payload (no temporary string).
uint32_t AppendMessageRecord(std::string* buf, RecordType type,
                             const google::protobuf::MessageLite& msg, uint32_t prev_crc);

// A record decoded from a segment; `payload` points into the segment bytes.
struct RecordView {
  RecordType type;
  uint32_t crc;
  uint32_t prev_crc;
  std::string_view payload;
  size_t offset;  // of the header in the segment
  size_t size;    // header + payload + padding
};

// Why no record could be decoded at an offset.
enum class DecodeProblem {
  kTruncated,    // header or payload extends past the end of the file
  kBadHeader,    // unknown type, non-zero reserved bytes or an absurd length
  kCrcMismatch,  // the bytes do not match the record's own CRC
};
const char* DecodeProblemMessage(DecodeProblem p);

struct DecodeResult {
  std::optional<RecordView> record;
  DecodeProblem problem = DecodeProblem::kTruncated;  // meaningful when !record
};

// Decodes and verifies (against its own stored prev_crc) the record at
// `offset` of `data`. Does not check the chain; the caller compares prev_crc.
DecodeResult DecodeRecord(std::string_view data, size_t offset);

// Little-endian helpers for fixed-size payloads.
void PutU64(std::string* out, uint64_t v);
uint64_t GetU64(const char* p);

}  // namespace etcdd::wal::internal
