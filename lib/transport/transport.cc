#include "transport/transport.h"

#include <grpcpp/grpcpp.h>

#include <climits>
#include <utility>

#include "transport/internal.h"
#include "transport/peer_sender.h"
#include "transport/peer_service.h"
#include "transport/snapshot_sender.h"

namespace etcdd::transport {

Transport::Transport(const Options& options, Logger& logger) : options_(options), logger_(logger) {}

Result<std::unique_ptr<Transport>> Transport::Start(const Options& options,
                                                    const std::vector<Url>& listen_peer_urls,
                                                    Handler handler,
                                                    SnapshotHandler snapshot_handler,
                                                    Logger& logger) {
  Options opts = options;
  std::shared_ptr<grpc::ServerCredentials> server_creds;
  for (const Url& u : listen_peer_urls) {
    if (u.scheme != "http" && u.scheme != "https") {
      return Status::InvalidArgument("listen peer URL " + u.ToString() +
                                     ": scheme must be http or https");
    }
    if (u.scheme == "http") {
      if (!options.tls.Empty()) {
        logger.Warn(
            "scheme is HTTP while key and cert files are present; ignoring key and cert "
            "files",
            {{"peer-url", u.ToString()}});
      }
      if (options.tls.client_cert_auth) {
        logger.Warn(
            "scheme is HTTP while --peer-client-cert-auth is enabled; ignoring client "
            "cert auth for this URL",
            {{"peer-url", u.ToString()}});
      }
      continue;
    }
    if (options.tls.Empty()) {
      return Status::InvalidArgument("cannot listen on TLS for " + u.HostPort() +
                                     ": KeyFile and CertFile are not presented");
    }
    if (!server_creds) {
      ASSIGN_OR_RETURN(server_creds, tls::ServerCredentials(options.tls, "peer", logger));
    }
  }
  if (!options.tls.Empty() || !options.tls.trusted_ca_file.empty()) {
    ASSIGN_OR_RETURN(opts.dial_credentials, tls::ChannelCredentials(options.tls));
  }
  std::unique_ptr<Transport> t(new Transport(opts, logger));
  t->service_ =
      std::make_unique<PeerService>(opts, std::move(handler), std::move(snapshot_handler), logger);
  t->snapshots_ = std::make_unique<SnapshotSender>(opts, logger);
  grpc::ServerBuilder builder;
  t->ports_.assign(listen_peer_urls.size(), 0);
  for (size_t i = 0; i < listen_peer_urls.size(); ++i) {
    const Url& u = listen_peer_urls[i];
    builder.AddListeningPort(u.HostPort(),
                             u.scheme == "https" ? server_creds : grpc::InsecureServerCredentials(),
                             &t->ports_[i]);
  }
  builder.SetMaxReceiveMessageSize(INT_MAX);
  // No SO_REUSEPORT (gRPC's default): a port in use fails here instead of
  // being shared with another process.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Accept the peers' keepalive pings (see DialPeer) and ping them too, so a
  // silent inbound stream is closed as well.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             kKeepaliveMs / 2);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.SetMaxSendMessageSize(INT_MAX);
  builder.RegisterService(t->service_.get());
  t->server_ = builder.BuildAndStart();
  if (!t->server_) return Status::FailedPrecondition("cannot listen on the peer URLs");
  for (size_t i = 0; i < listen_peer_urls.size(); ++i) {
    if (t->ports_[i] == 0) {
      return Status::FailedPrecondition("cannot listen on peer URL " +
                                        listen_peer_urls[i].ToString());
    }
    if (listen_peer_urls[i].scheme == "https") {
      logger.Info("serving peer traffic securely", {{"address", listen_peer_urls[i].HostPort()},
                                                    {"port", t->ports_[i]},
                                                    {"tls-info", opts.tls.ToString()}});
    } else {
      logger.Info("serving peer traffic insecurely; this is strongly discouraged!",
                  {{"address", listen_peer_urls[i].HostPort()}, {"port", t->ports_[i]}});
    }
  }
  return t;
}

Transport::~Transport() { Stop(); }

Result<ClusterInfo> Transport::FetchClusterInfo(const std::vector<std::string>& peer_urls,
                                                std::chrono::milliseconds timeout,
                                                const tls::TlsInfo& tls) {
  ASSIGN_OR_RETURN(auto targets, PeerTargets(peer_urls));
  Options dial;
  dial.dial_timeout = timeout;
  dial.tls = tls;
  if (!tls.Empty() || !tls.trusted_ca_file.empty()) {
    ASSIGN_OR_RETURN(dial.dial_credentials, tls::ChannelCredentials(tls));
  }
  std::string errors;
  for (size_t i = 0; i < targets.size(); ++i) {
    auto stub = transportpb::Peer::NewStub(DialPeer(targets[i], dial));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    transportpb::ClusterInfoRequest req;
    transportpb::ClusterInfoResponse resp;
    grpc::Status st = stub->ClusterInfo(&ctx, req, &resp);
    if (st.ok()) return ClusterInfo{resp.cluster_id(), resp.member_id(), resp.members()};
    errors += (errors.empty() ? "" : "; ") + peer_urls[i] + ": " + st.error_message();
  }
  return Status::Unavailable("could not retrieve cluster information from the given URLs (" +
                             errors + ")");
}

std::vector<int> Transport::ListenPorts() const { return ports_; }

Result<std::string> Transport::Forward(uint64_t peer, const std::string& request,
                                       std::chrono::steady_clock::time_point deadline) {
  std::shared_ptr<grpc::Channel> channel;
  {
    std::lock_guard lk(mu_);
    auto it = peers_.find(peer);
    if (stopped_ || it == peers_.end()) return Status::NotFound("unknown peer");
    std::string target = it->second->CurrentTarget();
    auto& [cached_target, cached] = forward_channels_[peer];
    if (!cached || cached_target != target) {
      cached_target = target;
      cached = DialPeer(target, options_);
    }
    channel = cached;
  }
  auto stub = transportpb::Peer::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   (deadline - std::chrono::steady_clock::now()));
  transportpb::ForwardRequest req;
  req.set_from(options_.member_id);
  req.set_cluster_id(options_.cluster_id);
  req.set_request(request);
  transportpb::ForwardResponse resp;
  grpc::Status st = stub->Forward(&ctx, req, &resp);
  if (!st.ok()) return FromGrpcStatus(st);
  return std::move(*resp.mutable_response());
}

Status Transport::AddPeer(uint64_t id, const std::vector<std::string>& peer_urls) {
  ASSIGN_OR_RETURN(auto targets, PeerTargets(peer_urls));
  std::lock_guard lk(mu_);
  if (stopped_ || peers_.count(id) != 0) return Status::Ok();
  peers_[id] = std::make_unique<PeerSender>(options_, id, std::move(targets), logger_);
  logger_.Info("added remote peer",
               {{"local-member-id", IdToHex(options_.member_id)}, {"remote-peer-id", IdToHex(id)}});
  return Status::Ok();
}

Status Transport::UpdatePeer(uint64_t id, const std::vector<std::string>& peer_urls) {
  ASSIGN_OR_RETURN(auto targets, PeerTargets(peer_urls));
  std::lock_guard lk(mu_);
  auto it = peers_.find(id);
  if (it != peers_.end()) it->second->UpdateTargets(std::move(targets));
  return Status::Ok();
}

void Transport::RemovePeer(uint64_t id) {
  if (service_) service_->MarkRemoved(id);
  std::unique_ptr<PeerSender> peer;
  {
    std::lock_guard lk(mu_);
    auto it = peers_.find(id);
    if (it == peers_.end()) return;
    peer = std::move(it->second);
    peers_.erase(it);
    forward_channels_.erase(id);
  }
  peer->Stop();
  logger_.Info("removed remote peer", {{"local-member-id", IdToHex(options_.member_id)},
                                       {"removed-remote-peer-id", IdToHex(id)}});
}

void Transport::Send(std::vector<raftpb::Message> msgs) {
  for (auto& m : msgs) {
    if (m.type() == raftpb::MSG_SNAP) {
      logger_.Warn("dropped a snapshot message sent without its data",
                   {{"remote-peer-id", IdToHex(m.to())}});
      continue;
    }
    std::lock_guard lk(mu_);
    auto it = peers_.find(m.to());
    if (it == peers_.end()) {
      logger_.Debug("ignored message send request; unknown remote peer target",
                    {{"unknown-target-peer-id", IdToHex(m.to())}});
      continue;
    }
    it->second->Enqueue(std::move(m));
  }
}

void Transport::SendSnapshot(raftpb::Message msg_snap, std::string path,
                             std::function<void(bool ok)> done) {
  std::string target;
  {
    std::lock_guard lk(mu_);
    auto it = peers_.find(msg_snap.to());
    if (!stopped_ && it != peers_.end()) target = it->second->CurrentTarget();
  }
  if (target.empty()) {
    logger_.Warn("failed to send database snapshot",
                 {{"remote-peer-id", IdToHex(msg_snap.to())}, {"error", "unknown remote peer"}});
    done(false);
    return;
  }
  snapshots_->Send(target, std::move(msg_snap), std::move(path), std::move(done));
}

bool Transport::IsActive(uint64_t peer) const {
  std::lock_guard lk(mu_);
  auto it = peers_.find(peer);
  return it != peers_.end() && it->second->IsActive();
}

Stats Transport::GetStats() const {
  Stats s;
  std::lock_guard lk(mu_);
  for (const auto& [id, p] : peers_) s.peers[id] = p->Stats();
  s.received = service_->received();
  return s;
}

void Transport::Stop() {
  std::map<uint64_t, std::unique_ptr<PeerSender>> peers;
  {
    std::lock_guard lk(mu_);
    if (stopped_) return;
    stopped_ = true;
    peers.swap(peers_);
    forward_channels_.clear();
  }
  for (auto& [id, p] : peers) p->Stop();
  snapshots_->Stop();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
}

}  // namespace etcdd::transport
