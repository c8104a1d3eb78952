// `kvbackup save`: fetch a snapshot from a cluster member and store it as a
// backup file (an archive by default, or the bare etcd snapshot).
//
// Steps, each of which can fail the save without leaving a file that looks
// like a backup:
//   1. choose the member: with one endpoint, that one; with several, the
//      leader (or, with SourceRole::kFollower, a follower), found by asking
//      each endpoint for its Status as etcdctl's move-leader does;
//   2. note what the cluster says (ClusterFacts: Status, MemberList, HashKV
//      and the key count at the Status revision);
//   3. stream Maintenance.Snapshot into a temporary file, checking the
//      SHA-256 trailer (snapshot_digest.h);
//   4. write the archive (or keep the bare file) under a temporary name,
//      fsync, rename into place, fsync the directory (output_file.h);
//   5. optionally prune the directory (catalog.h).
// When the target is a directory, steps 3 to 5 run under its DirectoryLock
// and start by removing stale temporary files of dead saves.
//
// Thread-safety: SaveBackup may run concurrently with other calls on the
// same Client; the progress callback runs on the calling thread.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backup/catalog.h"
#include "backup/encryption.h"
#include "backup/manifest.h"
#include "backup/retention.h"
#include "base/env.h"
#include "base/status.h"
#include "client/client.h"

namespace etcdd::backup {

enum class SourceRole { kLeader, kFollower };

struct SaveOptions {
  // A file to write, or an existing directory in which the file gets the
  // name of naming.h.
  std::string target;
  bool raw = false;                  // the bare etcd snapshot instead of an archive
  std::optional<EncryptionKey> key;  // encrypt the archive (not with raw)
  // Bounds the whole save, transfer included; zero means no bound.
  std::chrono::milliseconds timeout{0};
  // Which member to take the snapshot from when several endpoints are given.
  SourceRole from = SourceRole::kLeader;
  // How long to wait for another kvbackup's lock on a target directory.
  std::chrono::milliseconds lock_timeout{0};
  // Prune the target directory with this policy after saving.
  std::optional<RetentionPolicy> prune;
  std::string etcdd_version;  // recorded in the manifest
  // Called after each received message with the bytes received so far and
  // the expected total (trailer included; 0 while unknown).
  std::function<void(uint64_t received, uint64_t total)> progress;
  Env* env = Env::Default();
};

struct SaveResult {
  std::string path;      // the backup file written
  uint64_t size = 0;     // its size in bytes
  std::string endpoint;  // the endpoint the snapshot came from
  // What was saved (for a raw save, the manifest an archive would have had).
  Manifest manifest;
  std::vector<std::string> removed_temp_files;  // stale temporaries cleaned up
  std::optional<PruneResult> prune;
};

// Runs the save described above with `client`, choosing among `endpoints`
// (spelled as in the client's config). Errors: InvalidArgument for options
// that do not fit together (raw with a key, prune without a directory
// target); the client's errors (e.g. DeadlineExceeded "context deadline
// exceeded", Unimplemented from a server without Snapshot); NotFound
// "none of the endpoints ... is the leader|a follower"; DataLoss from the
// trailer check; IOError; FailedPrecondition when the directory is locked.
Result<SaveResult> SaveBackup(client::Client& client, const std::vector<std::string>& endpoints,
                              const SaveOptions& options);

// `etcdctl snapshot save <path>`'s core, step 3 and the raw half of step 4
// alone: streams Maintenance.Snapshot from `endpoint` into a temporary file
// beside `path` (output_file.h), checks the SHA-256 trailer, fsyncs and
// renames it to `path`. No cluster facts are gathered and no lock is taken.
// Uses options.timeout (zero: none), options.progress and options.env; the
// other options are ignored. Returns the size and SHA-256 of the file.
// Errors: the client's (e.g. DeadlineExceeded "context deadline
// exceeded"); DataLoss from the trailer check; InvalidArgument for a path
// with no file name; IOError. Nothing is left at `path` or beside it on
// error.
Result<SnapshotFileFacts> SaveSnapshotFile(client::Client& client, const std::string& endpoint,
                                           const std::string& path, const SaveOptions& options);

// The endpoint to take a snapshot from and its Status, as step 1 above.
struct SnapshotSource {
  std::string endpoint;
  etcdserverpb::StatusResponse status;
};
Result<SnapshotSource> ChooseSource(client::Client& client,
                                    const std::vector<std::string>& endpoints, SourceRole role);

}  // namespace etcdd::backup
