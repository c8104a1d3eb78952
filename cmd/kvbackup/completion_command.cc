// kvbackup's command line as a cli::ProgramSpec (for `kvbackup __complete`
// and `kvbackup __describe`), and the `completion` and `version` commands.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <memory>

#include "cli/completion.h"
#include "kvbackup.h"

#ifndef ETCDD_VERSION
#define ETCDD_VERSION "0.0.0"
#endif

namespace etcdd::kvbackup {

namespace {

using cli::FlagHint;
using cli::ValueKind;

std::vector<FlagHint> Hints() {
  return {
      {"", "write-out", {"json", "simple", "table"}, ValueKind::kNone},
      {"", "cacert", {}, ValueKind::kFile},
      {"", "cert", {}, ValueKind::kFile},
      {"", "key", {}, ValueKind::kFile},
      {"", "encrypt-key-file", {}, ValueKind::kFile},
      {"save", "from", {"follower", "leader"}, ValueKind::kNone},
      {"save", "", {}, ValueKind::kFile},
      {"list", "", {}, ValueKind::kDirectory},
      {"prune", "", {}, ValueKind::kDirectory},
      cli::CompletionCommandHint(),
  };
}

// cli::GlobalFlags reads KVCTL_<FLAG>, then ETCDCTL_<FLAG>, for every global
// flag (--help excepted), in kvbackup as in kvctl.
std::vector<std::string> GlobalFlagEnv(const std::string& path, const cli::FlagSpec& flag) {
  if (!path.empty() || flag.long_name.empty() || flag.long_name == "help") return {};
  std::string suffix = flag.long_name;
  std::transform(suffix.begin(), suffix.end(), suffix.begin(), [](unsigned char c) {
    return c == '-' ? '_' : static_cast<char>(std::toupper(c));
  });
  return {"KVCTL_" + suffix, "ETCDCTL_" + suffix};
}

}  // namespace

cli::ProgramSpec DescribeKvbackup(const CLI::App& app) {
  cli::ProgramSpec spec;
  spec.root = cli::DescribeApp(app, {Hints(), GlobalFlagEnv});
  return spec;
}

void AddCompletionCommand(CLI::App* app, Context* ctx) {
  auto shell = std::make_shared<std::string>();
  auto* cmd = cli::AddCompletionCommand(app, shell.get());
  cmd->callback([ctx, shell] {
    ctx->SetAction([ctx, shell] {
      auto parsed = cli::ParseShell(*shell);
      if (!parsed.ok()) return cli::ExitStatus::Error(parsed.status().message());
      ctx->io().out << cli::CompletionScript(*parsed, "kvbackup");
      return cli::ExitStatus::Ok();
    });
  });
}

void AddVersionCommand(CLI::App* app, Context* ctx) {
  auto* version = app->add_subcommand("version", "Prints the version of kvbackup");
  version->callback([ctx] {
    ctx->SetAction([ctx] {
      ctx->io().out << "kvbackup version: " << ETCDD_VERSION << "\n";
      return cli::ExitStatus::Ok();
    });
  });
}

}  // namespace etcdd::kvbackup
