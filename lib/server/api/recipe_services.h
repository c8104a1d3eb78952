// The Lock and Election services (v3lockpb.Lock, v3electionpb.Election) over
// the in-process concurrency recipes (server/recipes.h), as etcd serves them
// with its v3lock and v3election packages.
//
// Calls that wait (Lock, Campaign, Observe) run on a thread of their own, so
// a waiting lock holds no gRPC thread; the call's cancellation (the client
// goes away, its deadline passes, the server shuts down) cancels the wait.
// The other calls (Unlock, Proclaim, Leader, Resign) are short and run on
// the gRPC thread that received them.
//
// Errors reach the client as etcd sends them: UNKNOWN with the recipe's
// message (etcd's services pass their in-process client's errors on), or
// CANCELLED.
//
// Ownership: `server` and `recipes` must outlive the services.
#pragma once

#include <memory>

#include "server/recipes.h"
#include "server/server.h"

namespace grpc {
class Service;
}

namespace etcdd::server {

std::unique_ptr<grpc::Service> NewLockService(EtcdServer& server, Recipes& recipes);
std::unique_ptr<grpc::Service> NewElectionService(EtcdServer& server, Recipes& recipes);

}  // namespace etcdd::server
