// Status <-> grpc::Status: the one conversion between our error values and
// gRPC's, used by the server's services, the peer transport and the client.
//
// Codes are gRPC's canonical codes on both sides (see status.h), so the code
// and message cross unchanged, with two exceptions:
//   - codes of ours outside gRPC's range (none today) go out as INTERNAL;
//   - DEADLINE_EXCEEDED and CANCELLED, which gRPC raises on the caller's side
//     when its own deadline passes or it cancels, come back with the Go
//     client's context errors, "context deadline exceeded" and "context
//     canceled": what etcdctl prints and scripts match, and what an etcd
//     member logs for a peer call that timed out.
//
// Thread-safety: pure functions.
#pragma once

#include <grpcpp/support/status.h>

#include "base/status.h"

namespace etcdd {

// `s` as a gRPC status for the wire: same code and message.
grpc::Status ToGrpcStatus(const Status& s);

// A gRPC call's outcome as a Status (Ok for OK), with the Go context wording
// above for DEADLINE_EXCEEDED and CANCELLED.
Status FromGrpcStatus(const grpc::Status& s);

}  // namespace etcdd
