// Internal to lib/backup (inspect.cc): etcd's key space as a snapshot file
// stores it, read and checked entry by entry.
//
// Bucket "key" maps revisions to mvccpb.KeyValue: the key is main (8 bytes
// big-endian) '_' sub (8 bytes big-endian), plus 't' for a tombstone, whose
// value holds only the deleted key (etcd's mvcc/revision.go, kvstore_txn.go).
// Bucket "meta" holds consistent_index (8 bytes big-endian) and the
// compaction marks scheduledCompactRev and finishedCompactRev (17-byte
// revisions), as etcd 3.4's mvcc/kvstore.go writes them.
//
// Thread-safety: pure functions of the reader's file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"
#include "snap/bbolt_reader.h"

namespace etcdd::backup::internal {

inline constexpr std::string_view kKeyBucket = "key";
inline constexpr std::string_view kMetaBucket = "meta";

// A parsed key of bucket "key".
struct RevisionKey {
  int64_t main = 0;
  int64_t sub = 0;
  bool tombstone = false;
};

// Parses a key of bucket "key": 17 bytes with '_' at offset 8, or 18 bytes
// ending in 't'; main and sub must be non-negative int64 values. Returns
// nullopt for anything else.
std::optional<RevisionKey> ParseRevisionKey(std::string_view key);

// What bucket "meta" says.
struct MetaInfo {
  std::optional<int64_t> finished_compact;   // main revision
  std::optional<int64_t> scheduled_compact;  // main revision
  std::optional<uint64_t> consistent_index;
  // The compaction revision etcd's HashKV uses (scheduled, else finished),
  // -1 when there is none.
  int64_t CompactRevision() const;
};

// Reads and checks bucket "meta" (see VerifySnapshot's "meta" check).
// `name` names the file in errors. Errors: DataLoss (Status::Corruption
// naming `name`) for a missing bucket or a malformed or inconsistent value;
// the reader's errors.
Result<MetaInfo> ReadMeta(const snap::BboltReader& reader, const std::string& name);

// The latest entry of one user key.
struct KeyLatest {
  int64_t main = 0;
  int64_t sub = 0;
  bool tombstone = false;
  int64_t version = 0;          // puts only
  int64_t create_revision = 0;  // puts only
  int below_compact = 0;        // entries at or below the finished compaction
};

// The result of a full pass over bucket "key".
struct KeySpace {
  int64_t entries = 0;
  int64_t tombstones = 0;
  int64_t last_main = 0;                              // main revision of the last entry, 0 if none
  std::unordered_map<std::string, KeyLatest> latest;  // user key -> latest entry

  // Keys whose latest entry is a put: the live keys at last_main.
  int64_t LiveKeys() const;
};

// Reads every entry of bucket "key", checking each as VerifySnapshot's "key"
// check describes, and that nothing at or below `finished_compact` survives
// that a finished compaction removes (a key's older entries, tombstones).
// Errors: DataLoss (Status::Corruption naming `name`) whose message names
// bucket "key", the offending revision and what is wrong; the reader's.
Result<KeySpace> ScanKeyBucket(const snap::BboltReader& reader,
                               std::optional<int64_t> finished_compact, const std::string& name);

// etcd's HashKV (mvcc store.HashByRev) at revision `at` of this file, given
// the pass above and the compaction revision (-1 for none): CRC-32C of "key",
// then the key and value of each entry with main <= at, skipping entries at
// or below `compact` that are no key's live value at `at`, unless no key is
// live (lib/mvcc/LAYOUT.md, "Hash"). `at` must be >= space.last_main.
// Errors: the reader's; DataLoss for an entry that changed since the scan.
Result<uint32_t> HashKV(const snap::BboltReader& reader, const KeySpace& space, int64_t at,
                        int64_t compact, const std::string& name);

}  // namespace etcdd::backup::internal
