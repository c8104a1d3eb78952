// watch's arguments are split and checked as etcdctl's parseWatchArgs and
// getWatchChan do (cmd/kvctl/watch_args.h).
#include "watch_args.h"

#include <gtest/gtest.h>

namespace etcdd::kvctl {
namespace {

using Args = std::vector<std::string>;

// The command line after "watch" and what the parser leaves of it.
cli::ExitOr<WatchArgs> CommandLine(const Args& raw, const Args& parsed, const std::string& key = "",
                                   const std::string& range = "") {
  return ParseWatchArgs(raw, parsed, key, range, false, nullptr);
}

TEST(ParseWatchArgs, KeyAndRangeEnd) {
  auto a = CommandLine({"foo", "bar"}, {"foo", "bar"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->watch, (Args{"foo", "bar"}));
  EXPECT_TRUE(a->exec.empty());
}

TEST(ParseWatchArgs, CommandAfterSeparator) {
  auto a = CommandLine({"foo", "--rev", "1", "--", "echo", "watch", "event"},
                       {"foo", "echo", "watch", "event"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->watch, Args{"foo"});
  EXPECT_EQ(a->exec, (Args{"echo", "watch", "event"}));
}

TEST(ParseWatchArgs, CommandNamedLikeTheKey) {
  auto a = CommandLine({"echo", "--", "echo", "x"}, {"echo", "echo", "x"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->watch, Args{"echo"});
  EXPECT_EQ(a->exec, (Args{"echo", "x"}));
}

TEST(ParseWatchArgs, SeparatorWithoutCommand) {
  auto a = CommandLine({"foo", "bar", "--"}, {"foo", "bar"});
  EXPECT_EQ(a.status().exit_code(), 128);
  EXPECT_EQ(a.status().message(), "bad number of arguments (found separator --, but no commands)");
}

TEST(ParseWatchArgs, NoKey) {
  auto a = CommandLine({}, {});
  EXPECT_EQ(a.status().exit_code(), 128);
  EXPECT_EQ(a.status().message(), "bad number of arguments");
}

TEST(ParseWatchArgs, KeyFromEnvironment) {
  auto a = CommandLine({}, {}, "foo", "bar");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->watch, (Args{"foo", "bar"}));
  auto with_command = CommandLine({"--", "echo", "hi"}, {"echo", "hi"}, "foo");
  ASSERT_TRUE(with_command.ok());
  EXPECT_EQ(with_command->watch, Args{"foo"});
  EXPECT_EQ(with_command->exec, (Args{"echo", "hi"}));
}

TEST(ParseWatchArgs, KeyInBothPlaces) {
  const std::string conflict = "bad number of arguments (found conflicting environment key)";
  EXPECT_EQ(CommandLine({"foo"}, {"foo"}, "foo").status().message(), conflict);
  EXPECT_EQ(CommandLine({"foo", "--", "echo", "1"}, {"foo", "echo", "1"}, "foo").status().message(),
            conflict);
  // Flags before the separator are not a key.
  EXPECT_TRUE(CommandLine({"--rev", "1", "--", "echo", "1"}, {"echo", "1"}, "foo").ok());
}

cli::ExitOr<WatchArgs> Line(const Args& words, WatchFlags* flags, const std::string& key = "") {
  return ParseWatchArgs({}, words, key, "", true, flags);
}

TEST(ParseWatchArgs, InteractiveLineFlags) {
  WatchFlags flags;
  auto a = Line({"watch", "--rev", "5", "foo", "--prefix", "--prev-kv"}, &flags);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->watch, Args{"foo"});
  EXPECT_EQ(flags.rev, "5");
  EXPECT_TRUE(flags.prefix);
  EXPECT_TRUE(flags.prev_kv);
  // The next line starts from the defaults.
  a = Line({"watch", "bar", "--", "echo", "x"}, &flags);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->watch, Args{"bar"});
  EXPECT_EQ(a->exec, (Args{"echo", "x"}));
  EXPECT_EQ(flags.rev, "0");
  EXPECT_FALSE(flags.prefix);
}

TEST(ParseWatchArgs, InteractiveLineErrors) {
  WatchFlags flags;
  EXPECT_EQ(Line({"get", "foo"}, &flags).status().message(),
            "args[0] must be 'watch' for interactive calls");
  EXPECT_EQ(Line({"watch", "foo", "--"}, &flags).status().message(),
            "bad number of arguments (found separator --, but no commands)");
  EXPECT_EQ(Line({"watch", "--prefix"}, &flags).status().message(), "bad number of arguments");
  EXPECT_EQ(Line({"watch", "foo"}, &flags, "env").status().message(),
            "bad number of arguments (found conflicting environment key)");
  auto bogus = Line({"watch", "--bogus", "foo"}, &flags);
  EXPECT_EQ(bogus.status().exit_code(), 128);
  EXPECT_EQ(bogus.status().message(), "unknown flag: --bogus");
  EXPECT_EQ(Line({"watch", "--rev", "x", "foo"}, &flags).status().message(),
            "invalid argument \"x\" for \"--rev\" flag: strconv.ParseInt: parsing \"x\": invalid "
            "syntax");
}

TEST(BuildWatchRequest, Flags) {
  WatchFlags flags;
  flags.rev = "0x10";
  flags.prev_kv = true;
  auto r = BuildWatchRequest(flags, {"a", "c"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->key(), "a");
  EXPECT_EQ(r->range_end(), "c");
  EXPECT_EQ(r->start_revision(), 16);
  EXPECT_TRUE(r->prev_kv());

  flags.prefix = true;
  r = BuildWatchRequest(flags, {"foo"});
  EXPECT_EQ(r->range_end(), "fop");
  r = BuildWatchRequest(flags, {""});
  EXPECT_EQ(r->key(), std::string(1, '\0'));
  EXPECT_EQ(r->range_end(), std::string(1, '\0'));
}

TEST(BuildWatchRequest, Errors) {
  WatchFlags flags;
  EXPECT_EQ(BuildWatchRequest(flags, {}).status().message(), "bad number of arguments");
  flags.prefix = true;
  auto both = BuildWatchRequest(flags, {"a", "b"});
  EXPECT_EQ(both.status().exit_code(), 128);
  EXPECT_EQ(both.status().message(), "`range_end` and `--prefix` are mutually exclusive");
}

}  // namespace
}  // namespace etcdd::kvctl
