// BboltReader: reads a bbolt database file (etcd's backend, the first part of
// an `etcdctl snapshot save` file) without trusting a byte of it.
//
// It reads with pread (no mmap), one B+tree path of pages at a time, so
// memory stays at (tree depth) pages plus the largest overflow run, each run
// checked against the file's size before it is allocated. Every page it
// reaches is checked before use: id below the high water mark and inside the
// data, header id and type as expected, element offsets and lengths inside
// the page, keys strictly increasing and inside the range the parent branch
// gives them, no page reached twice (cycles, shared pages), depth at most 64.
// The meta pages are chosen as bbolt does (the valid one with the higher
// txid). FORMAT.md, "etcd's snapshot file (bbolt)", lists every check.
//
// Errors for bad data are Status::Corruption naming the file and the byte
// offset where the bad field is (file(), offset()); the message names the
// page id. I/O failures are IOError.
//
// Thread-safety: const methods may run concurrently (pread has no shared
// file position). Movable, not copyable.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/file.h"
#include "base/status.h"

namespace etcdd::snap {

class BboltReader {
 public:
  // Receives one key and its value, both valid only during the call.
  // Returning a non-ok Status stops the iteration, which returns it.
  using KeyValueFn = std::function<Status(std::string_view key, std::string_view value)>;

  // The meta page in use (bbolt's).
  struct Meta {
    uint32_t page_size = 0;   // bytes
    uint64_t root = 0;        // page id of the root bucket's root page
    uint64_t freelist = 0;    // page id, or ~0 when not stored (NoFreelistSync)
    uint64_t high_water = 0;  // first page id past the data (meta.pgid)
    uint64_t txid = 0;
    int page = 0;  // 0 or 1: which meta page this is
  };

  // Opens `path`, picks a meta page and, if the meta names one, reads the
  // freelist (its header, and every id in 2..high water mark, none twice).
  // `data_bytes` is how many leading bytes of the file are the bbolt
  // database (an etcd snapshot's caller strips the 32-byte SHA-256 trailer);
  // 0 means the whole file. Errors: NotFound if `path` does not exist;
  // Corruption if `data_bytes` exceeds the file, if neither meta page is
  // valid (the error of meta page 0 is returned), or the freelist is bad;
  // IOError.
  static Result<BboltReader> Open(const std::string& path, uint64_t data_bytes = 0);

  // The page size, in bytes, of the meta page in use.
  uint64_t page_size() const { return meta_.page_size; }
  // The transaction id of the meta page in use.
  uint64_t txid() const { return meta_.txid; }
  // The meta's high water mark: no page id at or above it is valid.
  uint64_t high_water_pgid() const { return meta_.high_water; }
  const Meta& meta() const { return meta_; }

  // The names of the top-level buckets, in bbolt's (bytewise) order.
  // Errors: Corruption in the root bucket's pages or an entry that is not a
  // bucket; IOError.
  Result<std::vector<std::string>> Buckets() const;

  // Calls `fn` for each key of top-level bucket `bucket`, in key order
  // (inline buckets included). Errors: NotFound if there is no such bucket;
  // Corruption in any page reached, including a nested bucket (etcd writes
  // none, so this reader does not descend into them); the first non-ok
  // Status `fn` returns; IOError.
  Status ForEach(std::string_view bucket, const KeyValueFn& fn) const;

  // Walks the whole file as bbolt's tx.Check() does: every bucket and the
  // freelist, with one visited set, so a page shared between two buckets or
  // with the freelist is found too; freelist ids must lie in 2..high water.
  // Errors: the first Corruption found; IOError.
  Status Check() const;

 private:
  BboltReader(UniqueFd fd, std::string path, uint64_t data_bytes, Meta meta)
      : fd_(std::move(fd)), path_(std::move(path)), data_bytes_(data_bytes), meta_(meta) {}

  UniqueFd fd_;
  std::string path_;
  uint64_t data_bytes_ = 0;
  Meta meta_;
};

}  // namespace etcdd::snap
