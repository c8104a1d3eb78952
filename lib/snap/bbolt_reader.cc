#include "snap/bbolt_reader.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <functional>
#include <utility>

#include "snap/bbolt_format.h"
#include "snap/bbolt_pages.h"

namespace etcdd::snap {

using namespace bbolt;  // NOLINT: the format's constants, in this file only

namespace {

constexpr uint32_t kMinPageSize = 512;
constexpr uint32_t kMaxPageSize = 65536;

// Parses and validates meta page `index` (0 or 1), read from file offset
// `offset`: header, magic, version, checksum (as bbolt's meta.validate, but
// a zero checksum is not accepted), then the fields bbolt trusts once the
// checksum matched: page size (a power of two in 512..65536, equal to
// `page_size` unless that is 0), high water mark inside the data, root and
// freelist below it.
Result<BboltReader::Meta> ParseMeta(const PageSource& src, std::string_view bytes, int index,
                                    uint64_t offset, uint32_t page_size, uint64_t data_bytes) {
  const char* p = bytes.data();
  const std::string name = "meta page " + std::to_string(index);
  if (Load64(p) != static_cast<uint64_t>(index) || Load16(p + kHeaderFlagsAt) != kMetaPage ||
      Load16(p + kHeaderCountAt) != 0 || Load32(p + kHeaderOverflowAt) != 0) {
    return src.Corrupt(offset, name + ": bad page header");
  }
  if (Load32(p + kMetaMagicAt) != kMagic)
    return src.Corrupt(offset + kMetaMagicAt, name + ": bad magic");
  if (Load32(p + kMetaVersionAt) != kVersion) {
    return src.Corrupt(offset + kMetaVersionAt, name + ": version is not 2");
  }
  if (Load64(p + kMetaChecksumAt) != MetaChecksum(p)) {
    return src.Corrupt(offset + kMetaChecksumAt, name + ": checksum mismatch");
  }
  BboltReader::Meta m;
  m.page = index;
  m.page_size = Load32(p + kMetaPageSizeAt);
  m.root = Load64(p + kMetaRootAt);
  m.freelist = Load64(p + kMetaFreelistAt);
  m.high_water = Load64(p + kMetaPgidAt);
  m.txid = Load64(p + kMetaTxidAt);
  bool power_of_two = (m.page_size & (m.page_size - 1)) == 0;
  if (!power_of_two || m.page_size < kMinPageSize || m.page_size > kMaxPageSize ||
      (page_size != 0 && m.page_size != page_size)) {
    return src.Corrupt(offset + kMetaPageSizeAt,
                       name + ": bad page size " + std::to_string(m.page_size));
  }
  if (m.high_water < 3 || m.high_water > data_bytes / m.page_size) {
    return src.Corrupt(offset + kMetaPgidAt, name + ": high water mark " +
                                                 std::to_string(m.high_water) + " outside the " +
                                                 std::to_string(data_bytes) + " data bytes");
  }
  if (m.root < 2 || m.root >= m.high_water ||
      (m.freelist != kNoFreelist && (m.freelist < 2 || m.freelist >= m.high_water))) {
    return src.Corrupt(offset + kMetaRootAt,
                       name + ": root or freelist page outside 2..high water mark");
  }
  return m;
}

// Reads meta page `index` at `offset`, expecting `page_size` (0: any).
Result<BboltReader::Meta> ReadMeta(const PageSource& src, int index, uint64_t offset,
                                   uint32_t page_size, uint64_t data_bytes) {
  ASSIGN_OR_RETURN(std::string bytes, src.ReadAt(offset, kMetaEnd));
  return ParseMeta(src, bytes, index, offset, page_size, data_bytes);
}

// Picks the meta page as bbolt does: the valid one with the higher txid (meta
// 0 on a tie). Meta 1 sits one page after meta 0; when meta 0 is invalid its
// page size is unknown, so each possible page size is tried.
Result<BboltReader::Meta> ChooseMeta(const PageSource& src, uint64_t data_bytes) {
  auto meta0 = ReadMeta(src, 0, 0, 0, data_bytes);
  if (meta0.ok()) {
    auto meta1 = ReadMeta(src, 1, meta0->page_size, meta0->page_size, data_bytes);
    if (meta1.ok() && meta1->txid > meta0->txid) return meta1;
    return meta0;
  }
  for (uint32_t size = kMinPageSize; size <= kMaxPageSize; size *= 2) {
    auto meta1 = ReadMeta(src, 1, size, size, data_bytes);
    if (meta1.ok()) return meta1;
  }
  return meta0;
}

// Checks the freelist page's header: type, and that its ids fit its run.
// Returns the number of leading u64 slots before the ids (0, or 1 when the
// count is too large for the header and is stored there) and the count.
Result<std::pair<uint64_t, uint64_t>> FreelistShape(const PageSource& src, const Page& page) {
  if (page.flags != kFreelistPage) {
    return src.Corrupt(page.offset + kHeaderFlagsAt,
                       "page " + std::to_string(page.pgid) + " is not a freelist page");
  }
  uint64_t slots = (page.bytes.size() - kPageHeaderSize) / 8;
  uint64_t skip = 0, count = page.count;
  if (count == 0xFFFF) {
    skip = 1;
    count = slots == 0 ? 0 : Load64(page.bytes.data() + kPageHeaderSize);
  }
  if (slots < skip || count > slots - skip) {
    return src.Corrupt(page.offset + kHeaderCountAt, "freelist page " + std::to_string(page.pgid) +
                                                         ": " + std::to_string(count) +
                                                         " ids do not fit in its pages");
  }
  return std::make_pair(skip, count);
}

// Calls `fn` with each top-level bucket's name, value and the value's file
// offset, walking the root bucket.
using BucketFn = std::function<Status(std::string_view, std::string_view, uint64_t)>;
Status WalkRoot(const PageSource& src, const BboltReader::Meta& meta, std::vector<bool>& visited,
                const BucketFn& fn) {
  TreeWalker walker(src, visited,
                    [&](const Page& page, size_t at, uint32_t flags, std::string_view key,
                        std::string_view value) -> Status {
                      if (flags != kBucketLeafFlag) {
                        return src.Corrupt(page.offset + at,
                                           PageName(page) + ": top-level entry is not a bucket");
                      }
                      return fn(key, value, page.offset + (value.data() - page.bytes.data()));
                    });
  return walker.WalkPage(meta.root, meta.page * uint64_t{meta.page_size} + kMetaRootAt);
}

// Calls `fn` with each key and value of the bucket whose value (at file
// offset `offset`) is `value`.
Status WalkBucket(const PageSource& src, std::vector<bool>& visited, std::string_view value,
                  uint64_t offset, const BboltReader::KeyValueFn& fn) {
  ASSIGN_OR_RETURN(BucketRef ref, ParseBucket(src, value, offset));
  TreeWalker walker(src, visited,
                    [&](const Page& page, size_t at, uint32_t flags, std::string_view key,
                        std::string_view value) -> Status {
                      if (flags == 0) return fn(key, value);
                      return src.Corrupt(page.offset + at,
                                         PageName(page) + (flags == kBucketLeafFlag
                                                               ? ": nested bucket (not supported)"
                                                               : ": bad element flags"));
                    });
  if (ref.root == 0) return walker.WalkInline(ref.inline_page, offset + kBucketHeaderSize);
  return walker.WalkPage(ref.root, offset);
}

// Reads the freelist (its pages set in `visited`) and sets each free page id
// in `freed`. Errors: Corruption for a bad header, an id outside
// 2..high water mark, or an id listed twice.
Status ReadFreelist(const PageSource& src, const BboltReader::Meta& meta,
                    std::vector<bool>& visited, std::vector<bool>& freed) {
  ASSIGN_OR_RETURN(
      Page page,
      src.ReadPage(meta.freelist, meta.page * uint64_t{meta.page_size} + kMetaFreelistAt, visited));
  ASSIGN_OR_RETURN(auto shape, FreelistShape(src, page));
  for (uint64_t i = 0; i < shape.second; ++i) {
    uint64_t at = kPageHeaderSize + 8 * (shape.first + i);
    uint64_t id = Load64(page.bytes.data() + at);
    if (id < 2 || id >= meta.high_water || freed[id]) {
      return src.Corrupt(page.offset + at, "freelist page " + std::to_string(page.pgid) +
                                               ": free page id " + std::to_string(id) +
                                               " out of range or listed twice");
    }
    freed[id] = true;
  }
  return Status::Ok();
}

}  // namespace

Result<BboltReader> BboltReader::Open(const std::string& path, uint64_t data_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IOError("open " + path, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::IOError("stat " + path, errno);
  const uint64_t file_bytes = static_cast<uint64_t>(st.st_size);
  if (data_bytes == 0) data_bytes = file_bytes;
  if (data_bytes > file_bytes) {
    return Status::Corruption(
        "bbolt: file shorter than its " + std::to_string(data_bytes) + " data bytes", path,
        file_bytes);
  }
  PageSource probe(fd.get(), path, data_bytes, kMinPageSize, 0);
  ASSIGN_OR_RETURN(Meta meta, ChooseMeta(probe, data_bytes));
  BboltReader reader(std::move(fd), path, data_bytes, meta);
  if (meta.freelist != kNoFreelist) {
    PageSource src(reader.fd_.get(), reader.path_, data_bytes, meta.page_size, meta.high_water);
    std::vector<bool> visited(meta.high_water), freed(meta.high_water);
    RETURN_IF_ERROR(ReadFreelist(src, meta, visited, freed));
  }
  return reader;
}

Result<std::vector<std::string>> BboltReader::Buckets() const {
  PageSource src(fd_.get(), path_, data_bytes_, meta_.page_size, meta_.high_water);
  std::vector<bool> visited(meta_.high_water);
  std::vector<std::string> names;
  RETURN_IF_ERROR(
      WalkRoot(src, meta_, visited, [&](std::string_view name, std::string_view, uint64_t) {
        names.emplace_back(name);
        return Status::Ok();
      }));
  return names;
}

Status BboltReader::ForEach(std::string_view bucket, const KeyValueFn& fn) const {
  PageSource src(fd_.get(), path_, data_bytes_, meta_.page_size, meta_.high_water);
  std::vector<bool> visited(meta_.high_water);
  bool found = false;
  RETURN_IF_ERROR(WalkRoot(src, meta_, visited,
                           [&](std::string_view name, std::string_view value, uint64_t offset) {
                             if (name != bucket) return Status::Ok();
                             found = true;
                             return WalkBucket(src, visited, value, offset, fn);
                           }));
  if (!found) return Status::NotFound("bucket \"" + std::string(bucket) + "\" not in " + path_);
  return Status::Ok();
}

Status BboltReader::Check() const {
  PageSource src(fd_.get(), path_, data_bytes_, meta_.page_size, meta_.high_water);
  std::vector<bool> visited(meta_.high_water);
  std::vector<bool> freed(meta_.high_water);
  visited[0] = visited[1] = true;
  const bool has_freelist = meta_.freelist != kNoFreelist;
  if (has_freelist) RETURN_IF_ERROR(ReadFreelist(src, meta_, visited, freed));
  auto no_op = [](std::string_view, std::string_view) { return Status::Ok(); };
  RETURN_IF_ERROR(
      WalkRoot(src, meta_, visited, [&](std::string_view, std::string_view value, uint64_t offset) {
        return WalkBucket(src, visited, value, offset, no_op);
      }));
  for (uint64_t id = 0; id < meta_.high_water; ++id) {
    if (visited[id] && freed[id]) {
      return src.Corrupt(id * meta_.page_size,
                         "page " + std::to_string(id) + " is both free and in use");
    }
    if (has_freelist && !visited[id] && !freed[id]) {
      return src.Corrupt(id * meta_.page_size,
                         "page " + std::to_string(id) + " is neither free nor in use");
    }
  }
  return Status::Ok();
}

}  // namespace etcdd::snap
