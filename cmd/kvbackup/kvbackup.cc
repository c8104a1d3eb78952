// Command-line parsing and dispatch for kvbackup, and what its commands share.
#include "kvbackup.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "backup/encryption.h"
#include "base/go_text.h"
#include "cli/client_session.h"
#include "cli/completion.h"

namespace etcdd::kvbackup {

namespace {

using cli::ExitStatus;

int Fail(const ExitStatus& st, Io& io) {
  if (!st.silent()) io.err << "Error: " << st.message() << "\n";
  io.out.flush();
  io.err.flush();
  return st.exit_code();
}

void BuildCommandTree(CLI::App* app, Context* ctx) {
  app->require_subcommand(0, 1);
  app->fallthrough();
  app->allow_extras();
  ctx->flags().Register(app);
  for (const CommandEntry& c : Commands()) c.add(app, ctx);
}

}  // namespace

const std::vector<CommandEntry>& Commands() {
  static const std::vector<CommandEntry> kCommands = {
      {"save", AddSaveCommand},
      {"list", AddListCommand},
      {"prune", AddPruneCommand},
      {"status", AddStatusCommand},
      {"verify", AddVerifyCommand},
      {"restore", AddRestoreCommand},
      {"version", AddVersionCommand},
      {"completion", AddCompletionCommand},
  };
  return kCommands;
}

cli::ExitOr<cli::GlobalOptions> Context::Options() {
  if (options_) return *options_;
  std::vector<std::string> warnings;
  ASSIGN_OR_EXIT(cli::GlobalOptions o, flags_.Resolve(env_, &warnings));
  cli::PrintFlagWarnings(warnings, io_.err);
  options_ = o;
  return o;
}

cli::ExitOr<OutputFormat> Context::Format() {
  ASSIGN_OR_EXIT(cli::GlobalOptions o, Options());
  if (o.write_out == "simple") return OutputFormat::kSimple;
  if (o.write_out == "json") return OutputFormat::kJson;
  if (o.write_out == "table") return OutputFormat::kTable;
  return ExitStatus::BadFeature("unsupported output format");
}

cli::ExitOr<std::unique_ptr<client::Client>> Context::Connect() {
  ASSIGN_OR_EXIT(cli::GlobalOptions o, Options());
  if (!o.discovery_srv.empty()) {
    return ExitStatus::Error("DNS discovery (--discovery-srv) is not supported yet");
  }
  cli::UserCredentials creds = cli::SplitUser(o.user, o.password);
  if (creds.needs_prompt) {
    ASSIGN_OR_EXIT(creds.password, cli::AskPassword(io_.in, io_.out));
  }
  return cli::ConnectClient(cli::ClientConfigFrom(o, creds));
}

void AddRetentionFlags(CLI::App* cmd, RetentionFlags* f) {
  cmd->add_option("--keep-last", f->last, "keep the N newest backups");
  cmd->add_option("--keep-hourly", f->hourly, "keep the newest backup of each of the last N hours");
  cmd->add_option("--keep-daily", f->daily, "keep the newest backup of each of the last N days");
  cmd->add_option("--keep-weekly", f->weekly,
                  "keep the newest backup of each of the last N ISO weeks");
  cmd->add_option("--keep-monthly", f->monthly,
                  "keep the newest backup of each of the last N months");
}

ExitStatus CheckRetentionFlags(const RetentionFlags& f) {
  if (f.last < 0 || f.hourly < 0 || f.daily < 0 || f.weekly < 0 || f.monthly < 0) {
    return ExitStatus::BadArgs("--keep-* counts must not be negative");
  }
  return ExitStatus::Ok();
}

cli::ExitOr<std::chrono::milliseconds> ParseDurationFlag(const std::string& flag,
                                                         const std::string& value) {
  auto d = ParseGoDuration(value);
  if (!d.ok() || d->count() < 0) {
    std::string why = d.ok() ? "negative duration" : d.status().message();
    return ExitStatus::BadArgs("invalid argument " + GoQuote(value) + " for \"--" + flag +
                               "\" flag: " + why);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

cli::ExitOr<std::optional<std::array<uint8_t, 32>>> LoadKeyFlag(const std::string& path) {
  if (path.empty()) return std::optional<std::array<uint8_t, 32>>();
  auto key = backup::LoadEncryptionKey(path);
  if (!key.ok()) return ExitStatus::BadArgs(key.status().message());
  return std::optional<std::array<uint8_t, 32>>(*key);
}

int RunKvbackup(std::vector<std::string> args, cli::Environment env, Io io) {
  Context ctx(std::move(env), io);
  CLI::App app(
      "Backups of an etcd or etcdd cluster: save, list, prune, status and verify snapshots.",
      "kvbackup");
  BuildCommandTree(&app, &ctx);
  if (auto code = cli::RunHiddenEntryPoint(DescribeKvbackup(app), args, io.out)) return *code;
  std::vector<std::string> reversed(args.rbegin(), args.rend() - (args.empty() ? 0 : 1));
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    io.out << cli::SelectedCommand(&app)->help();
    return 0;
  } catch (const CLI::ParseError& e) {
    return Fail(cli::ParseErrorToExit(e.get_name(), e.what()), io);
  }
  if (!app.remaining().empty()) {
    return Fail(cli::UnknownArgumentsError(app.remaining(), "kvbackup"), io);
  }
  if (!ctx.has_action()) {
    io.out << cli::SelectedCommand(&app)->help();
    return 0;
  }
  ExitStatus st = ctx.RunAction();
  if (!st.ok()) return Fail(st, io);
  io.out.flush();
  return 0;
}

}  // namespace etcdd::kvbackup
