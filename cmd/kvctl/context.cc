#include "context.h"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;

// capnslog's line prefix, which etcdctl's flag warnings carry:
// "2026-11-21 07:22:57.330253 W | ".
std::string WarningPrefix() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000;
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06lld W | ", static_cast<long long>(micros));
  return buf;
}

// speakeasy.Ask: prompt on stdout, read a line from the terminal on stdin
// without echo.
cli::ExitOr<std::string> AskPassword(Io& io) {
  termios old{};
  if (tcgetattr(STDIN_FILENO, &old) != 0) {
    return ExitStatus::Error("inappropriate ioctl for device");
  }
  io.out << "Password: " << std::flush;
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  std::string line;
  std::getline(io.in, line);
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  io.out << "\n";
  return line;
}

std::chrono::milliseconds Millis(std::chrono::nanoseconds d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

}  // namespace

cli::ExitOr<cli::GlobalOptions> Context::Options() {
  if (options_) return *options_;
  std::vector<std::string> warnings;
  ASSIGN_OR_EXIT(cli::GlobalOptions o, flags_.Resolve(env_, &warnings));
  for (const auto& w : warnings) io_.err << WarningPrefix() << "pkg/flags: " << w << "\n";
  options_ = o;
  return o;
}

cli::ExitOr<Session> Context::Prepare(bool value_only) {
  Session s;
  ASSIGN_OR_EXIT(s.options, Options());
  const cli::GlobalOptions& o = s.options;
  if (!o.discovery_srv.empty()) {
    return ExitStatus::Error("DNS discovery (--discovery-srv) is not supported yet");
  }
  cli::UserCredentials creds = cli::SplitUser(o.user, o.password);
  if (creds.needs_prompt) {
    ASSIGN_OR_EXIT(creds.password, AskPassword(io_));
  }
  cli::PrinterOptions po{o.write_out, o.hex, value_only};
  ASSIGN_OR_EXIT(s.printer, cli::NewPrinter(po, io_.out, io_.err));

  client::Config& c = s.config;
  c.endpoints = o.endpoints;
  // Without certificate files, --insecure-transport=false asks for TLS with
  // the system roots, which the client does for https:// endpoints.
  bool files = !o.cert.empty() || !o.key.empty() || !o.cacert.empty();
  if (!o.insecure_transport && !files) {
    for (auto& ep : c.endpoints) {
      if (ep.find("://") == std::string::npos) ep = "https://" + ep;
    }
  }
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
  return s;
}

std::vector<std::string> Context::ArgsAfter(const std::string& word) const {
  auto it = std::find(args_.begin(), args_.end(), word);
  if (it == args_.end()) return args_;
  return std::vector<std::string>(it + 1, args_.end());
}

CLI::Option* AddArgs(CLI::App* cmd, std::vector<std::string>* args, const std::string& usage) {
  // A positional still "expecting" values keeps CLI11 from leaving the
  // command at "--"; TakeAll keeps it from counting them.
  constexpr int kMany = CLI::detail::expected_max_vector_size;
  return cmd->add_option("args", *args, usage)
      ->expected(kMany, kMany)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

CLI::App* AddSubcommandWithArgs(
    CLI::App* parent, Context* ctx, const char* name, const char* description,
    std::function<cli::ExitStatus(Context&, const std::vector<std::string>&)> run) {
  auto* cmd = parent->add_subcommand(name, description);
  auto args = std::make_shared<std::vector<std::string>>();
  AddArgs(cmd, args.get());
  cmd->callback([ctx, args, run = std::move(run)] {
    ctx->SetAction([ctx, args, run] { return run(*ctx, *args); });
  });
  return cmd;
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
  return ExitStatus(cli::ExitCode::kBadConnection, st.message());
}

cli::ExitOr<std::unique_ptr<client::Client>> Context::Connect(const client::Config& config) {
  auto c = client::Client::Connect(config);
  if (c.ok()) return std::move(c).value();
  return ConnectFailure(c.status());
}

}  // namespace etcdd::kvctl
