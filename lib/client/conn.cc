#include "client/conn.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/byte_buffer.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "tls/tls.h"

namespace etcdd::client::internal {
namespace {

// grpc-go clamps client keepalive pings to at least 10 s, and etcd's server
// answers more frequent pings with GOAWAY (too_many_pings); keep ours the same.
constexpr std::chrono::milliseconds kMinKeepaliveTime{10000};
// Cap on gRPC's exponential reconnect backoff, so a restarted member is
// noticed within seconds (gRPC's own default is 120 s).
constexpr int kMaxReconnectBackoffMs = 3000;

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// --insecure-skip-tls-verify: encrypt but accept any server certificate.
Result<std::shared_ptr<grpc::ChannelCredentials>> SkipVerifyCredentials(const Config& config) {
  namespace gx = grpc::experimental;
  gx::TlsChannelCredentialsOptions opts;
  opts.set_verify_server_certs(false);
  opts.set_check_call_host(false);
  opts.set_certificate_verifier(std::make_shared<gx::NoOpCertificateVerifier>());
  if (!config.cert.empty()) {
    ASSIGN_OR_RETURN(std::string cert, ::etcdd::tls::ReadTlsFile(config.cert));
    ASSIGN_OR_RETURN(std::string key, ::etcdd::tls::ReadTlsFile(config.key));
    std::vector<gx::IdentityKeyCertPair> pairs = {{key, cert}};
    opts.set_certificate_provider(std::make_shared<gx::StaticDataCertificateProvider>(pairs));
    opts.watch_identity_key_cert_pairs();
  }
  return gx::TlsCredentials(opts);
}

Result<std::shared_ptr<grpc::ChannelCredentials>> Credentials(const Config& config, bool tls) {
  if (!tls) return grpc::InsecureChannelCredentials();
  if (config.cert.empty() != config.key.empty()) {
    return Status::InvalidArgument("cert and key must be given together");
  }
  if (config.insecure_skip_verify) return SkipVerifyCredentials(config);
  grpc::SslCredentialsOptions ssl;
  if (!config.cacert.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_root_certs, ::etcdd::tls::ReadTlsFile(config.cacert));
  }
  if (!config.cert.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_cert_chain, ::etcdd::tls::ReadTlsFile(config.cert));
    ASSIGN_OR_RETURN(ssl.pem_private_key, ::etcdd::tls::ReadTlsFile(config.key));
  }
  return grpc::SslCredentials(ssl);
}

grpc::ChannelArguments ChannelArgs(const Config& config) {
  grpc::ChannelArguments args;
  const auto keepalive = std::max(config.keepalive_time, kMinKeepaliveTime);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(keepalive.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(config.keepalive_timeout.count()));
  // Long watches carry no data for a while; keep pinging through them.
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  args.SetMaxSendMessageSize(config.max_send_bytes);
  args.SetMaxReceiveMessageSize(-1);
  return args;
}

}  // namespace

Result<Target> ParseEndpoint(const std::string& endpoint, bool tls_configured) {
  std::string rest = endpoint;
  Target t;
  t.tls = tls_configured;
  bool unix_socket = false;
  if (const auto pos = rest.find("://"); pos != std::string::npos) {
    const std::string scheme = rest.substr(0, pos);
    rest = rest.substr(pos + 3);
    if (scheme == "http" || scheme == "unix") {
      t.tls = false;
    } else if (scheme == "https" || scheme == "unixs") {
      t.tls = true;
    } else {
      return Status::InvalidArgument("unsupported endpoint scheme in " + endpoint);
    }
    unix_socket = StartsWith(scheme, "unix");
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty()) return Status::InvalidArgument("empty endpoint " + endpoint);
  t.grpc_target = unix_socket ? "unix:" + rest : rest;
  return t;
}

Result<std::unique_ptr<Conn>> Dial(const Config& config, const std::string& endpoint) {
  const bool tls_files =
      !config.cacert.empty() || !config.cert.empty() || config.tls_bare_endpoints;
  ASSIGN_OR_RETURN(Target target, ParseEndpoint(endpoint, tls_files));
  ASSIGN_OR_RETURN(auto creds, Credentials(config, target.tls));
  auto c = std::make_unique<Conn>();
  c->endpoint = endpoint;
  c->channel = grpc::CreateCustomChannel(target.grpc_target, creds, ChannelArgs(config));
  c->kv = etcdserverpb::KV::NewStub(c->channel);
  c->lease = etcdserverpb::Lease::NewStub(c->channel);
  c->cluster = etcdserverpb::Cluster::NewStub(c->channel);
  c->maintenance = etcdserverpb::Maintenance::NewStub(c->channel);
  c->auth = etcdserverpb::Auth::NewStub(c->channel);
  c->watch = etcdserverpb::Watch::NewStub(c->channel);
  return c;
}

bool IsHaltError(const grpc::Status& s) {
  return s.error_code() != grpc::StatusCode::UNAVAILABLE &&
         s.error_code() != grpc::StatusCode::INTERNAL;
}

namespace {

// Shared by the probes of one WaitForAnyReachable call.
struct ProbeState {
  std::mutex mu;
  std::condition_variable cv;
  size_t pending = 0;
  int winner = -1;
};

struct Probe {
  grpc::ClientContext ctx;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
};

// Statuses that a live transport can produce (the server answered).
bool TransportAnswered(const grpc::Status& s) {
  return s.error_code() != grpc::StatusCode::UNAVAILABLE &&
         s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
         s.error_code() != grpc::StatusCode::CANCELLED;
}

}  // namespace

int WaitForAnyReachable(const std::vector<Conn*>& conns, Clock::time_point deadline) {
  ProbeState state;
  std::vector<std::unique_ptr<Probe>> probes;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  const grpc::Slice empty("");
  for (size_t i = 0; i < conns.size(); ++i) {
    auto p = std::make_unique<Probe>();
    p->ctx.set_deadline(deadline);
    p->ctx.set_wait_for_ready(true);
    p->request = grpc::ByteBuffer(&empty, 1);
    stubs.push_back(std::make_unique<grpc::GenericStub>(conns[i]->channel));
    {
      std::lock_guard lock(state.mu);
      ++state.pending;
    }
    stubs.back()->UnaryCall(&p->ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                            &p->request, &p->response, [&state, i](grpc::Status s) {
                              std::lock_guard lock(state.mu);
                              if (state.winner < 0 && TransportAnswered(s)) {
                                state.winner = static_cast<int>(i);
                              }
                              --state.pending;
                              state.cv.notify_all();
                            });
    probes.push_back(std::move(p));
  }
  std::unique_lock lock(state.mu);
  state.cv.wait(lock, [&] { return state.winner >= 0 || state.pending == 0; });
  lock.unlock();
  for (auto& p : probes) p->ctx.TryCancel();
  lock.lock();
  // The callbacks reference `state` and the probes: wait for all of them.
  state.cv.wait(lock, [&] { return state.pending == 0; });
  return state.winner;
}

}  // namespace etcdd::client::internal
