#include "cli/client_session.h"

#include <termios.h>
#include <unistd.h>

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

ExitOr<std::string> AskPassword(std::istream& in, std::ostream& out) {
  termios old{};
  if (tcgetattr(STDIN_FILENO, &old) != 0) {
    return ExitStatus::Error("inappropriate ioctl for device");
  }
  out << "Password: " << std::flush;
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  std::string line;
  std::getline(in, line);
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  out << "\n";
  return line;
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

ExitOr<std::unique_ptr<client::Client>> ConnectClient(const client::Config& config) {
  auto c = client::Client::Connect(config);
  if (c.ok()) return std::move(c).value();
  return ConnectFailure(c.status());
}

}  // namespace etcdd::cli
