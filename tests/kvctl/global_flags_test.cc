// Global flags and KVCTL_*/ETCDCTL_* environment variables resolve as
// etcdctl's flags.SetPflagsFromEnv resolves them (lib/cli/global_flags.h).
#include "cli/global_flags.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

namespace etcdd::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Parsed {
  ExitOr<GlobalOptions> options;
  std::vector<std::string> warnings;
};

Parsed Resolve(std::vector<std::string> args, const Environment& env) {
  GlobalFlags flags;
  CLI::App app;
  flags.Register(&app);
  std::reverse(args.begin(), args.end());
  app.parse(args);
  std::vector<std::string> warnings;
  auto options = flags.Resolve(env, &warnings);
  return {std::move(options), warnings};
}

TEST(GlobalFlags, EtcdctlDefaults) {
  auto p = Resolve({}, {});
  ASSERT_TRUE(p.options.ok());
  const GlobalOptions& o = p.options.value();
  EXPECT_EQ(o.endpoints, std::vector<std::string>{"127.0.0.1:2379"});
  EXPECT_EQ(o.dial_timeout, seconds(2));
  EXPECT_EQ(o.command_timeout, seconds(5));
  EXPECT_EQ(o.write_out, "simple");
  EXPECT_FALSE(o.hex);
  EXPECT_TRUE(o.insecure_transport);
  EXPECT_FALSE(o.WantsTls());
}

TEST(GlobalFlags, CommandLine) {
  auto p = Resolve({"--endpoints", "a:1, b:2", "--endpoints=c:3", "-w", "json", "--hex",
                    "--dial-timeout", "300ms", "--insecure-transport=false"},
                   {});
  ASSERT_TRUE(p.options.ok());
  const GlobalOptions& o = p.options.value();
  EXPECT_EQ(o.endpoints, (std::vector<std::string>{"a:1", "b:2", "c:3"}));
  EXPECT_EQ(o.write_out, "json");
  EXPECT_TRUE(o.hex);
  EXPECT_EQ(o.dial_timeout, milliseconds(300));
  EXPECT_TRUE(o.WantsTls());
}

TEST(GlobalFlags, EnvironmentFillsUnsetFlagsAndKvctlWins) {
  auto p = Resolve({}, {{"ETCDCTL_ENDPOINTS", "e:1,e:2"},
                        {"ETCDCTL_WRITE_OUT", "fields"},
                        {"KVCTL_WRITE_OUT", "json"},
                        {"ETCDCTL_HEX", "true"},
                        {"ETCDCTL_COMMAND_TIMEOUT", "1m"},
                        {"ETCDCTL_API", "3"}});
  ASSERT_TRUE(p.options.ok());
  EXPECT_EQ(p.options->endpoints, (std::vector<std::string>{"e:1", "e:2"}));
  EXPECT_EQ(p.options->write_out, "json");
  EXPECT_TRUE(p.options->hex);
  EXPECT_EQ(p.options->command_timeout, seconds(60));
  EXPECT_TRUE(p.warnings.empty());
}

TEST(GlobalFlags, UnparsableEnvironmentValuesAreIgnored) {
  auto p = Resolve({}, {{"ETCDCTL_DIAL_TIMEOUT", "soon"}, {"KVCTL_HEX", "maybe"}});
  ASSERT_TRUE(p.options.ok());
  EXPECT_EQ(p.options->dial_timeout, seconds(2));
  EXPECT_FALSE(p.options->hex);
}

TEST(GlobalFlags, EnvironmentShadowedByFlagIsAnError) {
  auto p = Resolve({"--endpoints", "x:1"}, {{"ETCDCTL_ENDPOINTS", "y:1"}});
  EXPECT_EQ(p.options.status().code(), ExitCode::kError);
  EXPECT_EQ(p.options.status().message(),
            "conflicting environment variable \"ETCDCTL_ENDPOINTS\" is shadowed by "
            "corresponding command-line flag (either unset environment variable or disable "
            "flag)");
}

TEST(GlobalFlags, UnrecognizedVariablesWarn) {
  auto p = Resolve({}, {{"ETCDCTL_PREFIX", "1"}, {"KVCTL_FOO", "x"}, {"HOME", "/"}});
  ASSERT_TRUE(p.options.ok());
  EXPECT_EQ(p.warnings, (std::vector<std::string>{"unrecognized environment variable "
                                                  "ETCDCTL_PREFIX=1",
                                                  "unrecognized environment variable "
                                                  "KVCTL_FOO=x"}));
}

TEST(GlobalFlags, BadValues) {
  auto p = Resolve({"--command-timeout", "abc"}, {});
  EXPECT_EQ(p.options.status().message(),
            "invalid argument \"abc\" for \"--command-timeout\" flag: time: invalid duration "
            "\"abc\"");
  p = Resolve({"--cert", ""}, {});
  EXPECT_EQ(p.options.status().code(), ExitCode::kBadArgs);
  EXPECT_EQ(p.options.status().message(), "empty string is passed to --cert option");
}

TEST(SplitUser, AsEtcdctlAuthCfg) {
  auto c = SplitUser("root:pw:x", "");
  EXPECT_EQ(c.name, "root");
  EXPECT_EQ(c.password, "pw:x");
  EXPECT_FALSE(c.needs_prompt);
  c = SplitUser("root:pw", "other");
  EXPECT_EQ(c.name, "root:pw");
  EXPECT_EQ(c.password, "other");
  EXPECT_TRUE(SplitUser("root", "").needs_prompt);
  EXPECT_FALSE(SplitUser("", "").needs_prompt);
}

TEST(UnknownArgumentsError, PflagWording) {
  EXPECT_EQ(UnknownArgumentsError({"--bogus=1"}, "kvctl").message(), "unknown flag: --bogus");
  EXPECT_EQ(UnknownArgumentsError({"-x"}, "kvctl").message(), "unknown shorthand flag: 'x' in -x");
  EXPECT_EQ(UnknownArgumentsError({"bogus"}, "kvctl").message(),
            "unknown command \"bogus\" for \"kvctl\"");
}

TEST(ParseErrorToExit, PflagWording) {
  EXPECT_EQ(ParseErrorToExit("ArgumentMismatch", "--limit: 1 required TEXT missing").message(),
            "flag needs an argument: --limit");
  ExitStatus bad_bool = ParseErrorToExit("ConversionError", "Could not convert: --learner = maybe");
  EXPECT_EQ(bad_bool.exit_code(), 1);
  EXPECT_EQ(bad_bool.message(),
            "invalid argument \"maybe\" for \"--learner\" flag: strconv.ParseBool: parsing "
            "\"maybe\": invalid syntax");
}

}  // namespace
}  // namespace etcdd::cli
