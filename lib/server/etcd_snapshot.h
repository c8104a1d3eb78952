// etcd's view of an etcdd backend: the buckets an etcd 3.4 backend holding
// the same state would have (etcd_schema.h), produced from one consistent
// read view of our LMDB backend, and the two things made of them:
//
// - the file `etcdctl snapshot save` stores (Maintenance.Snapshot's stream):
//   a bbolt database with those buckets, then the SHA-256 of its bytes;
// - etcd's backend hash (Maintenance.Hash): CRC-32C over the same buckets.
//
// Both go through EmitEtcdBuckets, so there is one definition of the
// representation. The mapping from our databases is in lib/snap/FORMAT.md
// ("etcd's buckets from an etcdd backend").
//
// Thread-safety: functions of their arguments; a RawView is used by one
// thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "base/env.h"
#include "base/status.h"
#include "mvcc/raw_view.h"

namespace etcdd::server {

// Receives etcd's backend one top-level bucket at a time.
class EtcdBucketSink {
 public:
  virtual ~EtcdBucketSink() = default;
  // Starts bucket `name`. Buckets come in bbolt's order (bytewise by name).
  virtual Status BeginBucket(std::string_view name) = 0;
  // One entry of the open bucket; keys strictly increasing (bytewise). The
  // views are valid only during the call.
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  virtual Status EndBucket() = 0;
};

// Produces, from `view`, every bucket etcd 3.4 creates, in name order:
//   alarm       empty (etcdd has no alarms yet)
//   auth        authEnabled (once auth was enabled or disabled) and
//               authRevision (1 if auth never changed, as a fresh etcd)
//   authRoles, authUsers  the auth store's roles and users (auth/store.h)
//   cluster     clusterVersion = "3.4.0"
//   key         the `key` database, entry for entry
//   lease       each "lease/<hex>" server record, keyed by 8-byte id
//   members, members_removed  from the server's serverpb.Members record
//   meta        consistent_index, term, scheduledCompactRev,
//               finishedCompactRev (those present, bytes as stored) and
//               confState (JSON of the server's ConfState, if recorded)
// Memory: the members and meta entries (a few) are sorted in memory; the key
// space and the leases stream. Errors: the sink's; Corruption naming the
// record for an undecodable members, confstate or lease record; IOError.
Status EmitEtcdBuckets(const mvcc::RawView& view, EtcdBucketSink& sink);

// What WriteEtcdSnapshot wrote; the numbers `etcdctl snapshot status` shows.
struct EtcdSnapshotInfo {
  uint64_t db_bytes = 0;    // the bbolt part (status's totalSize); the file is 32 bytes more
  int64_t revision = 0;     // main revision of the last `key` entry (status's revision); 0: none
  uint64_t total_keys = 0;  // entries in all buckets (status's totalKey)
};

// Writes `path` (created or truncated through `env`): the bbolt file of
// EmitEtcdBuckets(view) (lib/snap BboltWriter, 4 KiB pages, txid 1), then
// the 32-byte SHA-256 of those bytes, as `etcdctl snapshot save` stores it
// (clientv3/snapshot/v3_snapshot.go; the digest is what etcd's
// maintenance.go Snapshot sends last). The file is fsynced. Memory: bounded
// by the bbolt writer's pages and a 1 MiB read buffer, whatever the size.
// `cancelled` (may be empty) is polled every 4096 entries: once it returns
// true the write stops with Cancelled (a client that went away). On error
// the file is incomplete; the caller removes it.
// Errors: EmitEtcdBuckets's; Cancelled; IOError naming the file.
Result<EtcdSnapshotInfo> WriteEtcdSnapshot(const mvcc::RawView& view, const std::string& path,
                                           Env& env = *Env::Default(),
                                           const std::function<bool()>& cancelled = {});

// A file WriteEtcdSnapshot wrote for one client; removed (unlink, errors
// ignored) when this object is destroyed, however the call ended.
class ExportedEtcdSnapshot {
 public:
  explicit ExportedEtcdSnapshot(std::string path) : path_(std::move(path)) {}
  ~ExportedEtcdSnapshot();
  ExportedEtcdSnapshot(const ExportedEtcdSnapshot&) = delete;
  ExportedEtcdSnapshot& operator=(const ExportedEtcdSnapshot&) = delete;

  const std::string& path() const { return path_; }
  // What was written (set by the writer once the file is complete).
  const EtcdSnapshotInfo& info() const { return info_; }
  EtcdSnapshotInfo& info() { return info_; }

 private:
  std::string path_;
  EtcdSnapshotInfo info_;
};

// etcd's backend hash (mvcc/backend/backend.go Hash with mvcc DefaultIgnores,
// what Maintenance.Hash returns): CRC-32C (Castagnoli) over every bucket of
// EmitEtcdBuckets(view) in order: the bucket's name, then each entry's key
// and value, except those etcd_schema::HashIgnores (meta consistent_index and
// term). Equals the CRC over the file WriteEtcdSnapshot writes for the same
// view, without writing it. Errors: EmitEtcdBuckets's.
Result<uint32_t> EtcdBackendHash(const mvcc::RawView& view);

}  // namespace etcdd::server
