// Shell completion for every etcdd binary, driven by the program's own
// command line (cli/command_spec.h), the way cobra-based tools (kubectl,
// etcdctl 3.5) do it:
//
//   - a hidden entry point, `<program> __complete <words...>`, prints the
//     candidates for the last word (which may be empty), one per line as
//     "value<TAB>description", then ":<directive>" (cobra's
//     ShellCompDirective numbers, see Directive);
//   - `<program> completion bash|zsh|fish` prints a small script that, on
//     <TAB>, calls the entry point with the words typed so far. The scripts
//     hold no command names or flags, so they never go stale: the binary
//     answers from the command tree it parses with.
//
// A second hidden entry point, `<program> __describe`, prints the
// ProgramSpec as JSON for the man page tests.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "base/status.h"
#include "cli/command_spec.h"

namespace CLI {
class App;
}

namespace etcdd::cli {

inline constexpr char kCompleteEntryPoint[] = "__complete";
inline constexpr char kDescribeEntryPoint[] = "__describe";
inline constexpr char kCompletionCommand[] = "completion";

// cobra's ShellCompDirective bits; 0 lets the shell complete file names.
enum Directive : int {
  kDirectiveDefault = 0,
  kDirectiveError = 1,
  kDirectiveNoSpace = 2,     // the candidate is not a whole word ("--flag=")
  kDirectiveNoFileComp = 4,  // offer nothing when there are no candidates
  kDirectiveFilterDirs = 16  // complete directory names
};

struct Candidate {
  std::string value;
  std::string description;  // may be empty
};

struct Completion {
  std::vector<Candidate> candidates;
  int directive = kDirectiveDefault;
};

// The candidates for the last of `words` (the words after the program name;
// the last one is the word under the cursor, "" for a new word):
//   - after a flag that takes a value, or in "--flag=<prefix>": the flag's
//     fixed values ("--flag=" prepended in the second form), or file or
//     directory names per its ValueKind;
//   - a word starting with "-": the flags in scope (FlagsInScope), long names
//     for "--", long and short for "-"; hidden flags are never offered;
//   - otherwise the subcommands of the command reached so far (none once
//     a word that is no command was given to it), or for a
//     command without subcommands its positional values (a command with no
//     positional arguments and no subcommands, such as etcdd, offers its
//     flags).
// Candidates are filtered by the word as a prefix. Never fails: unknown
// words are taken as positional arguments.
Completion Complete(const ProgramSpec& spec, const std::vector<std::string>& words);

// Writes `completion` in the __complete format described above.
void WriteCompletion(const Completion& completion, std::ostream& out);

enum class Shell { kBash, kZsh, kFish };

// "bash", "zsh" or "fish". Errors: InvalidArgument `unsupported shell type
// "x"` (kubectl's wording) for anything else.
Result<Shell> ParseShell(const std::string& name);

// The completion script for `program` in `shell`: defines the completion
// function and registers it for `program` (bash: complete -F; zsh: compdef,
// or runs at once when autoloaded from fpath; fish: complete -c). Loading it
// runs nothing but shell built-ins.
std::string CompletionScript(Shell shell, const std::string& program);

// Runs the hidden entry points: when args[1] (args is argv, the program name
// first) is "__complete", writes Complete(spec, args[2...]) to `out`; when it
// is "__describe", writes ProgramSpecToJson(spec). Returns the exit code (0),
// or nullopt when args[1] is neither, for the program to parse its command
// line as usual. Call before parsing, so that no flag among the words is
// acted upon.
std::optional<int> RunHiddenEntryPoint(const ProgramSpec& spec,
                                       const std::vector<std::string>& args, std::ostream& out);

// Adds the `completion` subcommand to `app`; its one positional argument
// (bash, zsh or fish) is stored in `*shell`. The caller runs it: when the
// returned command was parsed, write CompletionScript(ParseShell(*shell)).
CLI::App* AddCompletionCommand(CLI::App* app, std::string* shell);

// The completion hint for AddCompletionCommand's argument, for
// DescribeOptions::hints.
FlagHint CompletionCommandHint();

}  // namespace etcdd::cli
