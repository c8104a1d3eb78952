// Checked page access for BboltReader (internal to lib/snap): reading a page
// and its overflow run from the untrusted file, and walking one bucket's
// B+tree in key order while checking its structure. FORMAT.md ("What the
// reader checks") lists the checks.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace etcdd::snap::bbolt {

// A page with its overflow run, as read, or an inline bucket's page.
struct Page {
  uint64_t pgid = 0;    // 0 for an inline page
  uint64_t offset = 0;  // file offset of bytes[0]
  std::string bytes;    // header included
  uint16_t flags = 0;
  uint16_t count = 0;
};

// "page <id>", or "inline page", for messages.
std::string PageName(const Page& page);

// Reads pages from the first `data_bytes` bytes of a bbolt file.
class PageSource {
 public:
  // `fd` must stay open while the source is used; `path` names the file in
  // errors.
  PageSource(int fd, const std::string& path, uint64_t data_bytes, uint64_t page_size,
             uint64_t high_water)
      : fd_(fd),
        path_(path),
        data_bytes_(data_bytes),
        page_size_(page_size),
        high_water_(high_water) {}

  uint64_t high_water() const { return high_water_; }

  // Corruption "bbolt: <what>" naming the file and `offset`.
  Status Corrupt(uint64_t offset, const std::string& what) const;

  // `n` bytes at file `offset`. Errors: Corruption if they pass the end of
  // the data (or the file is shorter than at Open); IOError.
  Result<std::string> ReadAt(uint64_t offset, uint64_t n) const;

  // Reads page `pgid` and its overflow run. `ref` is the file offset of the
  // field that named the page (for errors). Checks: 2 <= pgid, the run below
  // the high water mark and inside the data, the header's id is `pgid`, no
  // page of the run already set in `visited` (sized to the high water
  // mark), which it then sets. The caller checks the flags. Errors:
  // Corruption, IOError.
  Result<Page> ReadPage(uint64_t pgid, uint64_t ref, std::vector<bool>& visited) const;

 private:
  int fd_;
  const std::string& path_;
  uint64_t data_bytes_;
  uint64_t page_size_;
  uint64_t high_water_;
};

// Walks one bucket's B+tree: each page once, elements in order, checking
// element bounds, key order (strictly increasing across the whole tree and
// inside the bounds each branch element sets) and depth. Calls `fn` for each
// leaf element.
class TreeWalker {
 public:
  // `page` holds the element, which starts at page.bytes[elem_at].
  using LeafFn = std::function<Status(const Page& page, size_t elem_at, uint32_t flags,
                                      std::string_view key, std::string_view value)>;

  // `src` and `visited` must outlive the walker.
  TreeWalker(const PageSource& src, std::vector<bool>& visited, LeafFn fn)
      : src_(src), visited_(visited), fn_(std::move(fn)) {}

  // Walks the tree whose root is page `root`, named at file offset `ref`.
  Status WalkPage(uint64_t root, uint64_t ref);

  // Walks an inline bucket's page: `bytes` found at file offset `offset`.
  Status WalkInline(std::string_view bytes, uint64_t offset);

 private:
  struct Bounds {
    std::optional<std::string_view> lo;  // keys >= lo
    std::optional<std::string_view> hi;  // keys < hi
  };

  Status Visit(uint64_t pgid, uint64_t ref, int depth, Bounds bounds);
  Status VisitBranch(const Page& page, int depth, Bounds bounds);
  Status VisitLeaf(const Page& page, int depth, Bounds bounds);
  Status CheckKey(const Page& page, size_t at, std::string_view key, Bounds bounds) const;

  const PageSource& src_;
  std::vector<bool>& visited_;
  LeafFn fn_;
  std::string last_key_;  // of the last leaf element, for order across pages
  bool has_last_ = false;
};

// The root of a bucket, from its value in the parent's leaf element.
struct BucketRef {
  uint64_t root = 0;             // 0 for an inline bucket
  std::string_view inline_page;  // the page of an inline bucket
};

// Parses a bucket value found at file offset `offset`. Errors: Corruption
// for a value shorter than the bucket header, or (root != 0) longer.
Result<BucketRef> ParseBucket(const PageSource& src, std::string_view value, uint64_t offset);

}  // namespace etcdd::snap::bbolt
