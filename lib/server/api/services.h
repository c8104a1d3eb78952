// The client-facing gRPC services, one file each under lib/server/api/, as
// etcd's etcdserver/api/v3rpc (and v3lock, v3election) serve them over an
// EtcdServer. GrpcServer registers them; each is built here so the file
// names say where a service lives:
//
//   kv_service.cc           KV: Range, Put, DeleteRange, Txn, Compact
//   lease_service.cc        Lease: Grant, Revoke, KeepAlive, TimeToLive, Leases
//   maintenance_service.cc  Maintenance: Status, HashKV, MoveLeader
//   cluster_service.cc      Cluster: MemberList/Add/Remove/Update/Promote
//   watch_service.cc        Watch (watch_service.h, over the watch hub)
//   lock_service.cc         v3lockpb.Lock (over recipes.h)
//   election_service.cc     v3electionpb.Election (over recipes.h)
//
// Every service applies etcd's admission rules (service_util.h: learners,
// "hasleader") and answers with etcd's codes and messages.
//
// Ownership: `server` (and `recipes`) must outlive the services.
#pragma once

#include <memory>

#include "server/api/recipes.h"
#include "server/server.h"

namespace grpc {
class Service;
}

namespace etcdd::server {

std::unique_ptr<grpc::Service> NewKvService(EtcdServer& server);
std::unique_ptr<grpc::Service> NewLeaseService(EtcdServer& server);
std::unique_ptr<grpc::Service> NewMaintenanceService(EtcdServer& server);
std::unique_ptr<grpc::Service> NewClusterService(EtcdServer& server);
std::unique_ptr<grpc::Service> NewAuthService(EtcdServer& server);
// Errors reach the client as etcd's v3lock/v3election send them: UNKNOWN
// with the recipe's message (etcd's services pass their in-process client's
// errors on), or CANCELLED.
std::unique_ptr<grpc::Service> NewLockService(EtcdServer& server, Recipes& recipes);
std::unique_ptr<grpc::Service> NewElectionService(EtcdServer& server, Recipes& recipes);

}  // namespace etcdd::server
