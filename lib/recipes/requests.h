// The requests of etcd's concurrency recipes (clientv3/concurrency Mutex and
// Election), shared by kvctl's lock/elect (lib/client) and the server's
// Lock and Election services (lib/server/api/recipes.h), so both write the same
// keys with the same transactions, and etcd clients, etcdctl and etcdd agree.
//
// Layout: a session's key under a lock or election named N is
// "N/<lease id in lowercase hex>"; the owner (leader) is the key under "N/"
// with the lowest create revision.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "etcdserverpb/rpc.pb.h"

namespace etcdd::recipes {

// etcd's concurrency errors (concurrency/election.go, mutex.go).
inline constexpr char kErrElectionNotLeader[] = "election: not leader";
inline constexpr char kErrElectionNoLeader[] = "election: no leader";
inline constexpr char kErrSessionExpired[] = "session expired";

// "<prefix><lease in hex>": fmt.Sprintf("%s%x", prefix, lease).
std::string SessionKey(const std::string& prefix, int64_t lease);

// The oldest key under `prefix` (clientv3.WithFirstCreate): the owner.
etcdserverpb::RangeRequest FirstCreated(const std::string& prefix);
// The newest key under `prefix` created at or before `max_create_revision`
// (WithLastCreate + WithMaxCreateRev): whom a waiter waits for next.
etcdserverpb::RangeRequest LastCreatedUpTo(const std::string& prefix, int64_t max_create_revision);

// Mutex.Lock's txn: if `key` does not exist, create it empty under `lease`,
// else read it; either way also read FirstCreated(prefix). responses(0) is
// the put or the read of `key`, responses(1) the owner.
etcdserverpb::TxnRequest LockTxn(const std::string& prefix, const std::string& key, int64_t lease);
// Election.Campaign's txn: create `key` = `value` under `lease` if absent,
// else read it (responses(0) on failure).
etcdserverpb::TxnRequest CampaignTxn(const std::string& key, const std::string& value,
                                     int64_t lease);
// Election.Proclaim's txn: set `key` = `value` (under `lease`) if its create
// revision is still `revision`; not succeeded means "not leader".
etcdserverpb::TxnRequest ProclaimTxn(const std::string& key, int64_t revision,
                                     const std::string& value, int64_t lease);
// Election.Resign's txn: delete `key` if its create revision is `revision`.
etcdserverpb::TxnRequest ResignTxn(const std::string& key, int64_t revision);

}  // namespace etcdd::recipes
