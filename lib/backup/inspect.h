// Reading an etcd snapshot file back: `etcdctl snapshot status`'s numbers
// (SnapshotStatus) and a full check of the file against etcd's invariants and
// a backup's manifest (VerifySnapshot).
//
// Both take a bare etcd snapshot on disk: a bbolt file, optionally followed by
// the 32-byte SHA-256 of the bytes before it (FORMAT.md; present when the size
// modulo 512 is 32, etcd's hasChecksum rule). For an archive, open it with
// OpenBackup (archive.h) first and pass the extracted snapshot_path, with
// `name` set to how the operator knows the file.
//
// Everything read from the file is untrusted (lib/snap's BboltReader checks
// every page); memory is bounded by the reader's page path plus, for
// VerifySnapshot, one entry per distinct user key (its latest revision),
// which the HashKV and live-key computations need.
//
// Thread-safety: pure functions of the file; run concurrently on any files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backup/manifest.h"
#include "base/status.h"

namespace etcdd::backup {

// etcd's snapshot.Status (clientv3/snapshot/v3_snapshot.go), which `etcdctl
// snapshot status` prints.
struct SnapshotStatusInfo {
  // CRC-32C (Castagnoli) over every top-level bucket in name order: the
  // bucket's name, then each key and value in key order.
  uint32_t hash = 0;
  // Main revision of the last key of bucket "key" (0 when it is empty).
  int64_t revision = 0;
  // Keys of all top-level buckets together.
  int64_t total_key = 0;
  // bbolt's tx.Size(): high water page id times page size, in bytes (the
  // digest trailer and any unused tail are not counted).
  int64_t total_size = 0;
};

// The facts about an etcd snapshot's SHA-256 trailer.
struct SnapshotDigest {
  uint64_t file_size = 0;   // bytes, trailer included
  uint64_t data_bytes = 0;  // bytes of the bbolt file (file_size less the trailer)
  bool present = false;     // file_size % 512 == 32
  bool matches = false;     // present, and the SHA-256 of the first data_bytes
  std::string sha256;       // of the whole file, 64 lower-case hex digits
};

// Reads the whole file once: its SHA-256, and, when a trailer is present
// (size % 512 == 32), checks it against the SHA-256 of the bytes before it.
// `name` (default: `path`) names the file in errors. Errors: NotFound;
// IOError; DataLoss "sha256 mismatch: the snapshot's digest does not match
// its contents (<name>)" (Status::Corruption, file() == name).
Result<SnapshotDigest> CheckSnapshotDigest(const std::string& path, const std::string& name = "");

// `etcdctl snapshot status <path>` (etcd 3.4): bbolt's structure check
// (tx.Check(), as etcdctl runs it first), then the values above. Unlike
// etcdctl, a present digest is checked too (CheckSnapshotDigest) so a
// damaged file is not reported as healthy. Errors: those of
// CheckSnapshotDigest; Corruption from BboltReader (file and offset)
// annotated with `name` when it differs from `path`; IOError.
Result<SnapshotStatusInfo> SnapshotStatus(const std::string& path, const std::string& name = "");

// One line of VerifySnapshot's report.
struct VerifyCheck {
  enum class Outcome { kOk, kSkipped, kFailed };
  std::string name;  // "digest", "bbolt", "key", "meta", "hash_kv", "manifest"
  Outcome outcome = Outcome::kOk;
  // What was found (ok), why it was not checked (skipped), or what is wrong,
  // naming the file and the bucket, key, page or offset (failed).
  std::string detail;
};

// What VerifySnapshot checked and found.
struct VerifyReport {
  std::string file;  // the name the checks refer to
  std::vector<VerifyCheck> checks;
  SnapshotDigest digest;
  SnapshotStatusInfo status;  // valid when the bbolt check passed
  // The revision etcd restores to: the highest of the last key's main
  // revision and the meta bucket's compaction revisions.
  int64_t revision = 0;
  // meta's compaction revision (scheduled, else finished); -1 when the key
  // space was never compacted, as etcd's HashKV reports it.
  int64_t compact_revision = -1;
  int64_t live_keys = 0;            // keys whose latest revision is a put
  std::optional<uint32_t> hash_kv;  // HashKV at `revision`, once computed

  // True when no check failed.
  bool ok() const;
  // The first failed check as DataLoss "<name>: <detail>", or Ok.
  Status FirstFailure() const;
};

// Checks the snapshot at `path`, in this order, recording each check:
//   digest    trailer present and matching (skipped when absent: a file
//             copied from a data dir, which etcd restores only with
//             --skip-hash-check);
//   bbolt     the whole structure (BboltReader::Check, bbolt's tx.Check);
//   key       every entry of bucket "key": its key a 17-byte revision
//             (main > 0, '_', sub) or an 18-byte tombstone ending in 't',
//             revisions strictly increasing; its value an mvccpb.KeyValue
//             with a key; a put's mod_revision equal to its main revision,
//             1 <= create_revision <= mod_revision, version >= 1, and per key
//             versions consecutive and create_revision constant within a
//             generation (a put after a tombstone starts at version 1 with
//             create_revision == mod_revision);
//   meta      bucket "meta" present; finishedCompactRev and
//             scheduledCompactRev 17-byte revisions, finished <= scheduled;
//             consistent_index 8 bytes;
//   hash_kv   etcd's HashKV (mvcc HashByRev) at `revision` over the file,
//             compared with manifest->hash_kv when the manifest's revision
//             and compact revision are the file's (otherwise computed and
//             reported, not compared);
//   manifest  snapshot_size and sha256 against the file; the revision no
//             later than the file's (a save records the Status taken just
//             before the snapshot, earlier when writes came in between) and,
//             when equal, key_count against the live keys (skipped without
//             a manifest).
// Checks after a failed "bbolt" are skipped (the tree cannot be walked).
// `name` (default `path`) names the file in the report. Errors (no report):
// NotFound and IOError for a file that cannot be read at all.
Result<VerifyReport> VerifySnapshot(const std::string& path,
                                    const std::optional<Manifest>& manifest,
                                    const std::string& name = "");

// "ok", "skipped" or "FAILED".
const char* OutcomeName(VerifyCheck::Outcome outcome);

}  // namespace etcdd::backup
