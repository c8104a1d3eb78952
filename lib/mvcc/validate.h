// Request validation done before a request reaches Raft, mirroring etcd's
// etcdserver/api/v3rpc/key.go (checkRangeRequest, checkPutRequest,
// checkDeleteRequest, checkTxnRequest and checkIntervals), with etcd's error
// strings and codes (mvcc/errors.h).
//
// Thread-safety: pure functions.
#pragma once

#include "base/status.h"
#include "etcdserverpb/rpc.pb.h"

namespace etcdd::mvcc {

// etcd's default --max-txn-ops.
inline constexpr int kDefaultMaxTxnOps = 128;

// Errors: ErrEmptyKey.
Status CheckRangeRequest(const etcdserverpb::RangeRequest& req);
// Errors: ErrEmptyKey; ErrValueProvided (ignore_value with a value);
// ErrLeaseProvided (ignore_lease with a lease).
Status CheckPutRequest(const etcdserverpb::PutRequest& req);
// Errors: ErrEmptyKey.
Status CheckDeleteRequest(const etcdserverpb::DeleteRangeRequest& req);
// etcd's kvServer.Txn checks: checkTxnRequest (compare, success or failure
// longer than max_txn_ops -> ErrTooManyOps; a compare without key ->
// ErrEmptyKey; every op checked as above, nested txns against max_txn_ops
// minus this level's count; an empty op -> ErrKeyNotFound), then checkIntervals
// on success and failure: a key put twice, or put and deleted, in the same
// branch (nested txns included, with etcd's rules) -> ErrDuplicateKey.
Status CheckTxnRequest(const etcdserverpb::TxnRequest& req, int max_txn_ops);

}  // namespace etcdd::mvcc
