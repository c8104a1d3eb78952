// Leases: the member's lessor (lib/lease) with what the server adds around
// it: a lock, the lease records in the backend, and the apply of the lease
// requests that come through Raft (etcd's applierV3 LeaseGrant/LeaseRevoke/
// LeaseCheckpoint and the lessor hooks in mvcc's put and delete).
//
// Persistence: each lease is one record in the backend's meta space, key
// "lease/<id as 16 hex digits>", value serverpb.LeaseRecord, written in the
// same transaction as the entry that changed it. Which keys a lease holds is
// not stored twice: on open and after a snapshot install, Recover rebuilds it
// from the lease field of the live keys.
//
// Keys follow the writes: after each applied request, Track reads the new
// events of the write transaction; a put attaches its key to its lease (and
// detaches it from a previous one), a delete detaches it.
//
// Thread-safety: every method may be called from any thread; one mutex
// guards the lessor. The Apply* and Track methods belong to the apply
// thread, inside its write transaction.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "base/status.h"
#include "etcdserverpb/rpc.pb.h"
#include "lease/lessor.h"
#include "mvcc/store.h"

namespace etcdd::server {

// Prefix of the lease records' keys in the backend's server metadata.
inline constexpr char kLeaseMetaPrefix[] = "lease/";

class Leases {
 public:
  explicit Leases(lease::LessorOptions options);

  // Replaces the lessor's leases with those the backend holds: the lease
  // records and, for each, the live keys whose lease field names it. On a
  // primary the leases expire at now + remaining TTL. Errors: Corruption for
  // an undecodable record or a key naming a lease without a record; IOError.
  Status Recover(const mvcc::Store& store);

  // Whether lease `id` exists (mvcc::Options::lease_exists).
  bool Exists(int64_t id) const;

  // Apply of a committed LeaseGrant (etcd's lessor.Grant): the lease and its
  // record. The response carries ID and the granted TTL (raised to the
  // minimum TTL, in seconds). Errors: FailedPrecondition "etcdserver: lease
  // already exists", OutOfRange "etcdserver: too large lease TTL", NotFound
  // for id 0; IOError from the backend.
  Result<etcdserverpb::LeaseGrantResponse> ApplyGrant(mvcc::Store::WriteTxn& txn,
                                                      const etcdserverpb::LeaseGrantRequest& req);
  // Apply of a committed LeaseRevoke (etcd's lessor.Revoke): deletes every
  // key attached to the lease in one revision (one txn of deletes) and the
  // lease record. Errors: NotFound "etcdserver: requested lease not found";
  // the backend's errors.
  Result<etcdserverpb::LeaseRevokeResponse> ApplyRevoke(
      mvcc::Store::WriteTxn& txn, const etcdserverpb::LeaseRevokeRequest& req);
  // Apply of a committed LeaseCheckpointRequest: records each lease's
  // remaining TTL (seconds; 0 clears it). Leases that no longer exist are
  // skipped, as etcd does. Errors: the backend's.
  Result<etcdserverpb::LeaseCheckpointResponse> ApplyCheckpoint(
      mvcc::Store::WriteTxn& txn, const etcdserverpb::LeaseCheckpointRequest& req);
  // Attaches and detaches keys after the events of `txn` from index `from`
  // on (WriteTxn::Events()); returns the new end, to pass as `from` next.
  size_t Track(const mvcc::Store::WriteTxn& txn, size_t from);

  // The primary's renewal (etcd's lessor.Renew), `clear_checkpoint` as in
  // lease::RenewResult. Errors: FailedPrecondition lease::kErrNotPrimary on
  // a non-primary; NotFound "etcdserver: requested lease not found".
  Result<lease::RenewResult> Renew(int64_t id);
  // The lease's granted TTL, remaining TTL (seconds) and keys. Errors:
  // NotFound.
  Result<lease::LeaseInfo> Lookup(int64_t id) const;
  // Every lease's record, sorted by id.
  std::vector<lease::LeaseRecord> List() const;
  // Every lease's id, soonest expiry first (lease::Lessor::IdsByExpiry).
  std::vector<int64_t> IdsByExpiry() const;

  // Leadership (etcd's Promote/Demote on a leader change): a primary keeps
  // expiries, extended by `extend` at promotion.
  void Promote(std::chrono::milliseconds extend);
  void Demote();
  bool IsPrimary() const;

  // On the primary: up to `limit` expired leases to revoke, and due
  // checkpoints, for the leader to propose.
  std::vector<int64_t> Expired(size_t limit);
  std::vector<lease::LeaseCheckpoint> DueCheckpoints();

  // The backend meta key of lease `id`'s record: "lease/" and the id as 16
  // lowercase hex digits (its two's complement for a negative id).
  static std::string RecordKey(int64_t id);

 private:
  static Status PutRecord(mvcc::Store::WriteTxn& txn, const lease::LeaseRecord& r);

  mutable std::mutex mu_;
  lease::Lessor lessor_;  // guarded by mu_
};

}  // namespace etcdd::server
