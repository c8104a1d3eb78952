// Lessor: the lease table of one member, modelled on etcd's lease/lessor.go
// (v3.4): TTLs, the keys attached to each lease, expiry, and lease
// checkpoints.
//
// The core is pure. It starts no threads, reads no clock and does no I/O:
//   - every time-dependent call takes `now`, a std::chrono::steady_clock
//     time_point supplied by the caller (the server's lessor timer; tests pass a
//     fake). Expiries are steady_clock time points; TTLs are whole seconds as on
//     etcd's wire.
//   - nothing is persisted here. Grant and ApplyCheckpoint return the
//     LeaseRecord ({id, ttl, remaining_ttl}, etcd's leasepb.Lease) that the
//     server writes to the backend's lease bucket in the same transaction as the
//     Raft entry that caused it; Revoke means "delete the record and these keys".
//     Keys are not persisted with the lease: on restart the server rebuilds them
//     from the lease field of the MVCC keys and passes them to Recover.
//   - nothing is proposed here. ExpiredLeases and Checkpoints return what the
//     leader should propose through Raft (LeaseRevoke, LeaseCheckpoint); every
//     member then applies the committed entries with Revoke / ApplyCheckpoint.
//
// Primary and non-primary: as in etcd, only the primary lessor (the one on the
// Raft leader) keeps expiries and renews. A non-primary keeps every lease's
// expiry at "forever" and never reports one as expired; Promote (on becoming
// leader) gives each lease an expiry of now + its remaining TTL (+ extend), so
// a failover never shortens a lease; Demote (on losing leadership) returns to
// "forever".
//
// Thread-safety: none. The owner serialises all calls (the server holds one
// mutex around its lessor). Ownership: a Lessor owns copies of all its data.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace etcdd::lease {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// etcd's lease.NoLease: the id of "no lease" on keys and in requests.
inline constexpr int64_t kNoLease = 0;
// etcd's lease.MaxLeaseTTL, in seconds.
inline constexpr int64_t kMaxLeaseTtlSeconds = 9000000000;
// The remaining TTL, in seconds, that etcd reports for a lease that never
// expires (a non-primary lessor): int64(math.MaxInt64 ns in seconds).
inline constexpr int64_t kForeverRemainingSeconds = INT64_MAX / 1000000000;

// Error messages, with the codes etcd's gRPC layer uses (rpctypes/error.go).
inline constexpr std::string_view kErrLeaseNotFound = "etcdserver: requested lease not found";
inline constexpr std::string_view kErrLeaseExists = "etcdserver: lease already exists";
inline constexpr std::string_view kErrLeaseTtlTooLarge = "etcdserver: too large lease TTL";
// etcd's lease.ErrNotPrimary. etcd never sends it to a client: the server
// forwards the renewal to the leader instead. Match it with IsNotPrimary.
inline constexpr std::string_view kErrNotPrimary = "not a primary lessor";

// True if `s` is the error Renew returns on a non-primary lessor.
bool IsNotPrimary(const Status& s);

// etcd's minimum lease TTL: ceil(((3 * election_ticks) / 2) * heartbeat) in
// seconds (etcdserver/server.go). With etcd's defaults (10 ticks of 100 ms) it
// is 2.
int64_t MinLeaseTtlSeconds(int64_t election_ticks, std::chrono::milliseconds heartbeat);

struct LessorOptions {
  // Grants and recovered leases with a smaller TTL get this TTL (seconds).
  int64_t min_ttl_seconds = 2;
  // etcd's --experimental-enable-lease-checkpoint: the primary schedules
  // checkpoints of remaining TTLs (see Checkpoints). Off by default, as in etcd.
  bool checkpointing_enabled = false;
  // etcd's --experimental-lease-checkpoint-interval (default 5 minutes): a
  // lease whose remaining TTL exceeds it is checkpointed this long after it is
  // granted, promoted or last checkpointed.
  Clock::duration checkpoint_interval = std::chrono::minutes(5);
  // After ExpiredLeases reports a lease, it is reported again only if it still
  // exists this much later (etcd's defaultExpiredleaseRetryInterval, 3 s).
  Clock::duration expired_retry_interval = std::chrono::seconds(3);
  // etcd's leaseRevokeRate (leases per second). Promote spreads expiries so
  // that at most 3/4 of this many leases expire in any one second, when the
  // lessor holds at least this many leases.
  int64_t revoke_rate = 1000;
};

// What the backend's lease bucket stores for a lease: etcd's leasepb.Lease.
struct LeaseRecord {
  int64_t id = kNoLease;
  // Granted TTL in seconds, after raising to the minimum.
  int64_t ttl = 0;
  // Last checkpointed remaining TTL in seconds; 0 means "unset, use ttl".
  int64_t remaining_ttl = 0;

  friend bool operator==(const LeaseRecord&, const LeaseRecord&) = default;
};

// A lease as Recover takes it: its record plus the keys attached to it.
struct RecoveredLease {
  LeaseRecord record;
  std::vector<std::string> keys;
};

// A lease as Lookup reports it (etcd's LeaseTimeToLive answer on the leader).
struct LeaseInfo {
  int64_t id = kNoLease;
  // Granted TTL in seconds.
  int64_t granted_ttl = 0;
  // Seconds until expiry, truncated toward zero as etcd's
  // int64(Remaining().Seconds()); kForeverRemainingSeconds on a non-primary.
  // May be 0 or negative for an expired lease that is not revoked yet.
  int64_t remaining_ttl = 0;
  // Attached keys, sorted.
  std::vector<std::string> keys;
};

// One entry of etcd's LeaseCheckpointRequest.
struct LeaseCheckpoint {
  int64_t id = kNoLease;
  // Remaining TTL in seconds, rounded up.
  int64_t remaining_ttl = 0;

  friend bool operator==(const LeaseCheckpoint&, const LeaseCheckpoint&) = default;
};

struct RenewResult {
  // The lease's granted TTL in seconds (etcd returns it as the new TTL).
  int64_t ttl = 0;
  // The lease had a checkpointed remaining TTL, now cleared here. The server
  // must propose LeaseCheckpoint{id, 0} so every member (and the backend)
  // forgets it too; otherwise a later leader would expire the lease early.
  // Mirrors etcd, whose Renew proposes that checkpoint before refreshing.
  bool clear_checkpoint = false;
};

class Lessor {
 public:
  // A non-primary lessor with no leases.
  explicit Lessor(LessorOptions options = {});

  // Grants lease `id` with `ttl_seconds` (raised to min_ttl_seconds), as etcd's
  // lessor.Grant when the LeaseGrant entry is applied. On the primary it
  // expires at now + ttl; elsewhere never. Returns the record to persist.
  // Errors: NotFound kErrLeaseNotFound if id is kNoLease (etcd's behaviour; the
  // server assigns ids before proposing); OutOfRange kErrLeaseTtlTooLarge if
  // ttl_seconds > kMaxLeaseTtlSeconds; FailedPrecondition kErrLeaseExists.
  Result<LeaseRecord> Grant(int64_t id, int64_t ttl_seconds, TimePoint now);

  // Removes lease `id` and detaches its keys, as the apply of LeaseRevoke.
  // Returns the keys that were attached, sorted: the server deletes them (and
  // the lease record) in one revision, and must not Detach them afterwards.
  // Errors: NotFound kErrLeaseNotFound.
  Result<std::vector<std::string>> Revoke(int64_t id);

  // Renews lease `id` (a LeaseKeepAlive): expiry becomes now + ttl and any
  // checkpointed remaining TTL is cleared. Only the primary renews.
  // Errors: FailedPrecondition kErrNotPrimary on a non-primary (the server
  // forwards to the leader); NotFound kErrLeaseNotFound if the lease does not
  // exist or has already expired at `now`. (etcd blocks on an expired lease
  // until its revocation is applied, then answers "not found"; this core
  // cannot block and answers at once.)
  Result<RenewResult> Renew(int64_t id, TimePoint now);

  // Attaches `key` to lease `id`, as etcd's Attach when a put with a lease is
  // applied. A key attached to another lease moves to this one (etcd's server
  // detaches it first; here that is implicit). Errors: NotFound.
  Status Attach(int64_t id, std::string_view key);

  // Detaches `key` from lease `id` (a put without the lease, or a delete).
  // Detaching a key that is not attached to `id` is a no-op. Errors: NotFound
  // if the lease does not exist.
  Status Detach(int64_t id, std::string_view key);

  // Whether lease `id` exists (also when expired but not revoked yet, as
  // etcd's Lookup finds it).
  bool Contains(int64_t id) const { return leases_.contains(id); }

  // The lease `key` is attached to, or kNoLease (etcd's GetLease).
  int64_t LeaseOf(std::string_view key) const;

  // Lease `id` with its remaining TTL at `now` and its keys.
  // Errors: NotFound kErrLeaseNotFound.
  Result<LeaseInfo> Lookup(int64_t id, TimePoint now) const;

  // Every lease's record, sorted by id: the LeaseLeases listing, and the
  // lessor's whole persisted state.
  std::vector<LeaseRecord> Leases() const;

  // Every lease's id, soonest expiry first (leases that never expire last),
  // ties by id: the order of etcd's LeaseLeases (lessor.Leases sorts by
  // remaining TTL).
  std::vector<int64_t> IdsByExpiry() const;

  size_t size() const { return leases_.size(); }
  bool is_primary() const { return primary_; }

  // Becomes primary (the member became Raft leader). Every lease expires at
  // now + its remaining TTL (the checkpointed one if set, else its TTL) +
  // `extend` (etcd passes the election timeout, so leases are not lost to the
  // failover itself). Then, as etcd's Promote, if there are at least
  // revoke_rate leases, expiries are spread so that no more than
  // 3/4 * revoke_rate fall within any one-second window. Schedules checkpoints.
  void Promote(Clock::duration extend, TimePoint now);

  // Becomes non-primary: every lease's expiry becomes "forever" and pending
  // expiry reports and checkpoints are dropped.
  void Demote();

  // On the primary, up to `limit` ids of leases that have expired at `now`, in
  // expiry order, for the leader to revoke through Raft (etcd revokes at most
  // revoke_rate / 2 per 500 ms tick). A reported lease is reported again after
  // expired_retry_interval if it still exists (its revocation was lost).
  // Empty on a non-primary.
  std::vector<int64_t> ExpiredLeases(TimePoint now, size_t limit);

  // On the primary with checkpointing enabled, up to `limit` due checkpoints:
  // (id, remaining TTL rounded up to seconds) for scheduled leases whose
  // remaining TTL is below their TTL. The leader proposes them as one
  // LeaseCheckpointRequest (etcd batches at most 1000). Each lease is
  // scheduled again when its checkpoint is applied. Empty otherwise.
  std::vector<LeaseCheckpoint> Checkpoints(TimePoint now, size_t limit = 1000);

  // Applies a committed LeaseCheckpoint (etcd's lessor.Checkpoint): sets the
  // lease's remaining TTL (0 clears it). It takes effect at the next Promote
  // or Recover+Promote; on the primary it also schedules the next checkpoint.
  // Returns the record to persist, or nullopt if the lease no longer exists
  // (etcd ignores such checkpoints).
  std::optional<LeaseRecord> ApplyCheckpoint(int64_t id, int64_t remaining_ttl, TimePoint now);

  // Replaces all leases with `leases` (after restart or a snapshot install).
  // TTLs below the minimum are raised. On a non-primary the leases never
  // expire; on the primary they expire at now + remaining TTL (etcd's Recover
  // leaves them "forever" until the next Promote; this core refreshes them so
  // a recovering primary keeps expiring leases).
  // Errors: InvalidArgument on id 0, a duplicate id, or a key attached to two
  // leases; the lessor is then unchanged.
  Status Recover(const std::vector<RecoveredLease>& leases, TimePoint now);

  // Checks internal consistency (key index <-> lease key sets, queues point at
  // live leases). Internal error describing the first violation. For tests.
  Status CheckInvariants() const;

 private:
  struct Lease {
    LeaseRecord record;
    // nullopt: never expires (non-primary).
    std::optional<TimePoint> expiry;
    // When this lease is in expiry_queue_, its time there.
    std::optional<TimePoint> expiry_check;
    // When this lease is in checkpoint_queue_, its time there.
    std::optional<TimePoint> checkpoint_at;
    std::set<std::string, std::less<>> keys;

    // Remaining TTL in seconds that the next refresh starts from.
    int64_t RemainingTtlSeconds() const {
      return record.remaining_ttl > 0 ? record.remaining_ttl : record.ttl;
    }
  };
  using Queue = std::set<std::pair<TimePoint, int64_t>>;

  Lease* Find(int64_t id);
  // expiry = now + RemainingTtlSeconds + extend; queues the expiry check.
  void Refresh(Lease& l, Clock::duration extend, TimePoint now);
  void QueueExpiry(Lease& l, TimePoint at);
  void ScheduleCheckpoint(Lease& l, TimePoint now);
  void Unqueue(Lease& l);
  void SpreadExpiries(Clock::duration extend, TimePoint now);

  LessorOptions options_;
  bool primary_ = false;
  std::map<int64_t, Lease> leases_;
  std::map<std::string, int64_t, std::less<>> key_to_lease_;
  // (check time, id): leases to look at in ExpiredLeases. Primary only.
  Queue expiry_queue_;
  // (due time, id): scheduled checkpoints. Primary with checkpointing only.
  Queue checkpoint_queue_;
};

}  // namespace etcdd::lease
