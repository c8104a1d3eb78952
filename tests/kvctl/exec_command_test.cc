// Commands run by watch and lock fail with Go's os/exec error texts, which
// etcdctl prints (lib/cli/exec_command.h).
#include "cli/exec_command.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>

namespace etcdd::cli {
namespace {

Environment Env() { return {{"PATH", "/usr/bin:/bin"}}; }

TEST(RunCommand, Success) { EXPECT_TRUE(RunCommand({"true"}, Env()).ok()); }

TEST(RunCommand, ExitStatus) {
  EXPECT_EQ(RunCommand({"sh", "-c", "exit 3"}, Env()).message(), "exit status 3");
}

TEST(RunCommand, KilledBySignal) {
  EXPECT_EQ(RunCommand({"sh", "-c", "kill -INT $$"}, Env()).message(), "signal: interrupt");
  EXPECT_EQ(RunCommand({"sh", "-c", "kill -9 $$"}, Env()).message(), "signal: killed");
}

TEST(RunCommand, SeesOnlyTheGivenEnvironmentAndNoStdin) {
  Environment env = Env();
  env["ETCD_WATCH_KEY"] = "\"k\"";
  EXPECT_TRUE(
      RunCommand({"sh", "-c", "test \"$ETCD_WATCH_KEY\" = '\"k\"' && test -z \"$HOME\""}, env)
          .ok());
  // stdin is /dev/null: reading it ends at once.
  EXPECT_TRUE(RunCommand({"sh", "-c", "read x; test $? -ne 0"}, env).ok());
}

TEST(RunCommand, NotFound) {
  EXPECT_EQ(RunCommand({"no-such-command-for-kvctl", "x"}, Env()).message(),
            "exec: \"no-such-command-for-kvctl\": executable file not found in $PATH");
  EXPECT_EQ(RunCommand({"ls"}, {}).message(), "exec: \"ls\": executable file not found in $PATH");
  EXPECT_EQ(RunCommand({"/no/such/path"}, Env()).message(),
            "fork/exec /no/such/path: no such file or directory");
}

TEST(WaitStatusText, GoProcessStateStrings) {
  EXPECT_EQ(WaitStatusText(0), "");
  EXPECT_EQ(WaitStatusText(1 << 8), "exit status 1");
  EXPECT_EQ(WaitStatusText(SIGTERM), "signal: terminated");
  EXPECT_EQ(WaitStatusText(SIGSEGV | 0x80), "signal: segmentation fault (core dumped)");
}

}  // namespace
}  // namespace etcdd::cli
