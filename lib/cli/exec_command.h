// Running a user's command from a client tool, as etcdctl runs one with Go's
// os/exec: `watch KEY -- COMMAND` per event, `lock NAME COMMAND` while the
// lock is held.
//
// The command inherits stdout and stderr and reads stdin from /dev/null (Go's
// default for a nil Cmd.Stdin). A name without a slash is looked up in $PATH
// as exec.LookPath does. The child starts with every signal unblocked and
// SIGINT/SIGTERM at their default action, whatever the tool blocked for its
// own signal handling.
//
// Failures carry Go's error text, which etcdctl prints: "exit status 3",
// "signal: interrupt", `exec: "x": executable file not found in $PATH`,
// "fork/exec /bin/x: permission denied".
//
// Thread-safety: RunCommand may be called from several threads at once.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "cli/global_flags.h"

namespace etcdd::cli {

// Runs argv (argv[0] the program) with exactly the variables in `env` and
// waits for it to end. Ok when it exits with status 0. Errors: Unknown with
// "exit status N" or "signal: <name>" for a failed or killed command;
// NotFound / FailedPrecondition with Go's exec error text when it cannot be
// started; InvalidArgument for an empty argv.
Status RunCommand(const std::vector<std::string>& argv, const Environment& env);

// Go's error text for a wait status (as returned by waitpid) that is not a
// clean exit: "exit status 3", "signal: killed". Empty for status 0.
std::string WaitStatusText(int wait_status);

}  // namespace etcdd::cli
