#include "snap/bbolt_pages.h"

#include <unistd.h>

#include <cerrno>

#include "base/go_text.h"
#include "snap/bbolt_format.h"

namespace etcdd::snap::bbolt {

namespace {

// bbolt's trees are a few levels deep (each branch holds at least two
// children), so a deeper one is a loop or garbage.
constexpr int kMaxDepth = 64;

std::string Hex(uint64_t v) { return "0x" + IdToHex(v); }

}  // namespace

std::string PageName(const Page& page) {
  return page.pgid == 0 ? std::string("inline page") : "page " + std::to_string(page.pgid);
}

Status PageSource::Corrupt(uint64_t offset, const std::string& what) const {
  return Status::Corruption("bbolt: " + what, path_, offset);
}

Result<std::string> PageSource::ReadAt(uint64_t offset, uint64_t n) const {
  if (offset > data_bytes_ || n > data_bytes_ - offset) {
    return Corrupt(offset, std::to_string(n) + " bytes needed past the end of the data (" +
                               std::to_string(data_bytes_) + " bytes)");
  }
  std::string buf(n, '\0');
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, buf.data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::IOError("read " + path_, errno);
    if (r == 0) return Corrupt(offset + done, "file shorter than when opened");
    done += static_cast<size_t>(r);
  }
  return buf;
}

Result<Page> PageSource::ReadPage(uint64_t pgid, uint64_t ref, std::vector<bool>& visited) const {
  const std::string name = "page " + std::to_string(pgid);
  if (pgid < 2 || pgid >= high_water_) {
    return Corrupt(ref, name + " is outside 2.." + std::to_string(high_water_ - 1) +
                            " (high water mark " + std::to_string(high_water_) + ")");
  }
  const uint64_t offset = pgid * page_size_;
  ASSIGN_OR_RETURN(std::string header, ReadAt(offset, kPageHeaderSize));
  if (Load64(header.data()) != pgid) {
    return Corrupt(offset, name + " has id " + std::to_string(Load64(header.data())));
  }
  const uint64_t overflow = Load32(header.data() + kHeaderOverflowAt);
  if (overflow >= high_water_ - pgid) {
    return Corrupt(offset + kHeaderOverflowAt, name + ": overflow of " + std::to_string(overflow) +
                                                   " pages passes the high water mark");
  }
  for (uint64_t id = pgid; id <= pgid + overflow; ++id) {
    if (visited[id]) return Corrupt(ref, "page " + std::to_string(id) + " reached twice");
    visited[id] = true;
  }
  Page page;
  page.pgid = pgid;
  page.offset = offset;
  ASSIGN_OR_RETURN(page.bytes, ReadAt(offset, (overflow + 1) * page_size_));
  page.flags = Load16(page.bytes.data() + kHeaderFlagsAt);
  page.count = Load16(page.bytes.data() + kHeaderCountAt);
  return page;
}

Status TreeWalker::WalkPage(uint64_t root, uint64_t ref) { return Visit(root, ref, 0, Bounds{}); }

Status TreeWalker::WalkInline(std::string_view bytes, uint64_t offset) {
  if (bytes.size() < kPageHeaderSize) {
    return src_.Corrupt(offset, "inline bucket of " + std::to_string(bytes.size()) +
                                    " bytes is shorter than a page header");
  }
  Page page;
  page.offset = offset;
  page.bytes = std::string(bytes);
  page.flags = Load16(bytes.data() + kHeaderFlagsAt);
  page.count = Load16(bytes.data() + kHeaderCountAt);
  if (Load64(bytes.data()) != 0 || Load32(bytes.data() + kHeaderOverflowAt) != 0 ||
      page.flags != kLeafPage) {
    return src_.Corrupt(offset, "inline bucket page header is not an inline leaf's");
  }
  return VisitLeaf(page, 0, Bounds{});
}

Status TreeWalker::Visit(uint64_t pgid, uint64_t ref, int depth, Bounds bounds) {
  if (depth > kMaxDepth) {
    return src_.Corrupt(ref, "tree deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  ASSIGN_OR_RETURN(Page page, src_.ReadPage(pgid, ref, visited_));
  if (page.flags == kBranchPage) return VisitBranch(page, depth, bounds);
  if (page.flags == kLeafPage) return VisitLeaf(page, depth, bounds);
  return src_.Corrupt(
      page.offset + kHeaderFlagsAt,
      PageName(page) + " has flags " + Hex(page.flags) + " where a branch or leaf page belongs");
}

// Checks that `key` (non-empty, at page.bytes[at]) lies inside `bounds`.
Status TreeWalker::CheckKey(const Page& page, size_t at, std::string_view key,
                            Bounds bounds) const {
  if (key.empty()) return src_.Corrupt(page.offset + at, PageName(page) + ": empty key");
  if ((bounds.lo && key < *bounds.lo) || (bounds.hi && key >= *bounds.hi)) {
    return src_.Corrupt(page.offset + at,
                        PageName(page) + ": key outside the range its parent branch gives");
  }
  return Status::Ok();
}

namespace {

// The element table's end, checked to fit in the page.
Result<size_t> ElementsEnd(const PageSource& src, const Page& page) {
  size_t end = kPageHeaderSize + kElementSize * size_t{page.count};
  if (end > page.bytes.size()) {
    return src.Corrupt(page.offset + kHeaderCountAt,
                       PageName(page) + ": " + std::to_string(page.count) +
                           " elements do not fit in " + std::to_string(page.bytes.size()) +
                           " bytes");
  }
  return end;
}

// The `len` bytes at `pos` bytes past element `at`, which must start at
// `*next` (bbolt lays elements' data out back to back after the element
// table) and end inside the page; advances `*next` past them.
Result<std::string_view> ElementData(const PageSource& src, const Page& page, size_t at,
                                     uint64_t pos, uint64_t len, size_t* next) {
  uint64_t start = at + pos;
  if (start != *next || len > page.bytes.size() - start) {
    return src.Corrupt(page.offset + at,
                       PageName(page) + ": element data at " + std::to_string(start) + "+" +
                           std::to_string(len) + " is not at " + std::to_string(*next) +
                           " or passes the page's " + std::to_string(page.bytes.size()) + " bytes");
  }
  *next = start + len;
  return std::string_view(page.bytes).substr(start, len);
}

}  // namespace

Status TreeWalker::VisitBranch(const Page& page, int depth, Bounds bounds) {
  if (page.count == 0)
    return src_.Corrupt(page.offset + kHeaderCountAt, PageName(page) + " is an empty branch");
  ASSIGN_OR_RETURN(size_t next, ElementsEnd(src_, page));
  std::vector<std::string_view> keys(page.count);
  for (size_t i = 0; i < page.count; ++i) {
    size_t at = kPageHeaderSize + kElementSize * i;
    const char* e = page.bytes.data() + at;
    ASSIGN_OR_RETURN(keys[i], ElementData(src_, page, at, Load32(e), Load32(e + 4), &next));
    RETURN_IF_ERROR(CheckKey(page, at, keys[i], bounds));
    if (i > 0 && keys[i] <= keys[i - 1]) {
      return src_.Corrupt(page.offset + at, PageName(page) + ": branch keys out of order");
    }
  }
  for (size_t i = 0; i < page.count; ++i) {
    size_t at = kPageHeaderSize + kElementSize * i;
    Bounds child{i == 0 ? bounds.lo : keys[i], i + 1 < keys.size() ? keys[i + 1] : bounds.hi};
    uint64_t child_pgid = Load64(page.bytes.data() + at + 8);
    RETURN_IF_ERROR(Visit(child_pgid, page.offset + at + 8, depth + 1, child));
  }
  return Status::Ok();
}

Status TreeWalker::VisitLeaf(const Page& page, int depth, Bounds bounds) {
  if (page.count == 0 && depth > 0) {
    return src_.Corrupt(page.offset + kHeaderCountAt,
                        PageName(page) + " is an empty leaf below a branch");
  }
  ASSIGN_OR_RETURN(size_t next, ElementsEnd(src_, page));
  for (size_t i = 0; i < page.count; ++i) {
    size_t at = kPageHeaderSize + kElementSize * i;
    const char* e = page.bytes.data() + at;
    uint64_t ksize = Load32(e + 8), vsize = Load32(e + 12);
    ASSIGN_OR_RETURN(std::string_view kv,
                     ElementData(src_, page, at, Load32(e + 4), ksize + vsize, &next));
    std::string_view key = kv.substr(0, ksize);
    RETURN_IF_ERROR(CheckKey(page, at, key, bounds));
    if (has_last_ && key <= std::string_view(last_key_)) {
      return src_.Corrupt(page.offset + at, PageName(page) + ": keys out of order");
    }
    last_key_.assign(key);
    has_last_ = true;
    RETURN_IF_ERROR(fn_(page, at, Load32(e), key, kv.substr(ksize)));
  }
  // An inline page is exactly as long as its elements (bbolt's Bucket.write).
  if (page.pgid == 0 && next != page.bytes.size()) {
    return src_.Corrupt(page.offset + next, "inline page has " +
                                                std::to_string(page.bytes.size() - next) +
                                                " bytes after its last element");
  }
  return Status::Ok();
}

Result<BucketRef> ParseBucket(const PageSource& src, std::string_view value, uint64_t offset) {
  if (value.size() < kBucketHeaderSize) {
    return src.Corrupt(offset, "bucket value of " + std::to_string(value.size()) +
                                   " bytes is shorter than a bucket header");
  }
  BucketRef ref;
  ref.root = Load64(value.data());
  if (ref.root == 0) {
    ref.inline_page = value.substr(kBucketHeaderSize);
  } else if (value.size() != kBucketHeaderSize) {
    return src.Corrupt(offset, "bucket with root page " + std::to_string(ref.root) + " has " +
                                   std::to_string(value.size() - kBucketHeaderSize) +
                                   " trailing bytes");
  }
  return ref;
}

}  // namespace etcdd::snap::bbolt
