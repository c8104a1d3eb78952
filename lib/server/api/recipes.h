// etcd's concurrency recipes served by the member itself: the Mutex and the
// Election of clientv3/concurrency, as etcd's v3lock and v3election services
// run them against their own server. etcdd runs them in process, over
// EtcdServer's KV requests and the watch::WatchHub, with the same keys, revisions and
// errors, so clients of either (etcdctl lock/elect, the Lock and Election gRPC
// services) see etcd's behaviour:
//
//   Lock(name, lease): creates "<name>/<lease in hex>" under the lease (or
//   finds it), then waits until every key under "<name>/" created before it
//   is deleted; the owner is the key with the lowest create revision. After
//   waiting it checks that its own key still exists, so a holder whose lease
//   expired while it waited gets "session expired" instead of a lock it does
//   not hold (the fix etcd 3.5 made after Jepsen's report; etcd 3.4 lacks it).
//
//   Campaign / Proclaim / Leader / Observe / Resign: the same key layout; the
//   leader is the key with the lowest create revision.
//
// Blocking calls wait on a CancelToken, which the gRPC layer cancels when the
// call ends early (client gone, deadline, server shutdown).
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "base/status.h"
#include "server/server.h"
#include "v3electionpb/v3election.pb.h"
#include "v3lockpb/v3lock.pb.h"
#include "watch/watch_hub.h"

namespace etcdd::server {

// What a blocked recipe waits on besides its watch: cancellation, and the
// watch stream's wake-ups.
class CancelToken {
 public:
  // Wakes the waiter for good; later waits return false at once.
  void Cancel();
  bool cancelled() const;
  // A watch stream has messages (watch::WatchStream's on_writable).
  void Wake();
  // Waits for a Wake since the last call, or for Cancel; false if cancelled.
  bool WaitForWake();

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;  // guarded by mu_
  bool woken_ = false;      // guarded by mu_
};

class Recipes {
 public:
  // Both must outlive the Recipes. Every KV and lease request is made for
  // `who` and checked against its permissions, as etcd's v3lock and
  // v3election make theirs with the caller's token.
  Recipes(EtcdServer& server, watch::WatchHub& hub, auth::AuthInfo who = {})
      : server_(server), hub_(hub), who_(std::move(who)) {}
  // The same recipes acting for `who` (the services make one per call).
  Recipes For(auth::AuthInfo who) const { return Recipes(server_, hub_, std::move(who)); }

  // etcd's Lock: blocks until the lock is held or `cancel` fires. Response:
  // the header of the last read and the lock key. Errors: NotFound
  // "etcdserver: requested lease not found"; Unknown "session expired" when
  // the key vanished while waiting (its lease ended); Cancelled; the KV
  // errors. A Lock that fails after creating its key deletes it.
  Result<v3lockpb::LockResponse> Lock(const v3lockpb::LockRequest& req, CancelToken& cancel);
  // Deletes the lock key (etcd's Unlock: a plain delete).
  Result<v3lockpb::UnlockResponse> Unlock(const v3lockpb::UnlockRequest& req);

  // etcd's Campaign: blocks until this lease's key leads `name` or `cancel`
  // fires (then the key is resigned). An existing key with another value is
  // proclaimed the new value first.
  Result<v3electionpb::CampaignResponse> Campaign(const v3electionpb::CampaignRequest& req,
                                                  CancelToken& cancel);
  // Updates the leader's value if it still leads (create revision
  // unchanged). Errors: InvalidArgument "\"leader\" field must be provided";
  // Unknown "election: not leader".
  Result<v3electionpb::ProclaimResponse> Proclaim(const v3electionpb::ProclaimRequest& req);
  // The current leader's key-value. Errors: Unknown "election: no leader".
  Result<v3electionpb::LeaderResponse> Leader(const v3electionpb::LeaderRequest& req);
  // Streams the leader's key-value to `send` (first the current one, then
  // every change, then each next leader) until `send` returns false or
  // `cancel` fires (OK), as etcd's Observe. Errors: the KV and watch errors.
  Status Observe(const v3electionpb::LeaderRequest& req, CancelToken& cancel,
                 const std::function<bool(const v3electionpb::LeaderResponse&)>& send);
  // Deletes the leader key if it still leads. Errors: InvalidArgument as
  // Proclaim.
  Result<v3electionpb::ResignResponse> Resign(const v3electionpb::ResignRequest& req);

 private:
  // The session's lease: `lease`, or for 0 a new one of 60 s, as
  // concurrency.NewSession grants when given none.
  Result<int64_t> SessionLease(int64_t lease);
  // Synchronous KV requests.
  Result<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& req);
  Result<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& req);
  Result<etcdserverpb::DeleteRangeResponse> Delete(const std::string& key);
  // etcd's waitDeletes: waits until no key under `prefix` has a create
  // revision <= max_create_rev. Returns the header of the last read.
  Result<etcdserverpb::ResponseHeader> WaitDeletes(const std::string& prefix,
                                                   int64_t max_create_rev, CancelToken& cancel);
  // Watches `key` (or the range up to `range_end`) from `revision` and calls
  // `on_event` for each event until it returns true. Errors: Cancelled;
  // OutOfRange when the revision is compacted.
  Status WatchUntil(const std::string& key, const std::string& range_end, int64_t revision,
                    CancelToken& cancel,
                    const std::function<bool(const mvccpb::Event&, int64_t revision)>& on_event);

  EtcdServer& server_;
  watch::WatchHub& hub_;
  const auth::AuthInfo who_;
};

}  // namespace etcdd::server
