// Revisions and their on-disk encoding in the "key" database.
//
// A revision names one change of the key space: `main` is the store-wide
// revision taken by a Put, DeleteRange or Txn that changed something, `sub`
// numbers the changes inside it (0, 1, ...), as in etcd's mvcc/revision.go.
// In the key database a revision is the 17-byte key
//     main (8 bytes big-endian) '_' sub (8 bytes big-endian)
// followed by the byte 't' when the entry is a tombstone (18 bytes). Big-endian
// makes LMDB's byte order equal revision order. See lib/mvcc/LAYOUT.md.
//
// Thread-safety: values and pure functions.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace etcdd::mvcc {

struct Revision {
  int64_t main = 0;
  int64_t sub = 0;

  friend auto operator<=>(const Revision&, const Revision&) = default;
};

inline constexpr size_t kRevBytesLen = 17;
inline constexpr size_t kMarkedRevBytesLen = 18;
inline constexpr char kTombstoneMark = 't';

// The key-database key of one revision, built on the stack.
class RevKey {
 public:
  RevKey(Revision rev, bool tombstone);
  std::string_view view() const { return {bytes_, len_}; }

 private:
  char bytes_[kMarkedRevBytesLen];
  size_t len_;
};

// Parses a key-database key. Returns false if `key` is not 17 bytes with '_'
// at offset 8 or 18 bytes ending in 't'.
bool DecodeRevKey(std::string_view key, Revision* rev, bool* tombstone);

// 8-byte big-endian encoding used for meta values.
void PutBigEndian64(uint64_t v, char* out);
uint64_t GetBigEndian64(const char* in);

}  // namespace etcdd::mvcc
