#include "watch_args.h"

#include <CLI/CLI.hpp>
#include <algorithm>

#include "cli/global_flags.h"
#include "kv_requests.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;
using Args = std::vector<std::string>;

const char kBadArgsNum[] = "bad number of arguments";
const char kBadArgsNumConflictEnv[] = "bad number of arguments (found conflicting environment key)";
const char kBadArgsNumSeparator[] = "bad number of arguments (found separator --, but no commands)";
const char kBadArgsInteractiveWatch[] = "args[0] must be 'watch' for interactive calls";

// The index of the first "--" in `args`, or -1.
int SeparatorIndex(const Args& args) {
  auto it = std::find(args.begin(), args.end(), "--");
  return it == args.end() ? -1 : static_cast<int>(it - args.begin());
}

// Parses an interactive line's words (after "watch") with a fresh set of
// watch flags, as etcdctl parses them with NewWatchCommand().Flags(); the
// positional words are returned. Errors: pflag's wording, kBadArgs.
cli::ExitOr<Args> ParseLineFlags(const Args& words, WatchFlags* flags) {
  *flags = WatchFlags{};
  CLI::App app;
  app.set_help_flag();
  app.allow_extras();
  AddWatchFlags(&app, flags);
  Args positional;
  app.add_option("args", positional);
  try {
    app.parse(Args(words.rbegin(), words.rend()));  // CLI11 wants them reversed
  } catch (const CLI::ParseError& e) {
    return ExitStatus::BadArgs(cli::ParseErrorToExit(e.get_name(), e.what()).message());
  }
  // CLI11 reports the "--" separator itself as left over.
  Args unknown = app.remaining();
  unknown.erase(std::remove(unknown.begin(), unknown.end(), "--"), unknown.end());
  if (!unknown.empty()) {
    return ExitStatus::BadArgs(cli::UnknownArgumentsError(unknown, "watch").message());
  }
  if (auto rev = IntFlag("rev", flags->rev); !rev.ok()) {
    return ExitStatus::BadArgs(rev.status().message());
  }
  return positional;
}

// The command-line checks of the non-interactive mode.
ExitStatus CheckCommandLine(const Args& raw, const Args& command_args, const std::string& env_key) {
  const int exec_idx = SeparatorIndex(raw);
  const bool exec_exist = exec_idx >= 0;
  if (exec_exist && exec_idx == static_cast<int>(raw.size()) - 1) {
    return ExitStatus::BadArgs(kBadArgsNumSeparator);
  }
  if (!exec_exist && raw.empty() && env_key.empty()) return ExitStatus::BadArgs(kBadArgsNum);
  if (exec_exist && !env_key.empty()) {
    // A word before "--" that the parser kept means a key was given too.
    int ridx = static_cast<int>(raw.size()) - 1;
    for (int widx = static_cast<int>(command_args.size()) - 1; widx >= 0 && ridx >= 0; --widx) {
      if (command_args[widx] == raw[ridx]) {
        --ridx;
        continue;
      }
      if (ridx == exec_idx) return ExitStatus::BadArgs(kBadArgsNumConflictEnv);
    }
  }
  if (!exec_exist && !command_args.empty() && !env_key.empty()) {
    return ExitStatus::BadArgs(kBadArgsNumConflictEnv);
  }
  return ExitStatus::Ok();
}

// The checks of an interactive line (`words` without the leading "watch").
ExitStatus CheckLine(const Args& words, const std::string& env_key, WatchFlags* flags) {
  const int exec_idx = SeparatorIndex(words);
  const bool exec_exist = exec_idx >= 0;
  if (exec_exist && exec_idx == static_cast<int>(words.size()) - 1) {
    *flags = WatchFlags{};
    return ExitStatus::BadArgs(kBadArgsNumSeparator);
  }
  ASSIGN_OR_EXIT(Args positional, ParseLineFlags(words, flags));
  if (!exec_exist && env_key.empty() && positional.empty()) {
    *flags = WatchFlags{};
    return ExitStatus::BadArgs(kBadArgsNum);
  }
  if (!exec_exist && !positional.empty() && !env_key.empty()) {
    *flags = WatchFlags{};
    return ExitStatus::BadArgs(kBadArgsNumConflictEnv);
  }
  return ExitStatus::Ok();
}

}  // namespace

void AddWatchFlags(CLI::App* cmd, WatchFlags* f) {
  cmd->add_flag("-i,--interactive", f->interactive, "Interactive mode");
  cmd->add_flag("--prefix", f->prefix, "Watch on a prefix if prefix is set");
  cmd->add_option("--rev", f->rev, "Revision to start watching");
  cmd->add_flag("--prev-kv", f->prev_kv,
                "get the previous key-value pair before the event happens");
  cmd->add_flag("--progress-notify", f->progress_notify,
                "get periodic watch progress notification from server");
}

cli::ExitOr<WatchArgs> ParseWatchArgs(const Args& raw, const Args& command_args,
                                      const std::string& env_key, const std::string& env_range,
                                      bool interactive, WatchFlags* flags) {
  Args watch_args = command_args;
  Args with_sep = raw;
  if (interactive) {
    if (watch_args.empty() || watch_args[0] != "watch") {
      *flags = WatchFlags{};
      return ExitStatus::BadArgs(kBadArgsInteractiveWatch);
    }
    watch_args.erase(watch_args.begin());
    RETURN_IF_EXIT(CheckLine(watch_args, env_key, flags));
    // The line's own words carry the separator.
    with_sep = watch_args;
    ASSIGN_OR_EXIT(watch_args, ParseLineFlags(with_sep, flags));
  } else {
    RETURN_IF_EXIT(CheckCommandLine(raw, command_args, env_key));
  }

  WatchArgs out;
  const int sep = SeparatorIndex(with_sep);
  if (sep >= 0) out.exec.assign(with_sep.begin() + sep + 1, with_sep.end());
  if (!env_key.empty()) {
    Args ranges = {env_key};
    if (!env_range.empty()) ranges.push_back(env_range);
    watch_args.insert(watch_args.begin(), ranges.begin(), ranges.end());
  }
  if (sep < 0) {
    out.watch = std::move(watch_args);
    return out;
  }
  // The parser kept the command's words after the key: drop them, from the
  // last occurrence of the command's name on.
  int end = static_cast<int>(watch_args.size()) - 1;
  while (end >= 0 && watch_args[end] != out.exec.front()) --end;
  watch_args.resize(std::max(end, 0));
  out.watch = std::move(watch_args);
  return out;
}

cli::ExitOr<etcdserverpb::WatchCreateRequest> BuildWatchRequest(const WatchFlags& flags,
                                                                const Args& args) {
  if (args.empty()) return ExitStatus::BadArgs(kBadArgsNum);
  ASSIGN_OR_EXIT(int64_t rev, IntFlag("rev", flags.rev));
  etcdserverpb::WatchCreateRequest req;
  req.set_key(args[0]);
  req.set_start_revision(rev);
  if (args.size() == 2) {
    if (flags.prefix) {
      return ExitStatus::BadArgs("`range_end` and `--prefix` are mutually exclusive");
    }
    req.set_range_end(args[1]);
  }
  if (flags.prefix) ApplyPrefix(req.mutable_key(), req.mutable_range_end());
  req.set_prev_kv(flags.prev_kv);
  req.set_progress_notify(flags.progress_notify);
  return req;
}

}  // namespace etcdd::kvctl
