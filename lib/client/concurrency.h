// Distributed locks and leader election built on KV, Lease and Watch, as
// etcd's Go client builds them (clientv3/concurrency: session.go, mutex.go,
// election.go, key.go) and as etcdctl 3.4's `lock` and `elect` use them.
// Keys and transactions are etcd's, so kvctl and etcdctl processes contend
// for the same locks and elections:
//
//   - A Session is a lease (default TTL 60 s) kept alive in the background.
//   - A Mutex named N is a key N/<session lease in hex> attached to the
//     session's lease. Its owner is the key with the lowest create revision
//     under the prefix "N/"; a waiter watches for the deletion of the key
//     created just before its own until none older is left. A holder that
//     dies without unlocking loses the lock when its lease expires.
//   - An Election named N works the same way with N/<lease> holding the
//     candidate's proposal; the leader is the oldest key, observers follow
//     it.
//
// Cancellation: the blocking calls take a std::stop_token (etcdctl cancels
// its context on SIGINT/SIGTERM). A stop interrupts waiting for a watch; a
// unary request in flight completes first (bounded by the command timeout).
// A cancelled wait fails with Cancelled "context canceled".
//
// Thread-safety: a Session may be shared; a Mutex or Election is used from
// one thread. Ownership: each borrows the Client or Session it was built
// from, which must outlive it.
#pragma once

#include <functional>
#include <memory>
#include <stop_token>
#include <string>

#include "base/status.h"
#include "client/client.h"
#include "client/lease_keepalive.h"
#include "etcdserverpb/rpc.pb.h"

namespace etcdd::client {

class Session {
 public:
  // Grants a lease of `ttl_seconds` (<= 0 means 60, concurrency's default)
  // and keeps it alive until the Session is destroyed; the lease is then
  // left to expire (etcdctl never revokes it). Errors: the grant's.
  static Result<std::unique_ptr<Session>> Create(Client& client, int ttl_seconds);

  // The client the session was created on.
  Client& client() { return client_; }
  // The session's lease id.
  int64_t lease() const { return lease_; }

  // Blocks until the session is over (its keep-alive ended: the lease
  // expired, was revoked, or went unanswered for a TTL) and returns true,
  // or until `stop` is requested and returns false.
  bool WaitDone(std::stop_token stop) { return keepalive_->WaitEnded(stop); }

 private:
  Session(Client& client, int64_t lease);

  Client& client_;
  int64_t lease_;
  std::unique_ptr<LeaseKeepAlive> keepalive_;
};

class Mutex {
 public:
  // The lock called `name`; keys live under "<name>/".
  Mutex(Session& session, const std::string& name);

  // Acquires the lock: creates this session's key (or reuses it if it
  // exists) and waits until every older key under the prefix is deleted.
  // After waiting it checks that its key still exists (etcd 3.5's fix for
  // Jepsen's report). Errors: Cancelled "context canceled" on `stop` (the
  // key is then deleted); Unknown "session expired" when the session's lease
  // ended while waiting; the server's or a watch's error.
  Status Lock(std::stop_token stop);
  // Deletes this session's key. Errors: the server's.
  Status Unlock();

  // "<name>/<lease in hex>", once Lock was called.
  const std::string& key() const { return key_; }
  // The header of the call that found the lock free: its revision is
  // etcdctl's ETCD_LOCK_REV.
  const etcdserverpb::ResponseHeader& header() const { return header_; }

 private:
  Session& session_;
  std::string prefix_;
  std::string key_;
  int64_t revision_ = -1;  // create revision of key_
  etcdserverpb::ResponseHeader header_;
};

class Election {
 public:
  // The election called `name`; candidates' keys live under "<name>/".
  Election(Session& session, const std::string& name);

  // Puts this session's candidacy with `value` (or takes over an existing
  // one, proclaiming `value`) and waits until it is the oldest, i.e. the
  // leader. Errors: Cancelled "context canceled" on `stop` (the candidacy
  // is then withdrawn), the server's or a watch's error.
  Status Campaign(const std::string& value, std::stop_token stop);
  // Replaces the leader's value, if this candidate still leads.
  // Errors: FailedPrecondition "election: not leader", the server's.
  Status Proclaim(const std::string& value);
  // Withdraws the candidacy (deletes the key if it is still ours).
  Status Resign();

  // "<name>/<lease in hex>", while campaigning or leading.
  const std::string& key() const { return key_; }

  // Calls `on_leader` with the current leader (the oldest key under the
  // prefix, shaped as a Range response) at once or as soon as there is one,
  // then again for each new value the leader proclaims and for each next
  // leader, as clientv3's Observe: the first report of a leader carries
  // the read's header and only the leader's key-value; a later value
  // carries the watch's header and keeps the read's count and more.
  // Returns Ok when `stop` is requested; a read's or watch's error when
  // observation breaks off; the first error `on_leader` returns, which ends
  // the observation.
  Status Observe(std::stop_token stop,
                 const std::function<Status(const etcdserverpb::RangeResponse&)>& on_leader);

 private:
  Session& session_;
  std::string prefix_;
  std::string key_;
  int64_t revision_ = 0;  // create revision of key_
  bool leading_ = false;  // clientv3's leaderSession != nil
};

}  // namespace etcdd::client
