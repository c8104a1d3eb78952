#include "server/config.h"

namespace etcdd::server {

Status ServerConfig::Validate() const {
  if (heartbeat_interval_ms <= 0) {
    return Status::InvalidArgument("--heartbeat-interval must be >0 (set to " +
                                   std::to_string(heartbeat_interval_ms) + "ms)");
  }
  if (election_timeout_ms <= 0) {
    return Status::InvalidArgument("--election-timeout must be >0 (set to " +
                                   std::to_string(election_timeout_ms) + "ms)");
  }
  if (5 * heartbeat_interval_ms > election_timeout_ms) {
    return Status::InvalidArgument("--election-timeout[" + std::to_string(election_timeout_ms) +
                                   "ms] should be at least as 5 times as --heartbeat-interval[" +
                                   std::to_string(heartbeat_interval_ms) + "ms]");
  }
  if (election_timeout_ms > 50000) {
    return Status::InvalidArgument("--election-timeout[" + std::to_string(election_timeout_ms) +
                                   "ms] is too long, and should be set less than 50000ms");
  }
  if (initial_cluster_state != "new" && initial_cluster_state != "existing") {
    return Status::InvalidArgument("invalid --initial-cluster-state \"" + initial_cluster_state +
                                   "\": expected new or existing");
  }
  if (initial_cluster.find(name) == initial_cluster.end()) {
    return Status::InvalidArgument("couldn't find local name \"" + name +
                                   "\" in the initial cluster configuration");
  }
  if (max_request_bytes == 0) return Status::InvalidArgument("--max-request-bytes must be >0");
  if (max_txn_ops <= 0) return Status::InvalidArgument("--max-txn-ops must be >0");
  return Status::Ok();
}

}  // namespace etcdd::server
