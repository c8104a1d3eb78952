// The member's Raft snapshot files, in "<data-dir>/member/snap" (FORMAT.md).
//
// etcdd's Raft snapshot is the backend: a consistent copy of it (the file
// mvcc::Store::WriteSnapshot writes) is what a leader streams to a follower
// that is too far behind, and what the follower installs. Two kinds of file
// live here:
//   "<index, %016x>.snap.db"   a snapshot received from the leader, at that
//                              Raft index; kept until the backend holds it
//                              (etcd: member/snap/<index>.snap.db);
//   "send-<peer id>-<n>.snap.db"  a backend copy being streamed to that
//                              peer (n numbers the transfers, so that two in
//                              flight to one peer never share a file);
//                              removed when the transfer ends;
//   "export-<n>.snap.db"       a file in etcd's snapshot format being
//                              streamed to a client (Maintenance.Snapshot);
//                              removed when the call ends.
// Files being received carry a ".part" suffix until they are complete,
// fsynced and renamed (FileSink).
//
// Thread-safety: a value; its methods only touch the file system, and
// callers serialize work on one file.
#pragma once

#include <cstdint>
#include <string>

#include "base/log.h"
#include "base/status.h"

namespace etcdd::snap {

class SnapshotDir {
 public:
  // `dir`: "<data-dir>/member/snap"; created on demand by Create().
  explicit SnapshotDir(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  // Creates the directory (mode 0700) if missing. Errors: IOError.
  Status Create() const;
  // "<dir>/<index, 16 hex digits>.snap.db".
  std::string ReceivedPath(uint64_t index) const;
  // "<dir>/send-<peer id in hex>-<seq>.snap.db".
  std::string SendPath(uint64_t peer_id, uint64_t seq) const;
  // "<dir>/export-<seq>.snap.db".
  std::string ExportPath(uint64_t seq) const;
  // Deletes the files no restart needs and logs each: copies left by an
  // interrupted send or client export, unfinished ".part" receptions, and received snapshots
  // at or below `backend_index` (installed or superseded). A missing
  // directory is not an error; failures to delete are logged and skipped.
  void RemoveStale(uint64_t backend_index, Logger& logger) const;

 private:
  std::string dir_;
};

}  // namespace etcdd::snap
