#include "wal/record.h"

#include <google/protobuf/message_lite.h>

#include "base/crc32c.h"

namespace etcdd::wal::internal {

namespace {

void StoreU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t LoadU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

bool IsKnownType(uint8_t t) {
  return t >= static_cast<uint8_t>(RecordType::kSegmentHeader) &&
         t <= static_cast<uint8_t>(RecordType::kSnapshot);
}

// Grows `*buf` by one zero-filled record of `payload_bytes`, writes its header
// fields except the CRC and returns the record's start offset in `*buf`.
size_t BeginRecord(std::string* buf, RecordType type, size_t payload_bytes, uint32_t prev_crc) {
  size_t start = buf->size();
  buf->resize(start + RecordBytes(payload_bytes));
  char* h = buf->data() + start;
  StoreU32(h + 4, prev_crc);
  StoreU32(h + 8, static_cast<uint32_t>(payload_bytes));
  h[12] = static_cast<char>(type);
  return start;
}

uint32_t SealRecord(std::string* buf, size_t start, uint32_t prev_crc) {
  std::string_view covered(buf->data() + start + 8, buf->size() - start - 8);
  uint32_t crc = Crc32c(prev_crc, covered);
  StoreU32(buf->data() + start, crc);
  return crc;
}

}  // namespace

uint32_t AppendRecord(std::string* buf, RecordType type, std::string_view payload,
                      uint32_t prev_crc) {
  size_t start = BeginRecord(buf, type, payload.size(), prev_crc);
  if (!payload.empty()) payload.copy(buf->data() + start + kHeaderBytes, payload.size());
  return SealRecord(buf, start, prev_crc);
}

uint32_t AppendMessageRecord(std::string* buf, RecordType type,
                             const google::protobuf::MessageLite& msg, uint32_t prev_crc) {
  size_t bytes = msg.ByteSizeLong();
  size_t start = BeginRecord(buf, type, bytes, prev_crc);
  msg.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(buf->data() + start + kHeaderBytes));
  return SealRecord(buf, start, prev_crc);
}

const char* DecodeProblemMessage(DecodeProblem p) {
  switch (p) {
    case DecodeProblem::kTruncated:
      return "wal: truncated record";
    case DecodeProblem::kBadHeader:
      return "wal: invalid record header";
    case DecodeProblem::kCrcMismatch:
      return "wal: crc mismatch";
  }
  return "wal: invalid record";
}

DecodeResult DecodeRecord(std::string_view data, size_t offset) {
  DecodeResult r;
  if (offset > data.size() || data.size() - offset < kHeaderBytes) return r;
  const char* h = data.data() + offset;
  uint32_t length = LoadU32(h + 8);
  uint8_t type = static_cast<uint8_t>(h[12]);
  if (!IsKnownType(type) || h[13] != 0 || h[14] != 0 || h[15] != 0 || length > kMaxPayloadBytes) {
    r.problem = DecodeProblem::kBadHeader;
    return r;
  }
  size_t size = RecordBytes(length);
  if (data.size() - offset < size) return r;  // kTruncated
  uint32_t crc = LoadU32(h);
  uint32_t prev_crc = LoadU32(h + 4);
  if (Crc32c(prev_crc, std::string_view(h + 8, size - 8)) != crc) {
    r.problem = DecodeProblem::kCrcMismatch;
    return r;
  }
  r.record = RecordView{static_cast<RecordType>(type),
                        crc,
                        prev_crc,
                        std::string_view(h + kHeaderBytes, length),
                        offset,
                        size};
  return r;
}

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace etcdd::wal::internal
