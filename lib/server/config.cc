#include "server/config.h"

#include "server/compactor.h"

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
  RETURN_IF_ERROR(ValidateAutoCompactionMode(auto_compaction_mode));
  RETURN_IF_ERROR(ParseAutoCompaction(auto_compaction_mode, auto_compaction_retention).status());
  return Status::Ok();
}

namespace {

bool AnyHttps(const std::vector<Url>& urls) {
  for (const auto& u : urls) {
    if (u.scheme == "https" || u.scheme == "unixs") return true;
  }
  return false;
}

std::vector<std::string> HostsOf(const std::vector<Url>& urls) {
  std::vector<std::string> hosts;
  for (const auto& u : urls) hosts.push_back(u.HostPort());
  return hosts;
}

}  // namespace

Status PrepareTls(ServerConfig& cfg, Logger& logger) {
  RETURN_IF_ERROR(tls::CheckCipherSuites(cfg.cipher_suites));
  if (!cfg.cipher_suites.empty()) {
    logger.Warn("--cipher-suites is checked but not enforced: gRPC chooses the cipher suites",
                {{"cipher-suites", cfg.cipher_suites}});
  }
  const bool client_auto = cfg.client_auto_tls && cfg.client_tls.Empty();
  const bool peer_auto = cfg.peer_auto_tls && cfg.peer_tls.Empty();
  if (cfg.client_auto_tls && !client_auto)
    logger.Warn("ignoring client auto TLS since certs given");
  if (cfg.peer_auto_tls && !peer_auto) logger.Warn("ignoring peer auto TLS since certs given");
  if (!client_auto) {
    for (const auto& u : cfg.listen_client_urls) {
      if ((u.scheme == "https" || u.scheme == "unixs") && cfg.client_tls.Empty()) {
        return Status::InvalidArgument(
            "TLS key/cert (--cert-file, --key-file) must be provided "
            "for client url " +
            u.ToString() + " with HTTPS scheme");
      }
    }
    if (!cfg.client_tls.Empty() && AnyHttps(cfg.listen_client_urls)) {
      RETURN_IF_ERROR(tls::CheckFiles(cfg.client_tls));
    }
  }
  if (!peer_auto) {
    for (const auto& u : cfg.listen_peer_urls) {
      if (u.scheme == "https" && cfg.peer_tls.Empty()) {
        return Status::InvalidArgument("cannot listen on TLS for " + u.HostPort() +
                                       ": KeyFile and CertFile are not presented");
      }
    }
    RETURN_IF_ERROR(tls::CheckFiles(cfg.peer_tls));
  }
  if (client_auto) {
    ASSIGN_OR_RETURN(cfg.client_tls, tls::SelfCert(cfg.data_dir + "/fixtures/client",
                                                   HostsOf(cfg.listen_client_urls), 1, logger));
  }
  if (peer_auto) {
    ASSIGN_OR_RETURN(cfg.peer_tls, tls::SelfCert(cfg.data_dir + "/fixtures/peer",
                                                 HostsOf(cfg.listen_peer_urls), 1, logger));
  }
  return Status::Ok();
}

}  // namespace etcdd::server
