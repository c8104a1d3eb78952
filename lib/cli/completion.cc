#include "cli/completion.h"

#include <CLI/CLI.hpp>
#include <set>

namespace etcdd::cli {

namespace {

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool IsFlagWord(const std::string& w) { return w.size() > 1 && w[0] == '-'; }

// The flag `word` ("--name", "--name=v", "-n", "-nvalue", or with
// single-dash long flags "-name") names among `scope`, or nullptr. Sets
// `*value_attached` when the word carries the value itself.
const FlagSpec* FindFlag(const ProgramSpec& spec, const std::vector<const FlagSpec*>& scope,
                         const std::string& word, bool* value_attached) {
  *value_attached = word.find('=') != std::string::npos;
  const bool dashes = StartsWith(word, "--");
  if (dashes || (spec.single_dash_long_flags && word.size() > 2)) {
    std::string name = word.substr(dashes ? 2 : 1);
    name = name.substr(0, name.find('='));
    for (const FlagSpec* f : scope) {
      if (!f->long_name.empty() && f->long_name == name) return f;
    }
    if (dashes) return nullptr;
  }
  for (const FlagSpec* f : scope) {
    if (!f->short_name.empty() && word.compare(1, f->short_name.size(), f->short_name) == 0) {
      *value_attached = word.size() > 1 + f->short_name.size();
      return f;
    }
  }
  return nullptr;
}

const CommandSpec* FindSubcommand(const ProgramSpec& spec, const CommandSpec& cmd,
                                  const std::string& word) {
  const CommandSpec* match = nullptr;
  int matches = 0;
  for (const CommandSpec& sub : cmd.subcommands) {
    if (sub.name == word) return &sub;
    if (spec.command_prefixes && !IsExactMatchCommand(sub.name) && StartsWith(sub.name, word)) {
      match = &sub;
      ++matches;
    }
  }
  return matches == 1 ? match : nullptr;
}

// Where the words before the cursor lead: the command chain, whether "--"
// ended the flags, and the flag whose separate value is the current word.
struct Position {
  std::vector<const CommandSpec*> path;
  bool after_dashes = false;
  const FlagSpec* value_of = nullptr;
  int args = 0;  // positional words given to the last command
};

Position Walk(const ProgramSpec& spec, const std::vector<std::string>& words) {
  Position pos;
  pos.path.push_back(&spec.root);
  const size_t current = words.empty() ? 0 : words.size() - 1;
  for (size_t i = 0; i < current; ++i) {
    const std::string& w = words[i];
    if (pos.after_dashes) {
      ++pos.args;
      continue;
    }
    if (w == "--") {
      pos.after_dashes = true;
      continue;
    }
    if (IsFlagWord(w)) {
      bool attached = false;
      const FlagSpec* f = FindFlag(spec, FlagsInScope(pos.path), w, &attached);
      if (f == nullptr || !f->takes_value || attached) continue;
      if (++i == current) pos.value_of = f;
      continue;
    }
    const CommandSpec* sub = pos.args == 0 ? FindSubcommand(spec, *pos.path.back(), w) : nullptr;
    if (sub != nullptr) {
      pos.path.push_back(sub);
    } else {
      ++pos.args;
    }
  }
  return pos;
}

// Fixed values with `prefix` ("--flag=" or ""), or what the shell should
// complete instead.
Completion CompleteValue(const std::vector<std::string>& values, ValueKind kind,
                         const std::string& word, const std::string& prefix) {
  Completion c;
  if (values.empty()) {
    c.directive = kind == ValueKind::kFile        ? kDirectiveDefault
                  : kind == ValueKind::kDirectory ? kDirectiveFilterDirs
                                                  : kDirectiveNoFileComp;
    return c;
  }
  c.directive = kDirectiveNoFileComp;
  for (const std::string& v : values) {
    if (StartsWith(v, word)) c.candidates.push_back({prefix + v, ""});
  }
  return c;
}

Completion CompleteFlags(const ProgramSpec& spec, const std::vector<const FlagSpec*>& scope,
                         const std::string& word) {
  Completion c;
  c.directive = kDirectiveNoFileComp;
  // etcdd's Go-style "-name": answer in the style the user started with.
  const bool single_dash =
      spec.single_dash_long_flags && !StartsWith(word, "--") && word.size() > 1;
  std::set<std::string> seen;
  auto add = [&](const std::string& value, const std::string& help) {
    if (StartsWith(value, word) && seen.insert(value).second) c.candidates.push_back({value, help});
  };
  for (const FlagSpec* f : scope) {
    if (f->hidden) continue;
    if (!f->long_name.empty()) add((single_dash ? "-" : "--") + f->long_name, f->help);
  }
  if (!StartsWith(word, "--")) {
    for (const FlagSpec* f : scope) {
      if (!f->hidden && !f->short_name.empty()) add("-" + f->short_name, f->help);
    }
  }
  return c;
}

}  // namespace

Completion Complete(const ProgramSpec& spec, const std::vector<std::string>& words) {
  const Position pos = Walk(spec, words);
  const std::string word = words.empty() ? "" : words.back();
  const std::vector<const FlagSpec*> scope = FlagsInScope(pos.path);
  if (pos.value_of != nullptr) {
    return CompleteValue(pos.value_of->values, pos.value_of->value_kind, word, "");
  }
  const CommandSpec& cmd = *pos.path.back();
  if (!pos.after_dashes && StartsWith(word, "-")) {
    const size_t eq = word.find('=');
    bool attached = false;
    const FlagSpec* f = eq == std::string::npos ? nullptr : FindFlag(spec, scope, word, &attached);
    if (f != nullptr && f->accepts_value) {
      return CompleteValue(f->values, f->value_kind, word.substr(eq + 1), word.substr(0, eq + 1));
    }
    return CompleteFlags(spec, scope, word);
  }
  if (!cmd.subcommands.empty()) {
    Completion c;
    c.directive = kDirectiveNoFileComp;
    if (pos.args > 0) return c;  // an unknown command: nothing fits after it
    for (const CommandSpec& sub : cmd.subcommands) {
      if (!sub.hidden && StartsWith(sub.name, word)) {
        c.candidates.push_back({sub.name, sub.description});
      }
    }
    return c;
  }
  if (cmd.takes_args || pos.after_dashes) {
    return CompleteValue(cmd.arg_values, cmd.arg_kind, word, "");
  }
  return CompleteFlags(spec, scope, word.empty() ? "--" : word);
}

void WriteCompletion(const Completion& completion, std::ostream& out) {
  for (const Candidate& c : completion.candidates) {
    out << c.value;
    // A description is one line: cobra cuts it at the first newline.
    if (!c.description.empty()) out << '\t' << c.description.substr(0, c.description.find('\n'));
    out << '\n';
  }
  out << ':' << completion.directive << '\n';
}

Result<Shell> ParseShell(const std::string& name) {
  if (name == "bash") return Shell::kBash;
  if (name == "zsh") return Shell::kZsh;
  if (name == "fish") return Shell::kFish;
  return Status::InvalidArgument("unsupported shell type \"" + name + "\"");
}

std::optional<int> RunHiddenEntryPoint(const ProgramSpec& spec,
                                       const std::vector<std::string>& args, std::ostream& out) {
  if (args.size() < 2) return std::nullopt;
  if (args[1] == kCompleteEntryPoint) {
    WriteCompletion(Complete(spec, std::vector<std::string>(args.begin() + 2, args.end())), out);
    out.flush();
    return 0;
  }
  if (args[1] == kDescribeEntryPoint) {
    out << ProgramSpecToJson(spec);
    out.flush();
    return 0;
  }
  return std::nullopt;
}

CLI::App* AddCompletionCommand(CLI::App* app, std::string* shell) {
  auto* cmd = app->add_subcommand(kCompletionCommand,
                                  "Prints the shell completion script (bash, zsh or fish)");
  cmd->add_option("shell", *shell, "bash | zsh | fish")->required();
  return cmd;
}

FlagHint CompletionCommandHint() {
  return FlagHint{kCompletionCommand, "", {"bash", "fish", "zsh"}, ValueKind::kNone};
}

}  // namespace etcdd::cli
