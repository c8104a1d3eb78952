// Segment files of the WAL (internal to lib/wal; see FORMAT.md): naming,
// listing, the segment-header record, preallocation and the file operations
// used by creation and torn-tail repair.
//
// Thread-safety: free functions; callers serialize access to a directory.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/file.h"
#include "base/status.h"

namespace etcdd::wal::internal {

inline constexpr uint64_t kFormatVersion = 1;
inline constexpr std::string_view kSegmentMagic = "ETCDDWAL";

// A segment file "<seq>-<first_index>.wal", both %016x.
struct SegmentName {
  uint64_t seq = 0;
  uint64_t first_index = 0;  // index of the first entry appended to the segment
  std::string file;          // base name
};

std::string SegmentFileName(uint64_t seq, uint64_t first_index);
// Parses a base name; nullopt for anything that is not exactly a segment name
// (so "*.wal.tmp" and "*.wal.broken" are not segments).
std::optional<SegmentName> ParseSegmentFileName(std::string_view name);
// The segments in `dir`, ordered by seq. Errors: NotFound if `dir` does not
// exist, IOError.
Result<std::vector<SegmentName>> ListSegments(const std::string& dir);
// ListSegments, with an empty or missing directory reported as NotFound "wal:
// file not found in <dir>" (etcd's ErrFileNotFound). Errors: IOError.
Result<std::vector<SegmentName>> ListExistingSegments(const std::string& dir);
// Errors: Corruption naming the files around the first gap in seqs.
Status CheckSequence(const std::vector<SegmentName>& segments, const std::string& dir);
// Position in `segments` (ordered by seq) of the segment reading must start
// at to find the snapshot marker for `index` and every entry after it: the
// last one whose first index is <= max(index, 1) (etcd's searchIndex; our
// first segment starts at 1 where etcd's starts at 0). Any such segment was
// started before the marker was written, since writing it raises the log's
// last index to at least `index`. nullopt if every segment starts later.
std::optional<size_t> StartSegment(const std::vector<SegmentName>& segments, uint64_t index);
// True if any file in `dir` is named "*.wal" (a segment or not). Errors: IOError.
Result<bool> HasWalFiles(const std::string& dir);
// Removes "*.wal.tmp" files: segments whose creation never reached the rename.
Status RemoveStaleTemps(Env& env, const std::string& dir);

// Payload of a kSegmentHeader record: magic, format version, seq, first index.
struct SegmentHeader {
  uint64_t version = 0;
  uint64_t seq = 0;
  uint64_t first_index = 0;
};
std::string EncodeSegmentHeader(uint64_t seq, uint64_t first_index);
// nullopt if the payload has the wrong size or magic.
std::optional<SegmentHeader> DecodeSegmentHeader(std::string_view payload);

// Grows the file to at least `bytes` by writing zeros after its end (see
// FORMAT.md for why not fallocate). Never shrinks. Errors: IOError.
Status Preallocate(File& file, uint64_t bytes);
// Takes a non-blocking exclusive flock so two processes never append to the
// same WAL. Errors: FailedPrecondition "wal: <path> is locked by another
// process" if another holder exists, IOError.
Status LockSegment(File& file);

// A freshly written, durable, locked segment positioned for appends.
struct OpenSegment {
  std::unique_ptr<File> file;
  std::string path;
  uint64_t offset = 0;  // where the next record goes
};
// Creates `tmp` (a "*.wal.tmp" name, removed as stale if a crash leaves it)
// through `env`, locks it, zero-fills it to `prealloc_bytes` and fdatasyncs
// it: a segment file waiting for its first records. On error the file is
// removed. Errors: IOError; FailedPrecondition if another process holds its
// lock.
Result<std::unique_ptr<File>> CreateSpareFile(Env& env, const std::string& tmp,
                                              uint64_t prealloc_bytes);
// Writes `initial_records` (segment header, metadata, ...) at the start of
// the spare file `file` named `tmp`, fdatasyncs it, renames it to
// "<dir>/<name>" and fsyncs `dir`. Errors: IOError.
Result<OpenSegment> InstallSegmentFile(Env& env, std::unique_ptr<File> file, const std::string& tmp,
                                       const std::string& dir, const SegmentName& name,
                                       std::string_view initial_records);
// CreateSpareFile then InstallSegmentFile, in the caller's thread.
Result<OpenSegment> CreateSegmentFile(Env& env, const std::string& dir, const SegmentName& name,
                                      std::string_view initial_records, uint64_t prealloc_bytes);

// Reads a whole file into `*buf` (reusing its capacity). Errors: IOError.
Status ReadWholeFile(const std::string& path, std::string* buf);
// Durably writes `data` to the first free name of "<path>.broken",
// "<path>.broken.1", ... and returns that name. Errors: IOError.
Result<std::string> KeepAside(Env& env, const std::string& path, std::string_view data);
// Overwrites bytes [from, to) of the file with zeros. Errors: IOError.
Status ZeroRange(File& file, uint64_t from, uint64_t to);

}  // namespace etcdd::wal::internal
