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

// "http://h:p" URLs to the "h:p" targets gRPC dials. Errors: InvalidArgument
// for an empty list, a bad URL or a scheme other than http.
Result<std::vector<std::string>> PeerTargets(const std::vector<std::string>& peer_urls);

// Interval and timeout of the HTTP/2 keepalive pings on peer connections, ms:
// a silent peer is given up after about twice this.
inline constexpr int kKeepaliveMs = 2000;

// A fresh channel to `target` with its own subchannel (so a reconnect really
// dials again) whose connection attempts give up after options.dial_timeout.
std::shared_ptr<grpc::Channel> DialPeer(const std::string& target, const Options& options);

}  // namespace etcdd::transport
