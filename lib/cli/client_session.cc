#include "cli/client_session.h"

#include <termios.h>
#include <unistd.h>

#include <chrono>

#include "base/go_text.h"

namespace etcdd::cli {

namespace {

std::chrono::milliseconds Millis(std::chrono::nanoseconds d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

}  // namespace

client::Config ClientConfigFrom(const GlobalOptions& o, const UserCredentials& creds) {
  client::Config c;
  c.endpoints = o.endpoints;
  // etcdctl's newClientCfg: TLS files or --insecure-transport=false make
  // bare host:port endpoints dial TLS (with the system roots when no
  // --cacert is given); http:// and https:// endpoints keep their scheme.
  // The endpoints stay as given, since commands print them.
  c.tls_bare_endpoints = o.WantsTls();
  c.dial_timeout = Millis(o.dial_timeout);
  c.command_timeout = Millis(o.command_timeout);
  c.keepalive_time = Millis(o.keepalive_time);
  c.keepalive_timeout = Millis(o.keepalive_timeout);
  c.user = creds.name;
  c.password = creds.password;
  c.cacert = o.cacert;
  c.cert = o.cert;
  c.key = o.key;
  c.insecure_skip_verify = o.insecure_skip_tls_verify;
  return c;
}

ExitOr<std::string> AskPassword(std::istream& in, std::ostream& out, const std::string& prompt) {
  out << prompt << std::flush;
  termios old{};
  const bool terminal = tcgetattr(STDIN_FILENO, &old) == 0;
  if (terminal) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(in, line);
  const bool failed = in.bad();
  if (terminal) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  out << "\n";
  if (failed) return ExitStatus::Error("failed during password entry");
  // speakeasy: TrimSuffix "\r", then strings.TrimSpace.
  constexpr char kSpace[] = " \t\n\v\f\r";
  const size_t first = line.find_first_not_of(kSpace);
  if (first == std::string::npos) return std::string();
  return line.substr(first, line.find_last_not_of(kSpace) - first + 1);
}

ExitStatus ConnectFailure(const Status& st) {
  switch (st.code()) {
    case Code::kDeadlineExceeded:
      return ExitStatus::Error(st.message());
    case Code::kInvalidArgument:
      if (st.message().rfind("etcdserver: ", 0) != 0) return ExitStatus::BadArgs(st.message());
      break;
    default:
      break;
  }
  return ExitStatus(ExitCode::kBadConnection, st.message());
}

namespace {

// grpc-go's codes.Code.String().
const char* GrpcCodeName(Code code) {
  static constexpr const char* kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  const auto i = static_cast<size_t>(code);
  return i < std::size(kNames) ? kNames[i] : "Unknown";
}

}  // namespace

ExitStatus CallFailure(const Status& st) {
  if (st.ok()) return ExitStatus::Ok();
  const std::string& m = st.message();
  if (m.rfind("etcdserver: ", 0) == 0 || st.code() == Code::kDeadlineExceeded ||
      st.code() == Code::kCancelled) {
    return ExitStatus::Error(m);
  }
  return ExitStatus::Error(std::string("rpc error: code = ") + GrpcCodeName(st.code()) +
                           " desc = " + m);
}

ExitOr<std::unique_ptr<client::Client>> ConnectClient(const client::Config& config) {
  auto c = client::Client::Connect(config);
  if (c.ok()) return std::move(c).value();
  return ConnectFailure(c.status());
}

ExitOr<std::vector<std::string>> TargetEndpoints(const client::Config& base, bool cluster) {
  if (!cluster) return base.endpoints;
  client::Config config = base;
  config.user.clear();
  config.password.clear();
  auto client = client::Client::Connect(config);
  // etcdctl's client dials lazily, so an unreachable cluster shows up as
  // the member list call failing.
  if (!client.ok() && client.status().code() != Code::kDeadlineExceeded) {
    return ConnectFailure(client.status());
  }
  auto members = client.ok() ? client.value()->MemberList()
                             : Result<etcdserverpb::MemberListResponse>(client.status());
  if (!members.ok()) {
    return ExitStatus::Error("failed to fetch endpoints from etcd cluster member list: " +
                             members.status().message());
  }
  std::vector<std::string> endpoints;
  for (const auto& m : members->members()) {
    endpoints.insert(endpoints.end(), m.clienturls().begin(), m.clienturls().end());
  }
  return endpoints;
}

EndpointHealth CheckEndpointHealth(const client::Config& base, const std::string& endpoint) {
  client::Config config = base;
  config.endpoints = {endpoint};
  const auto start = std::chrono::steady_clock::now();
  EndpointHealth h{endpoint, false, "", ""};
  auto client = client::Client::Connect(config);
  Status st = client.status();
  if (client.ok()) {
    etcdserverpb::RangeRequest request;
    request.set_key("health");
    st = client.value()->Range(request).status();
  }
  h.took = GoDuration(std::chrono::steady_clock::now() - start);
  if (st.ok() || st.message() == "etcdserver: permission denied") {
    h.health = true;
  } else {
    h.error = st.message();
  }
  return h;
}

}  // namespace etcdd::cli
