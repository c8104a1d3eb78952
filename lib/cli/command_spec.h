// A plain description of a program's command line, taken from the CLI11 app
// the program parses with: its commands, their flags (names, help, whether
// they take a value, the fixed set of values where there is one, the
// environment variables that set them) and their positional arguments.
//
// It is the one source for everything generated from a command line: shell
// completion (cli/completion.h) and the data the man page tests check the
// pages against (`<program> __describe` prints it as JSON). Because the
// description is read from the very app the program parses with, a flag
// added to a command shows up in completions and in the page checks without
// anyone remembering to list it.
//
// CLI11 knows nothing of value sets meant only for completion (checking them
// with CLI::IsMember would change etcdctl's error messages), of file or
// directory arguments, or of environment variables a program reads itself
// (kvctl's KVCTL_*/ETCDCTL_*), so those come in as DescribeOptions.
//
// Thread-safety: plain values; DescribeApp only reads the app.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace etcdd::cli {

// What completes a flag's value (or a command's positional arguments) when
// there is no fixed set of values.
enum class ValueKind {
  kNone,       // nothing: a key, a number, an id
  kFile,       // a file name
  kDirectory,  // a directory name
};

struct FlagSpec {
  std::string long_name;   // without dashes: "write-out"; may be empty
  std::string short_name;  // without the dash: "w"; may be empty
  std::string help;
  // The next word is the flag's value ("-w json"); false for switches and
  // for Go-style booleans that take a value only as "--flag=false".
  bool takes_value = false;
  // "--flag=value" is accepted (true whenever takes_value is).
  bool accepts_value = false;
  // Left out of --help and of completion (etcdd's flags that are accepted
  // for compatibility but do nothing yet); still documented in the man page.
  bool hidden = false;
  std::vector<std::string> values;  // the fixed set of values, if any
  ValueKind value_kind = ValueKind::kNone;
  std::vector<std::string> env;  // environment variables that set the flag
};

struct CommandSpec {
  std::string name;  // the program's name for the root
  std::string description;
  std::string usage;  // of the positional arguments, e.g. "<key> [range_end]"
  bool hidden = false;
  bool takes_args = false;                // has positional arguments
  std::vector<std::string> arg_values;    // fixed set for the positional arguments
  ValueKind arg_kind = ValueKind::kNone;  // what completes them otherwise
  std::vector<FlagSpec> flags;            // this command's own flags
  std::vector<CommandSpec> subcommands;   // in the order they were added
};

// A completion hint for one flag, or (with an empty `flag`) for the
// positional arguments of a command.
struct FlagHint {
  // Space-separated command path below the root ("member add"), or "" for
  // a flag of any command.
  std::string command;
  std::string flag;  // long name without dashes
  std::vector<std::string> values;
  ValueKind kind = ValueKind::kNone;
};

struct DescribeOptions {
  std::vector<FlagHint> hints;
  // Environment variables a flag of the command at `path` ("" for the root)
  // is read from, beyond the CLI11 envname. May be empty.
  std::function<std::vector<std::string>(const std::string& path, const FlagSpec& flag)> env;
};

// The whole program: its root command and how its words are read.
struct ProgramSpec {
  CommandSpec root;
  // Go's flag package: "-name" is "--name" (etcdd), not a bundle of
  // shorthands.
  bool single_dash_long_flags = false;
  // cobra's EnablePrefixMatching (kvctl): a unique prefix of a command name
  // selects it, except for the commands of IsExactMatchCommand.
  bool command_prefixes = false;
};

// Reads the command tree of `app`: every subcommand (recursively), every
// option with a name (positionals become `takes_args`), hidden ones marked
// (CLI11's empty group). Applies `options.hints` and `options.env`. Never
// fails; an app without options gives a spec without flags.
CommandSpec DescribeApp(const CLI::App& app, const DescribeOptions& options = {});

// Commands that a prefix never selects, only their full name: "completion",
// which etcdctl 3.4 (whose prefix rules kvctl keeps) does not have, so that
// "comp" still means "compaction".
bool IsExactMatchCommand(const std::string& name);

// The flags usable at `path` (a chain of commands from the root, root
// first): the command's own and those of its ancestors, as cobra's
// persistent flags and CLI11's fallthrough make them. Nearest first.
std::vector<const FlagSpec*> FlagsInScope(const std::vector<const CommandSpec*>& path);

// The spec as JSON (what `<program> __describe` prints): {"name", "description",
// "usage", "hidden", "takes_args", "flags": [{"long", "short", "help",
// "takes_value", "hidden", "values", "env"}], "subcommands": [...]}, with
// "single_dash_long_flags" and "command_prefixes" on the root.
std::string ProgramSpecToJson(const ProgramSpec& spec);

// The deepest subcommand the parsed command line selected (`app` itself if
// none): the command whose help a bare or unknown invocation prints.
CLI::App* SelectedCommand(CLI::App* app);

}  // namespace etcdd::cli
