// Member and cluster ids, derived exactly as etcd derives them, so an etcdd
// member started with the same --initial-cluster and token as an etcd member
// has the same ids (etcd: etcdserver/api/membership).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/url.h"
#include "serverpb/internal.pb.h"

namespace etcdd::server {

// etcd's NewMember id with no timestamp: the first 8 bytes (big-endian) of
// SHA-1(sorted peer URLs concatenated + cluster token).
uint64_t MemberId(std::vector<std::string> peer_urls, const std::string& cluster_token);

// etcd's RaftCluster.genID: the first 8 bytes (big-endian) of SHA-1 over the
// sorted member ids, each 8 bytes big-endian.
uint64_t ClusterId(std::vector<uint64_t> member_ids);

// The members a new cluster starts with, from --initial-cluster (name ->
// peer URLs) and --initial-cluster-token, in name order, with their ids
// (MemberId), names and peer URLs (etcd's NewClusterFromURLsMap). Sets
// `*cluster_id` to their ClusterId.
serverpb::Members InitialClusterMembers(
    const std::map<std::string, std::vector<Url>>& initial_cluster, const std::string& token,
    uint64_t* cluster_id);

}  // namespace etcdd::server
