#include "context.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;

}  // namespace

cli::ExitOr<cli::GlobalOptions> Context::Options() {
  if (options_) return *options_;
  std::vector<std::string> warnings;
  ASSIGN_OR_EXIT(cli::GlobalOptions o, flags_.Resolve(env_, &warnings));
  cli::PrintFlagWarnings(warnings, io_.err);
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
    ASSIGN_OR_EXIT(creds.password, cli::AskPassword(io_.in, io_.out));
  }
  cli::PrinterOptions po{o.write_out, o.hex, value_only};
  ASSIGN_OR_EXIT(s.printer, cli::NewPrinter(po, io_.out, io_.err));

  s.config = cli::ClientConfigFrom(o, creds);
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

cli::ExitOr<std::unique_ptr<client::Client>> Context::Connect(const client::Config& config) {
  return cli::ConnectClient(config);
}

}  // namespace etcdd::kvctl
