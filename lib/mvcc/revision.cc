#include "mvcc/revision.h"

namespace etcdd::mvcc {

void PutBigEndian64(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

uint64_t GetBigEndian64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

RevKey::RevKey(Revision rev, bool tombstone) {
  PutBigEndian64(static_cast<uint64_t>(rev.main), bytes_);
  bytes_[8] = '_';
  PutBigEndian64(static_cast<uint64_t>(rev.sub), bytes_ + 9);
  len_ = kRevBytesLen;
  if (tombstone) bytes_[len_++] = kTombstoneMark;
}

bool DecodeRevKey(std::string_view key, Revision* rev, bool* tombstone) {
  if (key.size() != kRevBytesLen && key.size() != kMarkedRevBytesLen) return false;
  if (key[8] != '_') return false;
  if (key.size() == kMarkedRevBytesLen && key[kRevBytesLen] != kTombstoneMark) return false;
  rev->main = static_cast<int64_t>(GetBigEndian64(key.data()));
  rev->sub = static_cast<int64_t>(GetBigEndian64(key.data() + 9));
  *tombstone = key.size() == kMarkedRevBytesLen;
  return true;
}

}  // namespace etcdd::mvcc
