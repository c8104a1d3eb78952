// Restore: a new etcdd data directory from a snapshot in etcd's format (a
// bbolt file, optionally followed by its SHA-256, as `etcdctl snapshot save`
// writes it and as etcdd's Maintenance.Snapshot streams it), for
// `kvbackup restore` and `kvctl snapshot restore`.
//
// It follows etcdctl 3.4's `snapshot restore` (clientv3/snapshot/
// v3_snapshot.go) and etcdutl 3.5's flags: the key space, its compaction
// marks and the leases are kept; the member list is replaced by
// --initial-cluster (ids derived from the URLs and --initial-cluster-token,
// as a new cluster's are), and the member starts a new cluster whose log
// begins at the snapshot. Unlike etcd, a member that was a learner in the
// snapshot (same name) stays a learner, and the data dir is built under a
// temporary name and renamed into place, so a failed restore leaves nothing.
//
// Thread-safety: a free function; nothing else may use the directories.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backup/encryption.h"
#include "base/log.h"
#include "base/status.h"
#include "base/url.h"
#include "serverpb/internal.pb.h"

namespace etcdd::backup {

struct RestoreOptions {
  std::string snapshot_path;  // the etcd-format snapshot file
  // Where the member's data goes; "" means "<name>.etcd". Must not exist or
  // be an empty directory.
  std::string data_dir;
  // The WAL directory; "" means <data_dir>/member/wal. Same rule as data_dir.
  std::string wal_dir;
  std::string name = "default";  // this member's name in initial_cluster
  // The new cluster's members: name -> peer URLs (--initial-cluster).
  std::map<std::string, std::vector<Url>> initial_cluster;
  std::string initial_cluster_token = "etcd-cluster";
  std::vector<Url>
      initial_advertise_peer_urls;  // this member's; must equal its initial_cluster entry
  // Accept a file without its SHA-256, or whose digest does not match (a
  // bbolt file copied from a data dir has none).
  bool skip_hash_check = false;
  // etcdutl 3.5: raise the revision by this much above the snapshot's last
  // one (requires mark_compacted), so that clients watching from revisions
  // of the old cluster see a compaction instead of missing events.
  uint64_t bump_revision = 0;
  // etcdutl 3.5: schedule a compaction at the (bumped) last revision.
  bool mark_compacted = false;
};

// Sets opts->initial_cluster and opts->initial_advertise_peer_urls from
// the flags' text, "name=url,name=url" and "url,url" as etcd spells them.
// Errors: InvalidArgument naming the bad URL or entry.
Status ParseRestoreUrls(std::string_view initial_cluster, std::string_view advertise_peer_urls,
                        RestoreOptions* opts);

// What a restore produced.
struct RestoreResult {
  std::string data_dir;
  std::string wal_dir;
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  serverpb::Members members;  // the new member list
  int64_t revision = 0;       // the store revision after restore (bumped if asked)
  int64_t compact_revision = 0;
  uint64_t revisions = 0;  // entries of etcd's `key` bucket imported
  uint64_t leases = 0;
  bool auth_enabled = false;  // the snapshot's cluster had auth on (users and roles restored)
};

// Creates the data directory (and WAL directory) of member `opts.name` of a
// new cluster holding the snapshot's key space. Steps: check the options
// (etcd's VerifyBootstrap rules), the SHA-256 trailer (unless
// skip_hash_check), then read every bucket through the checked bbolt reader
// into a backend built under "<dir>.restore-tmp", open it once (which checks
// every revision and value), write the WAL (metadata, HardState, snapshot
// marker), and rename both directories into place.
// Errors: InvalidArgument for options etcd refuses ("couldn't find local
// name ...", "--initial-cluster has ... but missing from
// --initial-advertise-peer-urls=...", "--mark-compacted required if
// --bump-revision > 0"); FailedPrecondition "data-dir \"X\" exists and is not
// empty" (likewise wal-dir); InvalidArgument "snapshot missing hash but
// --skip-hash-check=false"; Corruption naming the file for a digest
// mismatch or a damaged bbolt file (page and offset), or an undecodable
// record (bucket and key); NotFound for a missing file; IOError. On error
// nothing is left at data_dir or wal_dir.
Result<RestoreResult> RestoreEtcdSnapshot(const RestoreOptions& opts, Logger& logger);

// RestoreEtcdSnapshot of a backup of any kind kvbackup reads: a bare
// snapshot (opts.snapshot_path is `path`), or an archive (encrypted ones
// need `key`), whose snapshot is first extracted into the data dir's parent
// directory and checked against its manifest (archive.h OpenBackup), then
// removed. Errors: those of OpenBackup and RestoreEtcdSnapshot.
Result<RestoreResult> RestoreBackup(const std::string& path,
                                    const std::optional<EncryptionKey>& key, RestoreOptions opts,
                                    Logger& logger);

}  // namespace etcdd::backup
