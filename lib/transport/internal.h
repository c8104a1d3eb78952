// Helpers shared by the transport's pieces; not part of the public API.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/go_text.h"
#include "base/grpc_status.h"
#include "base/status.h"
#include "transport/transport.h"

namespace etcdd::transport {

// Peer URLs to the "http://h:p" / "https://h:p" targets DialPeer dials.
// Errors: InvalidArgument for an empty list, a bad URL or a scheme other
// than http and https.
Result<std::vector<std::string>> PeerTargets(const std::vector<std::string>& peer_urls);

// Interval and timeout of the HTTP/2 keepalive pings on peer connections, ms:
// a silent peer is given up after about twice this.
inline constexpr int kKeepaliveMs = 2000;

// A fresh channel to `target` (a PeerTargets entry) with its own subchannel
// (so a reconnect really dials again) whose connection attempts give up
// after options.dial_timeout; https targets use options.dial_credentials
// (a target that needs them when they are unset gets a channel that fails
// every call).
std::shared_ptr<grpc::Channel> DialPeer(const std::string& target, const Options& options);

}  // namespace etcdd::transport
