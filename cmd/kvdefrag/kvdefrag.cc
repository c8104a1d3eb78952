// kvdefrag's command line: flags, checks of the input, and the run.
#include "kvdefrag.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>

#include "cli/client_session.h"
#include "cli/completion.h"

#ifndef ETCDD_VERSION
#define ETCDD_VERSION "0.0.0"
#endif

namespace etcdd::kvdefrag {

namespace {

using cli::ExitStatus;

// What the root command's own flags hold.
struct Flags {
  bool cluster = false;
  bool skip_health_check = false;
  bool compact = false;
  int64_t keep_revisions = 0;
  bool move_leader = false;
  bool continue_on_error = false;
  bool disarm = false;
  bool dry_run = false;
  std::string rule;
  double min_free_ratio = -1;   // -1: not given
  double min_quota_usage = -1;  // -1: not given
  int64_t db_quota_bytes = 2ll << 30;
  std::string data_dir;
};

struct Program {
  explicit Program(cli::Environment e, Io i) : env(std::move(e)), io(i) {}
  cli::Environment env;
  Io io;
  cli::GlobalFlags global;
  Flags flags;
  CLI::Option* keep_revisions_opt = nullptr;
  CLI::Option* rule_opt = nullptr;
  std::function<ExitStatus()> action;
};

// The rule the flags ask for (--rule, --min-free-ratio and --min-quota-usage
// combined with ||: a member is defragmented when any says it is worth it),
// or nullopt for none. Errors: a ratio out of range; a rule that does not
// parse.
cli::ExitOr<std::optional<std::string>> RuleFromFlags(const Flags& f, bool rule_given) {
  std::vector<std::string> parts;
  if (rule_given) parts.push_back("(" + f.rule + ")");
  if (f.min_free_ratio != -1) {
    if (f.min_free_ratio < 0 || f.min_free_ratio > 1) {
      return ExitStatus::Error("--min-free-ratio must be between 0 and 1");
    }
    parts.push_back(defrag::Rule::MinFreeRatioExpression(f.min_free_ratio));
  }
  if (f.min_quota_usage != -1) {
    if (f.min_quota_usage < 0) return ExitStatus::Error("--min-quota-usage must not be negative");
    parts.push_back(defrag::Rule::MinQuotaUsageExpression(f.min_quota_usage));
  }
  if (parts.empty()) return std::optional<std::string>();
  // --rule alone stays as written, so errors quote it as given.
  std::string expr = rule_given && parts.size() == 1 ? f.rule : parts[0];
  for (size_t i = 1; i < parts.size(); ++i) expr += " || " + parts[i];
  auto rule = defrag::Rule::Parse(expr);
  if (!rule.ok()) return ExitStatus::Error(rule.status().message());
  return std::optional<std::string>(expr);
}

cli::ExitOr<defrag::Options> OptionsFromFlags(const Program& p) {
  const Flags& f = p.flags;
  defrag::Options o;
  if (f.keep_revisions < 0) return ExitStatus::Error("--keep-revisions must not be negative");
  if (p.keep_revisions_opt->count() > 0 && !f.compact) {
    return ExitStatus::Error("--keep-revisions needs --compact");
  }
  if (f.db_quota_bytes <= 0) return ExitStatus::Error("--db-quota-bytes must be positive");
  ASSIGN_OR_EXIT(o.rule, RuleFromFlags(f, p.rule_opt->count() > 0));
  o.skip_health_check = f.skip_health_check;
  o.compact = f.compact;
  o.keep_revisions = f.keep_revisions;
  o.move_leader = f.move_leader;
  o.continue_on_error = f.continue_on_error;
  o.disarm = f.disarm;
  o.dry_run = f.dry_run;
  o.db_quota = f.db_quota_bytes;
  return o;
}

cli::ExitOr<OutputFormat> FormatOf(const cli::GlobalOptions& o) {
  if (o.write_out == "simple") return OutputFormat::kSimple;
  if (o.write_out == "json") return OutputFormat::kJson;
  if (o.write_out == "table") return OutputFormat::kTable;
  return ExitStatus::Error("unsupported output format " + o.write_out + " (simple, json or table)");
}

// --data-dir: the offline defragmentation of a stopped member's backend.
ExitStatus RunOffline(Program& p, OutputFormat format) {
  const std::string& dir = p.flags.data_dir;
  auto stats = defrag::DefragmentDataDir(dir);
  if (!stats.ok()) return ExitStatus::Error(stats.status().message());
  PrintOffline(dir, *stats, format, p.io.out);
  return ExitStatus::Ok();
}

ExitStatus RunDefrag(Program& p) {
  ASSIGN_OR_EXIT(defrag::Options options, OptionsFromFlags(p));
  std::vector<std::string> warnings;
  ASSIGN_OR_EXIT(cli::GlobalOptions g, p.global.Resolve(p.env, &warnings));
  cli::PrintFlagWarnings(warnings, p.io.err);
  ASSIGN_OR_EXIT(OutputFormat format, FormatOf(g));
  if (!p.flags.data_dir.empty()) return RunOffline(p, format);
  if (!g.discovery_srv.empty()) {
    return ExitStatus::Error("DNS discovery (--discovery-srv) is not supported");
  }
  cli::UserCredentials creds = cli::SplitUser(g.user, g.password);
  if (creds.needs_prompt) {
    ASSIGN_OR_EXIT(creds.password, cli::AskPassword(p.io.in, p.io.out));
  }
  const client::Config config = cli::ClientConfigFrom(g, creds);
  ASSIGN_OR_EXIT(auto endpoints, cli::TargetEndpoints(config, p.flags.cluster));
  auto plan = defrag::SurveyAndPlan(config, endpoints, options);
  if (!plan.ok()) return ExitStatus::Error(plan.status().message());
  if (options.dry_run) {
    PrintPlan(*plan, format, p.io.out);
    return ExitStatus::Ok();
  }
  ASSIGN_OR_EXIT(auto client, cli::ConnectClient(config));
  Io& io = p.io;
  auto progress = [&io, format](const defrag::MemberOutcome& m, bool done) {
    if (io.err_is_terminal && format != OutputFormat::kJson) {
      // A line redrawn in place on a terminal: what is being done now.
      io.err << "\r\033[K";
      if (!done) io.err << "Defragmenting member[" << m.entry.member.endpoint << "] ...";
      io.err.flush();
    }
    if (done && format == OutputFormat::kSimple) {
      (m.state == defrag::MemberOutcome::State::kFailed ? io.err : io.out)
          << OutcomeLine(m) << "\n";
      io.out.flush();
    }
  };
  defrag::Report report = defrag::Execute(*client, config, *plan, options, progress);
  if (format == OutputFormat::kSimple) {
    for (const auto& m : report.members) {
      if (m.state == defrag::MemberOutcome::State::kSkipped) io.out << OutcomeLine(m) << "\n";
    }
  }
  PrintReport(report, format, io.out);
  if (report.ok()) return ExitStatus::Ok();
  if (!report.error.empty()) return ExitStatus::Error(report.error);
  return ExitStatus::Error("some members failed to defragment");
}

void AddRootFlags(CLI::App* app, Program* p) {
  Flags& f = p->flags;
  app->add_flag("--cluster", f.cluster, "use all endpoints from the cluster member list");
  app->add_flag("--skip-health-check", f.skip_health_check,
                "defragment even when the cluster is not healthy");
  app->add_flag("--compact", f.compact, "compact (physically) before defragmenting");
  p->keep_revisions_opt =
      app->add_option("--keep-revisions", f.keep_revisions,
                      "with --compact: keep this many revisions below the current one (default 0)");
  app->add_flag("--move-leader", f.move_leader,
                "move leadership to a follower before defragmenting the leader");
  app->add_flag("--continue-on-error", f.continue_on_error,
                "go on with the next member when one fails");
  app->add_flag("--disarm", f.disarm,
                "at the end, disarm NOSPACE alarms if every member is under the quota");
  app->add_flag("--dry-run", f.dry_run, "print the plan and change nothing");
  p->rule_opt =
      app->add_option("--rule", f.rule,
                      "defragment only members where this expression over dbSize, dbSizeInUse, "
                      "dbSizeFree, dbQuota, dbQuotaUsage holds");
  app->add_option("--min-free-ratio", f.min_free_ratio,
                  "defragment only members with dbSizeFree/dbSize at least this");
  app->add_option("--min-quota-usage", f.min_quota_usage,
                  "defragment only members with dbSize/dbQuota at least this");
  app->add_option("--db-quota-bytes", f.db_quota_bytes,
                  "the members' backend quota in bytes (default 2 GiB)");
  app->add_option("--data-dir", f.data_dir,
                  "defragment the backend of this stopped member's data dir (offline)");
}

void AddVersionCommand(CLI::App* app, Program* p) {
  auto* version = app->add_subcommand("version", "Prints the version of kvdefrag");
  version->callback([p] {
    p->action = [p] {
      p->io.out << "kvdefrag version: " << ETCDD_VERSION << "\n";
      return ExitStatus::Ok();
    };
  });
}

std::vector<cli::FlagHint> Hints() {
  return {
      {"", "write-out", {"json", "simple", "table"}, cli::ValueKind::kNone},
      {"", "cacert", {}, cli::ValueKind::kFile},
      {"", "cert", {}, cli::ValueKind::kFile},
      {"", "key", {}, cli::ValueKind::kFile},
      {"", "data-dir", {}, cli::ValueKind::kDirectory},
      cli::CompletionCommandHint(),
  };
}

// KVCTL_<FLAG>, then ETCDCTL_<FLAG>, for every global flag, as in kvctl.
std::vector<std::string> GlobalFlagEnv(const std::string& path, const cli::FlagSpec& flag) {
  static const std::vector<std::string> kOwn = {
      "cluster",     "skip-health-check", "compact",         "keep-revisions",
      "move-leader", "continue-on-error", "disarm",          "dry-run",
      "rule",        "min-free-ratio",    "min-quota-usage", "db-quota-bytes",
      "data-dir"};
  if (!path.empty() || flag.long_name.empty() || flag.long_name == "help") return {};
  if (std::find(kOwn.begin(), kOwn.end(), flag.long_name) != kOwn.end()) return {};
  std::string suffix = flag.long_name;
  std::transform(suffix.begin(), suffix.end(), suffix.begin(), [](unsigned char c) {
    return c == '-' ? '_' : static_cast<char>(std::toupper(c));
  });
  return {"KVCTL_" + suffix, "ETCDCTL_" + suffix};
}

void AddCompletionCommand(CLI::App* app, Program* p) {
  auto shell = std::make_shared<std::string>();
  auto* cmd = cli::AddCompletionCommand(app, shell.get());
  cmd->callback([p, shell] {
    p->action = [p, shell] {
      auto parsed = cli::ParseShell(*shell);
      if (!parsed.ok()) return ExitStatus::Error(parsed.status().message());
      p->io.out << cli::CompletionScript(*parsed, "kvdefrag");
      return ExitStatus::Ok();
    };
  });
}

// Every failure exits 1 (etcdctl's 128 for bad arguments included): the
// contract is 0 or 1.
int Fail(const ExitStatus& st, Io& io) {
  if (!st.silent()) io.err << "Error: " << st.message() << "\n";
  io.out.flush();
  io.err.flush();
  return 1;
}

}  // namespace

int RunKvdefrag(std::vector<std::string> args, cli::Environment env, Io io) {
  Program p(std::move(env), io);
  CLI::App app(
      "Rolling compaction and defragmentation of an etcd or etcdd cluster: followers first, "
      "the leader last, each member healthy and caught up before the next.",
      "kvdefrag");
  app.require_subcommand(0, 1);
  app.fallthrough();
  app.allow_extras();
  p.global.Register(&app);
  AddRootFlags(&app, &p);
  AddVersionCommand(&app, &p);
  AddCompletionCommand(&app, &p);
  cli::ProgramSpec spec;
  spec.root = cli::DescribeApp(app, {Hints(), GlobalFlagEnv});
  if (auto code = cli::RunHiddenEntryPoint(spec, args, io.out)) return *code;
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
    return Fail(cli::UnknownArgumentsError(app.remaining(), "kvdefrag"), io);
  }
  ExitStatus st = p.action ? p.action() : RunDefrag(p);
  if (!st.ok()) return Fail(st, io);
  io.out.flush();
  return 0;
}

}  // namespace etcdd::kvdefrag
