// The member's configuration: what etcd's flags say, after parsing. Defaults
// are etcd 3.4's (embed/config.go).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/log.h"
#include "base/status.h"
#include "base/url.h"
#include "server/fatal.h"
#include "tls/tls.h"

namespace etcdd::server {

struct ServerConfig {
  std::string name = "default";
  std::string data_dir;  // etcd: "${name}.etcd" when empty
  std::string wal_dir;   // etcd: "${data_dir}/member/wal" when empty
  std::vector<Url> listen_client_urls;
  std::vector<Url> advertise_client_urls;
  std::vector<Url> listen_peer_urls;
  std::vector<Url> initial_advertise_peer_urls;
  std::map<std::string, std::vector<Url>> initial_cluster;
  std::string initial_cluster_state = "new";  // "new" or "existing"
  std::string initial_cluster_token = "etcd-cluster";
  int heartbeat_interval_ms = 100;
  int election_timeout_ms = 1000;
  uint64_t quota_backend_bytes = 0;      // backend size limit, bytes; 0 = etcd's 2 GiB default
  uint64_t max_request_bytes = 1572864;  // 1.5 MiB, etcd's default
  int max_txn_ops = 128;
  // Applied entries between two Raft snapshots (etcd --snapshot-count).
  uint64_t snapshot_count = 10000;
  // WAL segments and snapshot files kept after a snapshot; 0 keeps all.
  size_t max_wals = 5;
  size_t max_snapshots = 5;
  // Refuse membership changes that would lose quorum (--strict-reconfig-check).
  bool strict_reconfig_check = true;
  // Learners allowed in the cluster at once (etcd 3.5's --max-learners).
  int max_learners = 1;
  // etcd's --experimental-enable-lease-checkpoint: the leader records
  // remaining TTLs through Raft so that a new leader or a restart keeps them.
  bool lease_checkpoint = false;
  // etcd's --experimental-lease-checkpoint-interval.
  std::chrono::milliseconds lease_checkpoint_interval = std::chrono::minutes(5);
  // etcd's --experimental-watch-progress-notify-interval: how long a watcher
  // that asked for progress notifications may go without a response.
  std::chrono::milliseconds watch_progress_notify_interval = std::chrono::minutes(10);
  // TLS for https:// client URLs (--cert-file, --key-file, --trusted-ca-file,
  // --client-cert-auth, --client-crl-file, --client-cert-allowed-hostname)
  // and for https:// peer URLs (the --peer-* flags), as etcd's ClientTLSInfo
  // and PeerTLSInfo.
  tls::TlsInfo client_tls;
  tls::TlsInfo peer_tls;
  // --auto-tls / --peer-auto-tls: with no cert/key given, PrepareTls makes
  // self-signed ones under "${data_dir}/fixtures/{client,peer}".
  bool client_auto_tls = false;
  bool peer_auto_tls = false;
  // --cipher-suites (Go's names), checked but not enforced: gRPC C++ 1.51
  // offers no way to restrict them per server.
  std::vector<std::string> cipher_suites;

  // Authentication (etcd's --auth-token, --auth-token-ttl in seconds,
  // --bcrypt-cost): "simple" or "jwt,pub-key=...,priv-key=...,sign-method=
  // ...,ttl=..." (auth/token.h).
  std::string auth_token = "simple";
  int64_t auth_token_ttl = 300;
  int bcrypt_cost = 10;

  // --auto-compaction-mode ("periodic" or "revision") and
  // --auto-compaction-retention ("0" disables; periodic: hours or a Go
  // duration; revision: a count), as given: etcd parses the retention when
  // the server starts (server/compactor.h ParseAutoCompaction).
  std::string auto_compaction_mode = "periodic";
  std::string auto_compaction_retention = "0";
  // Revision mode's check interval; etcdd's extension
  // --experimental-revision-compaction-interval (etcd: always 5 minutes).
  std::chrono::milliseconds revision_compaction_interval = std::chrono::minutes(5);

  // Not flags: what the program embedding the member injects.
  // The file layer the WAL and received snapshot files write through (and
  // that is told when the backend is synced); must outlive the server.
  // nullptr: Env::Default(). Fault tests pass a FaultEnv.
  Env* env = nullptr;
  // Called once with the first fatal error (see server/fatal.h); empty: the
  // error is logged and the member stays up refusing writes. cmd/etcdd logs
  // etcd's message and exits with status 1.
  FatalHandler on_fatal;
  // WAL segment size in bytes (etcd's wal.SegmentSizeBytes, 64 MiB); tests
  // use small segments to exercise cuts, release and purge.
  uint64_t wal_segment_bytes = 64ull << 20;

  // "${data_dir}/member", where the WAL and backend live.
  std::string MemberDir() const { return data_dir + "/member"; }
  std::string WalDir() const { return wal_dir.empty() ? MemberDir() + "/wal" : wal_dir; }
  std::string BackendDir() const { return MemberDir() + "/db"; }
  Env& FileEnv() const { return env != nullptr ? *env : *Env::Default(); }
  // The backend quota in bytes (etcd: 0 means the 2 GiB default).
  uint64_t QuotaBytes() const {
    return quota_backend_bytes == 0 ? 2ull << 30 : quota_backend_bytes;
  }
  // The election timeout in heartbeat ticks (etcd: ElectionMs / TickMs).
  int ElectionTicks() const { return election_timeout_ms / heartbeat_interval_ms; }

  // Checks the combination the way etcd's config validation does: positive
  // timeouts, an election timeout of at least 5 heartbeats and at most 50 s,
  // this member named in --initial-cluster, state "new" or "existing", a
  // known --auto-compaction-mode and a --auto-compaction-retention that
  // parses. Errors: InvalidArgument with etcd's text (`unknown
  // auto-compaction-mode "x"`, `error parsing CompactionRetention: ...`).
  Status Validate() const;
};

// Settles TLS before anything else starts, as etcd's StartEtcd does: checks
// that each https:// client URL has a cert/key (etcd: "TLS key/cert
// (--cert-file, --key-file) must be provided for client url <url> with
// HTTPS scheme") and each https:// peer URL a peer cert/key, that the given
// files load (tls::CheckFiles, errors name the file), then makes the auto
// TLS certificates (etcd's ClientSelfCert / PeerSelfCert: hosts of the
// listen URLs, "${data_dir}/fixtures/client" and ".../peer"; ignored with a
// warning when certs are given) and replaces client_tls / peer_tls with
// them. Bad files are refused before the data dir is created. Errors:
// InvalidArgument with the message above; IOError writing auto TLS files.
Status PrepareTls(ServerConfig& cfg, Logger& logger);

}  // namespace etcdd::server
