// kvctl's command line as a cli::ProgramSpec (for `kvctl __complete` and
// `kvctl __describe`) and the `completion` command that prints the shell
// scripts (cli/completion.h).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <memory>

#include "cli/completion.h"
#include "context.h"

namespace etcdd::kvctl {

namespace {

using cli::FlagHint;
using cli::ValueKind;

// Values CLI11 does not check (kvctl checks them itself, with etcdctl's
// messages) but the shell can offer.
std::vector<FlagHint> Hints() {
  return {
      {"", "write-out", {"fields", "json", "protobuf", "simple", "table"}, ValueKind::kNone},
      {"", "cacert", {}, ValueKind::kFile},
      {"", "cert", {}, ValueKind::kFile},
      {"", "key", {}, ValueKind::kFile},
      {"get", "consistency", {"l", "s"}, ValueKind::kNone},
      {"get", "order", {"ASCEND", "DESCEND"}, ValueKind::kNone},
      {"get", "sort-by", {"CREATE", "KEY", "MODIFY", "VALUE", "VERSION"}, ValueKind::kNone},
      cli::CompletionCommandHint(),
  };
}

// cli::GlobalFlags reads KVCTL_<FLAG>, then ETCDCTL_<FLAG>, for every global
// flag (--help excepted).
std::vector<std::string> GlobalFlagEnv(const std::string& path, const cli::FlagSpec& flag) {
  if (!path.empty() || flag.long_name.empty() || flag.long_name == "help") return {};
  std::string suffix = flag.long_name;
  std::transform(suffix.begin(), suffix.end(), suffix.begin(), [](unsigned char c) {
    return c == '-' ? '_' : static_cast<char>(std::toupper(c));
  });
  return {"KVCTL_" + suffix, "ETCDCTL_" + suffix};
}

}  // namespace

cli::ProgramSpec DescribeKvctl(const CLI::App& app) {
  cli::ProgramSpec spec;
  spec.root = cli::DescribeApp(app, {Hints(), GlobalFlagEnv});
  spec.command_prefixes = true;
  return spec;
}

void AddCompletionCommand(CLI::App* app, Context* ctx) {
  auto shell = std::make_shared<std::string>();
  auto* cmd = cli::AddCompletionCommand(app, shell.get());
  cmd->callback([ctx, shell] {
    ctx->SetAction([ctx, shell] {
      auto parsed = cli::ParseShell(*shell);
      if (!parsed.ok()) return cli::ExitStatus::Error(parsed.status().message());
      ctx->io().out << cli::CompletionScript(*parsed, "kvctl");
      return cli::ExitStatus::Ok();
    });
  });
}

}  // namespace etcdd::kvctl
