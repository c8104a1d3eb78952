#include "transport/internal.h"

#include <climits>
#include <string_view>

#include "base/url.h"

namespace etcdd::transport {

Result<std::vector<std::string>> PeerTargets(const std::vector<std::string>& peer_urls) {
  if (peer_urls.empty()) return Status::InvalidArgument("no peer URLs given");
  std::vector<std::string> targets;
  for (const auto& s : peer_urls) {
    ASSIGN_OR_RETURN(Url u, ParseUrl(s));
    if (u.scheme != "http" && u.scheme != "https") {
      return Status::InvalidArgument("peer URL " + s + ": scheme must be http or https");
    }
    targets.push_back(u.scheme + "://" + u.HostPort());
  }
  return targets;
}

std::shared_ptr<grpc::Channel> DialPeer(const std::string& target, const Options& options) {
  constexpr std::string_view kHttps = "https://";
  constexpr std::string_view kHttp = "http://";
  const bool secure = target.compare(0, kHttps.size(), kHttps) == 0;
  const std::string host_port = target.substr(
      secure ? kHttps.size() : (target.compare(0, kHttp.size(), kHttp) == 0 ? kHttp.size() : 0));
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (secure) {
    creds = options.dial_credentials;
    if (!creds) {
      // No TLS configured for an https peer: a channel whose calls fail.
      auto made = tls::ChannelCredentials(options.tls);
      creds = made.ok() ? *made : grpc::InsecureChannelCredentials();
    }
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // gRPC's connect deadline is at least the minimum reconnect backoff, so
  // this bounds one connection attempt by the dial timeout.
  const int dial_ms = static_cast<int>(options.dial_timeout.count());
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, dial_ms);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, dial_ms);
  args.SetMaxSendMessageSize(INT_MAX);
  args.SetMaxReceiveMessageSize(INT_MAX);
  // A peer behind a network that silently drops packets sends nothing back,
  // not even a reset: HTTP/2 pings find it (etcd's rafthttp uses read
  // timeouts for this), so the stream is re-dialled once the network heals.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return grpc::CreateCustomChannel(host_port, creds, args);
}

}  // namespace etcdd::transport
