// BboltWriter: writes a bbolt database file (the format of etcd's backend and
// of the first part of an `etcdctl snapshot save` file) from sorted key/value
// streams, one top-level bucket at a time, in memory bounded by one page per
// B+tree level (plus the value being written) and the list of bucket names.
// The file passes bbolt's tx.Check() and opens in etcd; its layout is in
// FORMAT.md, "etcd's snapshot file (bbolt)".
//
// Usage: Create; for each bucket, BeginBucket, Put in increasing key order,
// EndBucket; Finish. The first error is sticky: every later call returns it,
// and the file is then incomplete (the caller removes it).
//
// Thread-safety: one thread at a time. The file goes straight to `path`; the
// caller picks a temporary name and renames it if it needs atomicity.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/env.h"
#include "base/status.h"

namespace etcdd::snap {

class BboltTreeBuilder;
class BboltPageWriter;

class BboltWriter {
 public:
  // The page size of every file written, in bytes.
  static constexpr uint32_t kPageSize = 4096;

  // Creates (or truncates) `path` through `env` (which must outlive the
  // writer). Errors: IOError naming the file.
  static Result<std::unique_ptr<BboltWriter>> Create(const std::string& path,
                                                     Env& env = *Env::Default());
  ~BboltWriter();

  // Starts top-level bucket `name` (1..32768 bytes). Buckets may come in any
  // order; each name once. Errors: InvalidArgument for an empty, too long or
  // repeated name; FailedPrecondition if a bucket is open or after Finish;
  // IOError.
  Status BeginBucket(std::string_view name);

  // Appends `key` (1..32768 bytes) with `value` (0..2^31-2 bytes) to the open
  // bucket. Keys must be strictly increasing, compared bytewise as unsigned.
  // Writes a leaf page each time one fills (a value too large for one page
  // gets an overflow run, as in bbolt). Errors: InvalidArgument for an
  // empty, too long or out-of-order key or a too long value;
  // FailedPrecondition if no bucket is open; IOError.
  Status Put(std::string_view key, std::string_view value);

  // Ends the open bucket: writes its last leaf and its branch pages. A bucket
  // whose entries fit in a quarter page (bbolt's rule) is stored inline in
  // the root bucket instead, as bbolt does; so is an empty one. Errors:
  // FailedPrecondition if no bucket is open; IOError.
  Status EndBucket();

  // Writes the root bucket (top-level buckets sorted by name), an empty
  // freelist (page 2) and both meta pages (0 and 1, each with `txid`), then
  // fsyncs. Returns the file's size in bytes (a multiple of kPageSize).
  // Errors: FailedPrecondition if a bucket is still open or Finish already
  // ran; IOError.
  Result<uint64_t> Finish(uint64_t txid);

 private:
  explicit BboltWriter(std::unique_ptr<BboltPageWriter> pages);
  Status Fail(Status s);
  // FailedPrecondition (sticky) if a bucket is open or Finish ran.
  Status CheckIdle();
  Status WriteHeadPages(uint64_t root_pgid, uint64_t txid);

  std::unique_ptr<BboltPageWriter> pages_;
  std::unique_ptr<BboltTreeBuilder> open_;  // the bucket between Begin and End
  std::string open_name_;
  std::string last_key_;  // of the open bucket
  bool has_key_ = false;
  // Top-level bucket name -> its value in the root bucket (bucket header,
  // plus the page of an inline bucket); "" while the bucket is open.
  std::map<std::string, std::string, std::less<>> buckets_;
  bool finished_ = false;
  Status error_;
};

}  // namespace etcdd::snap
