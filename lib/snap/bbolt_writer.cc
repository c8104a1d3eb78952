#include "snap/bbolt_writer.h"

#include <utility>
#include <vector>

#include "snap/bbolt_format.h"

namespace etcdd::snap {

using namespace bbolt;  // NOLINT: the format's constants, in this file only

namespace {

constexpr uint64_t kPage = BboltWriter::kPageSize;
// Pages 0 and 1 hold the metas, page 2 the freelist; data starts at 3.
constexpr uint64_t kFreelistPgid = 2;
constexpr uint64_t kFirstDataPgid = 3;
// Appended pages are written in batches of about this many bytes.
constexpr size_t kWriteBatchBytes = 1 << 20;
// Each branch level at least halves the pages below it.
constexpr size_t kMaxLevels = 64;

uint64_t PagesFor(uint64_t bytes) { return (bytes + kPage - 1) / kPage; }

}  // namespace

// Gives out page ids in increasing order from 3 and writes the pages
// appended, batched into large sequential writes.
class BboltPageWriter {
 public:
  explicit BboltPageWriter(std::unique_ptr<File> file) : file_(std::move(file)) {}

  uint64_t next_pgid() const { return next_; }

  // Appends `page` (whole pages; its header's flags and count already set)
  // under the next free id, setting the header's id and overflow. Returns
  // the id.
  Result<uint64_t> Append(std::string& page) {
    uint64_t pgid = next_;
    uint64_t n = page.size() / kPage;
    Store64(page.data(), pgid);
    Store32(page.data() + kHeaderOverflowAt, static_cast<uint32_t>(n - 1));
    next_ += n;
    if (page.size() >= kWriteBatchBytes) {
      RETURN_IF_ERROR(Flush());
      RETURN_IF_ERROR(file_->WriteAt(pgid * kPage, page));
      buf_start_ = next_;
      return pgid;
    }
    buf_ += page;
    if (buf_.size() >= kWriteBatchBytes) RETURN_IF_ERROR(Flush());
    return pgid;
  }

  // Writes `pages` at page `pgid`, outside the appended range (the head).
  Status WriteAt(uint64_t pgid, std::string_view pages) {
    return file_->WriteAt(pgid * kPage, pages);
  }

  Status Flush() {
    RETURN_IF_ERROR(file_->WriteAt(buf_start_ * kPage, buf_));
    buf_.clear();
    buf_start_ = next_;
    return Status::Ok();
  }

  Status Sync() { return file_->Sync(); }

 private:
  std::unique_ptr<File> file_;
  uint64_t next_ = kFirstDataPgid;
  uint64_t buf_start_ = kFirstDataPgid;  // page id of buf_'s first byte
  std::string buf_;
};

// Builds one bucket's B+tree bottom-up from entries in key order: the
// current leaf, and one pending branch page per level above it. A page is
// written as soon as the next entry would not fit, so memory stays at a page
// per level.
class BboltTreeBuilder {
 public:
  // Where the finished tree is: a root page id, or (pgid 0) an inline page.
  struct Root {
    uint64_t pgid = 0;
    std::string inline_page;
  };

  // `leaf_flags` is stored in every leaf element (kBucketLeafFlag for the
  // root bucket, whose values are buckets).
  BboltTreeBuilder(BboltPageWriter& pages, uint32_t leaf_flags)
      : pages_(pages), leaf_flags_(leaf_flags) {}

  // The caller checks key order and sizes.
  Status Add(std::string_view key, std::string_view value) {
    size_t add = kElementSize + key.size() + value.size();
    if (!leaf_.sizes.empty() && leaf_.bytes + add > kPage) RETURN_IF_ERROR(FlushLeaf());
    leaf_.sizes.emplace_back(key.size(), value.size());
    leaf_.data.append(key).append(value);
    leaf_.bytes += add;
    return Status::Ok();
  }

  // Writes what is pending. With `allow_inline`, a tree that never filled a
  // page and takes at most a quarter page comes back inline (bbolt's rule).
  Result<Root> Finish(bool allow_inline) {
    if (levels_.empty() && allow_inline && leaf_.bytes <= kPage / 4) {
      return Root{0, LeafPage(leaf_.bytes)};
    }
    if (!leaf_.sizes.empty() || levels_.empty()) RETURN_IF_ERROR(FlushLeaf());
    for (size_t i = 0; i < levels_.size(); ++i) {
      if (i + 1 == levels_.size() && levels_[i].children.size() == 1) {
        return Root{levels_[i].children[0].second, {}};
      }
      RETURN_IF_ERROR(FlushBranch(i));
    }
    return Status::Internal("bbolt tree has no root");  // unreachable: the loop returns
  }

 private:
  struct Leaf {
    std::vector<std::pair<size_t, size_t>> sizes;  // key and value sizes
    std::string data;                              // keys and values, in order
    size_t bytes = kPageHeaderSize;                // page bytes used
  };
  struct Level {
    std::vector<std::pair<std::string, uint64_t>> children;  // first key, pgid
    size_t bytes = kPageHeaderSize;
  };

  static std::string NewPage(size_t bytes, uint16_t flags, size_t count) {
    std::string page(bytes, '\0');
    Store16(page.data() + kHeaderFlagsAt, flags);
    Store16(page.data() + kHeaderCountAt, static_cast<uint16_t>(count));
    return page;
  }

  // The current leaf as a page of `bytes` bytes (>= leaf_.bytes).
  std::string LeafPage(size_t bytes) const {
    std::string page = NewPage(bytes, kLeafPage, leaf_.sizes.size());
    size_t data_at = kPageHeaderSize + kElementSize * leaf_.sizes.size();
    for (size_t i = 0; i < leaf_.sizes.size(); ++i) {
      char* elem = page.data() + kPageHeaderSize + kElementSize * i;
      Store32(elem, leaf_flags_);
      Store32(elem + 4, static_cast<uint32_t>(data_at - (elem - page.data())));
      Store32(elem + 8, static_cast<uint32_t>(leaf_.sizes[i].first));
      Store32(elem + 12, static_cast<uint32_t>(leaf_.sizes[i].second));
      data_at += leaf_.sizes[i].first + leaf_.sizes[i].second;
    }
    page.replace(kPageHeaderSize + kElementSize * leaf_.sizes.size(), leaf_.data.size(),
                 leaf_.data);
    return page;
  }

  Status FlushLeaf() {
    std::string page = LeafPage(PagesFor(leaf_.bytes) * kPage);
    ASSIGN_OR_RETURN(uint64_t pgid, pages_.Append(page));
    std::string first_key =
        leaf_.sizes.empty() ? std::string() : leaf_.data.substr(0, leaf_.sizes[0].first);
    leaf_ = Leaf{};
    return AddChild(0, std::move(first_key), pgid);
  }

  Status AddChild(size_t level, std::string first_key, uint64_t pgid) {
    if (level == kMaxLevels) return Status::Internal("bbolt writer: tree too deep");
    if (level == levels_.size()) levels_.emplace_back();
    size_t add = kElementSize + first_key.size();
    // A branch page keeps at least two children (bbolt's minKeysPerPage),
    // overflowing if its keys are large: splitting off one child per page
    // would not shrink the next level.
    if (levels_[level].children.size() >= 2 && levels_[level].bytes + add > kPage) {
      RETURN_IF_ERROR(FlushBranch(level));
    }
    levels_[level].children.emplace_back(std::move(first_key), pgid);
    levels_[level].bytes += add;
    return Status::Ok();
  }

  Status FlushBranch(size_t level) {
    Level node = std::exchange(levels_[level], Level{});
    std::string page = NewPage(PagesFor(node.bytes) * kPage, kBranchPage, node.children.size());
    size_t data_at = kPageHeaderSize + kElementSize * node.children.size();
    for (size_t i = 0; i < node.children.size(); ++i) {
      const auto& [key, child] = node.children[i];
      char* elem = page.data() + kPageHeaderSize + kElementSize * i;
      Store32(elem, static_cast<uint32_t>(data_at - (elem - page.data())));
      Store32(elem + 4, static_cast<uint32_t>(key.size()));
      Store64(elem + 8, child);
      page.replace(data_at, key.size(), key);
      data_at += key.size();
    }
    ASSIGN_OR_RETURN(uint64_t pgid, pages_.Append(page));
    return AddChild(level + 1, std::move(node.children[0].first), pgid);
  }

  BboltPageWriter& pages_;
  const uint32_t leaf_flags_;
  Leaf leaf_;
  std::vector<Level> levels_;  // levels_[0] holds the leaves' parents
};

Result<std::unique_ptr<BboltWriter>> BboltWriter::Create(const std::string& path, Env& env) {
  ASSIGN_OR_RETURN(auto file, env.OpenFile(path, Env::OpenMode::kTruncate));
  return std::unique_ptr<BboltWriter>(
      new BboltWriter(std::make_unique<BboltPageWriter>(std::move(file))));
}

BboltWriter::BboltWriter(std::unique_ptr<BboltPageWriter> pages) : pages_(std::move(pages)) {}

BboltWriter::~BboltWriter() = default;

Status BboltWriter::Fail(Status s) {
  if (error_.ok()) error_ = s;
  return s;
}

Status BboltWriter::CheckIdle() {
  if (finished_) return Fail(Status::FailedPrecondition("bbolt writer: already finished"));
  if (open_) {
    return Fail(Status::FailedPrecondition("bbolt writer: bucket \"" + open_name_ + "\" is open"));
  }
  return Status::Ok();
}

Status BboltWriter::BeginBucket(std::string_view name) {
  RETURN_IF_ERROR(error_);
  RETURN_IF_ERROR(CheckIdle());
  if (name.empty() || name.size() > kMaxKeySize) {
    return Fail(Status::InvalidArgument("bbolt writer: bucket name must be 1..32768 bytes"));
  }
  if (!buckets_.emplace(std::string(name), std::string()).second) {
    return Fail(Status::InvalidArgument("bbolt writer: bucket \"" + std::string(name) +
                                        "\" written twice"));
  }
  open_name_ = std::string(name);
  open_ = std::make_unique<BboltTreeBuilder>(*pages_, 0);
  last_key_.clear();
  return Status::Ok();
}

Status BboltWriter::Put(std::string_view key, std::string_view value) {
  RETURN_IF_ERROR(error_);
  if (!open_) return Fail(Status::FailedPrecondition("bbolt writer: no bucket open"));
  if (key.empty() || key.size() > kMaxKeySize || value.size() > kMaxValueSize) {
    return Fail(Status::InvalidArgument("bbolt writer: bucket \"" + open_name_ +
                                        "\": key must be 1..32768 bytes, value < 2 GiB"));
  }
  if (has_key_ && key <= std::string_view(last_key_)) {
    return Fail(
        Status::InvalidArgument("bbolt writer: bucket \"" + open_name_ + "\": keys out of order"));
  }
  last_key_.assign(key);
  has_key_ = true;
  Status s = open_->Add(key, value);
  return s.ok() ? s : Fail(s);
}

Status BboltWriter::EndBucket() {
  RETURN_IF_ERROR(error_);
  if (!open_) return Fail(Status::FailedPrecondition("bbolt writer: no bucket open"));
  auto root = open_->Finish(/*allow_inline=*/true);
  if (!root.ok()) return Fail(root.status());
  std::string value(kBucketHeaderSize, '\0');
  Store64(value.data(), root->pgid);
  value += root->inline_page;
  buckets_[open_name_] = std::move(value);
  open_.reset();
  has_key_ = false;
  return Status::Ok();
}

Status BboltWriter::WriteHeadPages(uint64_t root_pgid, uint64_t txid) {
  std::string head(3 * kPage, '\0');
  for (uint64_t i = 0; i < 2; ++i) {
    char* p = head.data() + i * kPage;
    Store64(p, i);
    Store16(p + kHeaderFlagsAt, kMetaPage);
    Store32(p + kMetaMagicAt, kMagic);
    Store32(p + kMetaVersionAt, kVersion);
    Store32(p + kMetaPageSizeAt, kPageSize);
    Store64(p + kMetaRootAt, root_pgid);
    Store64(p + kMetaFreelistAt, kFreelistPgid);
    Store64(p + kMetaPgidAt, pages_->next_pgid());
    Store64(p + kMetaTxidAt, txid);
    Store64(p + kMetaChecksumAt, MetaChecksum(p));
  }
  char* freelist = head.data() + kFreelistPgid * kPage;
  Store64(freelist, kFreelistPgid);
  Store16(freelist + kHeaderFlagsAt, kFreelistPage);
  return pages_->WriteAt(0, head);
}

Result<uint64_t> BboltWriter::Finish(uint64_t txid) {
  RETURN_IF_ERROR(error_);
  RETURN_IF_ERROR(CheckIdle());
  finished_ = true;
  BboltTreeBuilder root(*pages_, kBucketLeafFlag);
  for (const auto& [name, value] : buckets_) {
    if (Status s = root.Add(name, value); !s.ok()) return Fail(s);
  }
  auto root_page = root.Finish(/*allow_inline=*/false);
  if (!root_page.ok()) return Fail(root_page.status());
  Status s = pages_->Flush();
  if (s.ok()) s = WriteHeadPages(root_page->pgid, txid);
  if (s.ok()) s = pages_->Sync();
  if (!s.ok()) return Fail(s);
  return pages_->next_pgid() * kPage;
}

}  // namespace etcdd::snap
