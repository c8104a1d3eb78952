// The bbolt page format shared by BboltWriter and BboltReader (FORMAT.md,
// "etcd's snapshot file (bbolt)"): sizes, flags and field offsets of bbolt's
// on-disk structures, little-endian load/store, and the FNV-64a checksum of a
// meta page. Internal to lib/snap: callers use bbolt_writer.h and
// bbolt_reader.h.
//
// Every multi-byte field is little-endian (bbolt writes its structs from
// memory on the amd64/arm64 machines etcd runs on).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace etcdd::snap::bbolt {

inline constexpr uint32_t kMagic = 0xED0CDAED;
inline constexpr uint32_t kVersion = 2;
// meta.freelist when the freelist is not stored (bbolt's NoFreelistSync,
// which etcd uses).
inline constexpr uint64_t kNoFreelist = ~uint64_t{0};

// Page header: id u64, flags u16, count u16, overflow u32.
inline constexpr size_t kPageHeaderSize = 16;
inline constexpr size_t kHeaderFlagsAt = 8;
inline constexpr size_t kHeaderCountAt = 10;
inline constexpr size_t kHeaderOverflowAt = 12;

inline constexpr uint16_t kBranchPage = 0x01;
inline constexpr uint16_t kLeafPage = 0x02;
inline constexpr uint16_t kMetaPage = 0x04;
inline constexpr uint16_t kFreelistPage = 0x10;

// Leaf element: flags u32, pos u32, ksize u32, vsize u32; branch element:
// pos u32, ksize u32, pgid u64. `pos` counts from the element's own first
// byte to its key; a leaf's value follows its key.
inline constexpr size_t kElementSize = 16;
inline constexpr uint32_t kBucketLeafFlag = 0x01;

// A bucket value: root pgid u64, sequence u64, then (root == 0) the bucket's
// one leaf page, inline.
inline constexpr size_t kBucketHeaderSize = 16;

// Meta, after the page header: magic u32, version u32, page size u32, flags
// u32, root bucket {root u64, sequence u64}, freelist u64, pgid u64 (the high
// water mark: first page id past the data), txid u64, checksum u64 (FNV-64a
// of the meta's bytes before it).
inline constexpr size_t kMetaMagicAt = 16;
inline constexpr size_t kMetaVersionAt = 20;
inline constexpr size_t kMetaPageSizeAt = 24;
inline constexpr size_t kMetaRootAt = 32;
inline constexpr size_t kMetaFreelistAt = 48;
inline constexpr size_t kMetaPgidAt = 56;
inline constexpr size_t kMetaTxidAt = 64;
inline constexpr size_t kMetaChecksumAt = 72;
inline constexpr size_t kMetaEnd = 80;

// bbolt's limits (bbolt's MaxKeySize, MaxValueSize).
inline constexpr size_t kMaxKeySize = 32768;
inline constexpr size_t kMaxValueSize = (size_t{1} << 31) - 2;

inline uint64_t Load(const char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}
inline uint16_t Load16(const char* p) { return static_cast<uint16_t>(Load(p, 2)); }
inline uint32_t Load32(const char* p) { return static_cast<uint32_t>(Load(p, 4)); }
inline uint64_t Load64(const char* p) { return Load(p, 8); }

inline void Store(char* p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline void Store16(char* p, uint16_t v) { Store(p, v, 2); }
inline void Store32(char* p, uint32_t v) { Store(p, v, 4); }
inline void Store64(char* p, uint64_t v) { Store(p, v, 8); }

// FNV-64a of `data` (Go's hash/fnv New64a), bbolt's meta checksum.
inline uint64_t Fnv64a(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// The checksum a meta page (`page` points at its first byte) should carry.
inline uint64_t MetaChecksum(const char* page) {
  return Fnv64a(std::string_view(page + kMetaMagicAt, kMetaChecksumAt - kMetaMagicAt));
}

}  // namespace etcdd::snap::bbolt
