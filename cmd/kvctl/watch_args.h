// The arguments of `kvctl watch`, split and checked exactly as etcdctl's
// watch_command.go does (parseWatchArgs, getWatchChan), including its
// quirks, so that scripts see the same errors:
//
//   watch [options] [key or prefix] [range_end] [--] [exec-command arg1 ...]
//
// A key may also come from $KVCTL_WATCH_KEY / $ETCDCTL_WATCH_KEY (and a
// range end from ..._WATCH_RANGE_END); it is then an error to give one on
// the command line. In interactive mode (-i) every stdin line is a "watch
// ..." command with the same flags and the same rules.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "cli/exit_status.h"
#include "etcdserverpb/rpc.pb.h"

namespace CLI {
class App;
}

namespace etcdd::kvctl {

struct WatchFlags {
  bool interactive = false;
  bool prefix = false;
  std::string rev = "0";  // kept as text, parsed with pflag's rules
  bool prev_kv = false;
  bool progress_notify = false;  // etcdctl 3.5's flag; etcdctl 3.4 lacks it
};

// Adds watch's flags (etcdctl's names, shorthands and help) to `cmd`.
void AddWatchFlags(CLI::App* cmd, WatchFlags* flags);

struct WatchArgs {
  std::vector<std::string> watch;  // key [range_end]
  std::vector<std::string> exec;   // the command to run per event, if any
};

// etcdctl's parseWatchArgs.
//   raw:          the command line after the word "watch" (flags, "--" and
//                 all), used to find the "--" separator;
//   command_args: what the command-line parser left (positional arguments
//                 with "--" removed); in interactive mode, the words of the
//                 line, starting with "watch";
//   env_key, env_range: the WATCH_KEY / WATCH_RANGE_END environment values.
// In interactive mode the line's flags are parsed into `*flags` (reset to
// the defaults when the line is rejected). Errors (kBadArgs unless noted):
// "bad number of arguments", "bad number of arguments (found separator --,
// but no commands)", "bad number of arguments (found conflicting environment
// key)", "args[0] must be 'watch' for interactive calls", and pflag's errors
// for the line's flags ("unknown flag: --x", `invalid argument "x" for
// "--rev" flag: ...`).
cli::ExitOr<WatchArgs> ParseWatchArgs(const std::vector<std::string>& raw,
                                      const std::vector<std::string>& command_args,
                                      const std::string& env_key, const std::string& env_range,
                                      bool interactive, WatchFlags* flags);

// etcdctl's getWatchChan: the create request for key [range_end] with the
// flags. Errors (kBadArgs): "bad number of arguments" without a key,
// "`range_end` and `--prefix` are mutually exclusive"; kError for a --rev
// that does not parse.
cli::ExitOr<etcdserverpb::WatchCreateRequest> BuildWatchRequest(
    const WatchFlags& flags, const std::vector<std::string>& args);

}  // namespace etcdd::kvctl
