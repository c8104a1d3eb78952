// Peer transport: carries Raft messages and snapshots between cluster members
// over gRPC on the peer URLs (service transportpb.Peer, lib/proto/transportpb).
//
// Mirrors etcd's rafthttp: one long-lived stream per remote peer fed by a
// bounded queue (etcd's streamBufSize, 4096 messages) so that Send never
// blocks the Raft loop; a full queue drops the message and counts it, as etcd
// does ("dropped internal Raft message since sending buffer is full"), and
// Raft's own retries recover. A broken stream is re-dialled with exponential
// backoff, cycling through the peer's URLs. Snapshots go on a separate call in
// chunks so that they never hold up heartbeats. Requests from another cluster
// are refused with FAILED_PRECONDITION and logged as etcd does ("request
// cluster ID mismatch", ids in hex).
//
// Delivery: messages from one sender to one receiver arrive in the order they
// were sent, but any of them may be lost (full queue, broken stream), exactly
// the guarantee Raft needs. https:// peer URLs are served and dialled with
// Options::tls (etcd's --peer-* TLS flags, lib/tls); http:// ones in the clear.
//
// Thread-safety: every public method may be called from any thread. Handler
// and SnapshotHandler run on transport (gRPC) threads, possibly concurrently
// with each other, but never concurrently for one remote sender's stream; they
// must not call Stop(). Handler runs on gRPC's callback threads: it should
// hand the message off quickly (it may call Send) rather than block.
// Ownership: the Logger must outlive the Transport.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/log.h"
#include "base/status.h"
#include "base/url.h"
#include "raftpb/raft.pb.h"
#include "tls/tls.h"

namespace grpc {
class Channel;
class ChannelCredentials;
class Server;
}  // namespace grpc

namespace etcdd::transport {

class PeerSender;
class PeerService;
class SnapshotSender;

struct Options {
  uint64_t member_id = 0;   // this member; sent as the sender of every envelope
  uint64_t cluster_id = 0;  // requests carrying another cluster id are refused
  // Messages queued per peer before Send drops (etcd's streamBufSize).
  size_t queue_messages = 4096;
  // How long one connection attempt may take before it counts as failed.
  std::chrono::milliseconds dial_timeout{1000};
  // Wait between reconnect attempts: doubles from min to max, reset by success.
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  // Size of one snapshot chunk on the wire, in bytes.
  size_t snapshot_chunk_bytes = 1 << 20;
  // Where received snapshots are written (snap::SnapshotDir: member/snap),
  // chunk by chunk, as "<index>.snap.db"; must exist.
  std::string snapshot_dir;
  // The file layer received snapshots are written through; null: the POSIX
  // Env::Default(). Must outlive the transport.
  Env* env = nullptr;
  // A batch (one envelope) stops growing past this many bytes of messages.
  size_t max_batch_bytes = 1 << 20;
  // Called (from a transport thread) when a peer refuses this member because
  // it was removed from the cluster (etcd: errMemberRemoved, HTTP 410).
  std::function<void(uint64_t peer)> removed_by_peer;
  // Answers the ClusterInfo call with the application's member list
  // (serialized); unset: the call fails with UNAVAILABLE.
  std::function<std::string()> members;
  // Answers a Forward call from a peer: the request bytes in, the response
  // bytes out; an error reaches the caller with its code and message. Runs
  // on a gRPC thread of its own and may block until `deadline` (the
  // caller's). Unset: Forward calls fail with UNAVAILABLE.
  std::function<Result<std::string>(const std::string& request,
                                    std::chrono::steady_clock::time_point deadline)>
      forward;
  // TLS for https:// peer URLs (etcd's PeerTLSInfo): the listener's
  // certificate and client verification, and the certificate this member
  // presents and the CA it verifies when dialling. Empty: https URLs are
  // refused.
  tls::TlsInfo tls;
  // Not set by callers: the credentials Transport::Start builds from `tls`
  // for dialling https:// peers.
  std::shared_ptr<grpc::ChannelCredentials> dial_credentials;
};

// The refusal a removed member's streams get (etcd's errMemberRemoved).
inline constexpr char kMemberRemoved[] = "the member has been permanently removed from the cluster";

// A peer's answer to FetchClusterInfo.
struct ClusterInfo {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;  // the member that answered
  std::string members;     // its Options::members()
};

// Counters for one remote peer since AddPeer.
struct PeerStats {
  uint64_t sent = 0;      // messages written to the peer's stream
  uint64_t dropped = 0;   // messages dropped: queue full, or lost with a broken stream
  uint64_t failures = 0;  // failed connection attempts and broken streams
  bool active = false;    // a stream is established right now
};

struct Stats {
  std::map<uint64_t, PeerStats> peers;  // by peer member id
  uint64_t received = 0;                // messages handed to the Handler
};

// Called once per received message, in order per sender, on transport threads.
using Handler = std::function<void(raftpb::Message)>;
// Called once per received snapshot with the MsgSnap (its snapshot.data empty)
// and the path of the complete, fsynced file that holds its data
// (snap::SnapshotDir::ReceivedPath of the snapshot's index in
// options.snapshot_dir); the handler owns the file from then on. A non-OK
// Status is returned to the sender, whose SendSnapshot then reports failure.
using SnapshotHandler =
    std::function<Status(const raftpb::Message& msg_snap, const std::string& path)>;

class Transport {
 public:
  // Listens on `listen_peer_urls` (port 0 picks a free port, see
  // ListenPorts) and starts serving, https:// URLs with options.tls.
  // Errors: InvalidArgument for a scheme other than http/https, an https URL
  // without options.tls cert/key ("cannot listen on TLS for <addr>: KeyFile
  // and CertFile are not presented", etcd's words) or unusable TLS files
  // (tls::CheckFiles); FailedPrecondition when a URL cannot be listened on,
  // including a port another process listens on (no SO_REUSEPORT sharing).
  static Result<std::unique_ptr<Transport>> Start(const Options& options,
                                                  const std::vector<Url>& listen_peer_urls,
                                                  Handler handler, SnapshotHandler snapshot_handler,
                                                  Logger& logger);
  ~Transport();  // Stop()
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // The ports actually bound, in the order of listen_peer_urls.
  std::vector<int> ListenPorts() const;

  // Starts a stream to member `id` at `peer_urls` ("http(s)://host:port").
  // Adding a known id is a no-op, as in etcd. Errors: InvalidArgument for an
  // empty list or a bad URL.
  Status AddPeer(uint64_t id, const std::vector<std::string>& peer_urls);
  // Replaces the URLs of member `id`; the next (re)connection uses them.
  // Unknown ids are ignored, as in etcd. Errors: as AddPeer.
  Status UpdatePeer(uint64_t id, const std::vector<std::string>& peer_urls);
  // Stops the stream to `id`, discarding its queue, and from now on refuses
  // its streams and snapshots with FAILED_PRECONDITION kMemberRemoved (a
  // removed member never comes back; this is how it learns it was removed).
  // Unknown ids are ignored.
  void RemovePeer(uint64_t id);

  // Queues each message for its `to` peer without blocking. A message whose
  // queue is full is dropped and counted, with a warning at most once per
  // second per peer. Messages to unknown peers are dropped (debug log).
  // A MsgSnap has no data here: it is dropped with a warning; snapshots go
  // through SendSnapshot.
  void Send(std::vector<raftpb::Message> msgs);

  // Streams `msg_snap` (a MsgSnap whose snapshot.data is empty) and the file
  // at `path` as its data to its `to` peer on a dedicated call, reading and
  // sending options.snapshot_chunk_bytes at a time (memory stays bounded by
  // a few chunks whatever the file's size), and calls `done(ok)` once, from
  // a transport thread (or inline when `to` is unknown or the transport is
  // stopped): true when the receiver's SnapshotHandler accepted it. The
  // caller owns the file (it may delete it once done runs) and then reports
  // ReportSnapshot to Raft, as etcd does.
  void SendSnapshot(raftpb::Message msg_snap, std::string path, std::function<void(bool ok)> done);

  // Asks the members at `peer_urls`, in turn, for their cluster id and member
  // list, as a member joining a running cluster does (etcd's
  // GetClusterFromRemotePeers), dialling https:// URLs with `tls`. Each
  // attempt waits at most `timeout`. Errors: Unavailable naming the URLs if
  // none answered; InvalidArgument for a bad URL or unusable TLS files.
  static Result<ClusterInfo> FetchClusterInfo(const std::vector<std::string>& peer_urls,
                                              std::chrono::milliseconds timeout,
                                              const tls::TlsInfo& tls = {});

  // Hands `request` to member `peer`'s Options::forward and returns its
  // answer, waiting at most until `deadline`. One channel per peer is kept
  // for these calls. Errors: NotFound for an unknown peer; the peer's
  // error; Unavailable / DeadlineExceeded when it cannot be reached.
  Result<std::string> Forward(uint64_t peer, const std::string& request,
                              std::chrono::steady_clock::time_point deadline);

  // True while a stream to `peer` is established (etcd's peer "active").
  bool IsActive(uint64_t peer) const;

  Stats GetStats() const;

  // Stops listening, cancels every stream and snapshot transfer (their
  // `done(false)` runs) and joins all threads; pending messages are dropped.
  // Returns promptly even with peers unreachable. After it returns no handler
  // runs. Idempotent.
  void Stop();

 private:
  Transport(const Options& options, Logger& logger);

  const Options options_;
  Logger& logger_;
  std::unique_ptr<PeerService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<SnapshotSender> snapshots_;
  std::vector<int> ports_;
  mutable std::mutex mu_;
  bool stopped_ = false;                                   // guarded by mu_
  std::map<uint64_t, std::unique_ptr<PeerSender>> peers_;  // guarded by mu_
  // Forward channels: (target, channel) per peer.
  std::map<uint64_t, std::pair<std::string, std::shared_ptr<grpc::Channel>>>
      forward_channels_;  // guarded by mu_
};

}  // namespace etcdd::transport
