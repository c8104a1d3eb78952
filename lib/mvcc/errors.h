// etcd's client-visible errors for the key space, with etcd's exact gRPC codes
// and message strings (etcdserver/api/v3rpc/rpctypes/error.go). Clients match
// on these strings, so never reword them.
//
// Thread-safety: pure functions.
#pragma once

#include "base/status.h"

namespace etcdd::mvcc {

// OutOfRange "etcdserver: mvcc: required revision has been compacted".
inline Status ErrCompacted() {
  return Status(Code::kOutOfRange, "etcdserver: mvcc: required revision has been compacted");
}
// OutOfRange "etcdserver: mvcc: required revision is a future revision".
inline Status ErrFutureRev() {
  return Status(Code::kOutOfRange, "etcdserver: mvcc: required revision is a future revision");
}
// ResourceExhausted "etcdserver: mvcc: database space exceeded" (LMDB map full).
inline Status ErrNoSpace() {
  return Status(Code::kResourceExhausted, "etcdserver: mvcc: database space exceeded");
}
// InvalidArgument "etcdserver: key not found": ignore_value/ignore_lease on a
// missing key, or an empty RequestOp in a txn.
inline Status ErrKeyNotFound() {
  return Status(Code::kInvalidArgument, "etcdserver: key not found");
}
// InvalidArgument "etcdserver: key is not provided".
inline Status ErrLeaseNotFound() {
  return Status(Code::kNotFound, "etcdserver: requested lease not found");
}
inline Status ErrEmptyKey() {
  return Status(Code::kInvalidArgument, "etcdserver: key is not provided");
}
// InvalidArgument "etcdserver: value is provided" (ignore_value with a value).
inline Status ErrValueProvided() {
  return Status(Code::kInvalidArgument, "etcdserver: value is provided");
}
// InvalidArgument "etcdserver: lease is provided" (ignore_lease with a lease).
inline Status ErrLeaseProvided() {
  return Status(Code::kInvalidArgument, "etcdserver: lease is provided");
}
// InvalidArgument "etcdserver: too many operations in txn request".
inline Status ErrTooManyOps() {
  return Status(Code::kInvalidArgument, "etcdserver: too many operations in txn request");
}
// InvalidArgument "etcdserver: duplicate key given in txn request".
inline Status ErrDuplicateKey() {
  return Status(Code::kInvalidArgument, "etcdserver: duplicate key given in txn request");
}

}  // namespace etcdd::mvcc
