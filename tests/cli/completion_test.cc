// cli::DescribeApp and cli::Complete on a small cobra-like command tree:
// what a shell gets for each position on the command line.
#include "cli/completion.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <sstream>

namespace etcdd::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A miniature kvctl: a global -w/--write-out and --cacert, "get" with
// --order and positional keys, a "member" group with "add"/"list", a
// hidden command and a hidden flag, and "completion".
class CompletionTest : public ::testing::Test {
 protected:
  CompletionTest() : app_("test tool", "tool") {
    app_.fallthrough();
    app_.add_option("-w,--write-out", text_, "set the output format");
    app_.add_option("--cacert", text_, "CA bundle");
    app_.add_flag("--hex", flag_, "print hex");
    app_.add_option("--secret", text_)->group("");
    auto* get = app_.add_subcommand("get", "Gets keys");
    get->add_option("--order", text_, "Order of results");
    get->add_flag("--prefix", flag_, "Get keys with matching prefix");
    get->add_option("args", args_, "<key> [range_end]");
    auto* member = app_.add_subcommand("member", "Membership related commands");
    member->add_subcommand("add", "Adds a member")->add_option("--peer-urls", text_, "peer URLs");
    member->add_subcommand("list", "Lists all members");
    app_.add_subcommand("metrics", "Prints metrics");
    app_.add_subcommand("hidden", "Not for users")->group("");
    AddCompletionCommand(&app_, &text_);
    DescribeOptions options;
    options.hints = {{"", "write-out", {"fields", "json", "simple", "table"}, ValueKind::kNone},
                     {"", "cacert", {}, ValueKind::kFile},
                     {"get", "order", {"ASCEND", "DESCEND"}, ValueKind::kNone},
                     CompletionCommandHint()};
    options.env = [](const std::string& path, const FlagSpec& f) {
      return path.empty() ? std::vector<std::string>{"TOOL_" + f.long_name}
                          : std::vector<std::string>{};
    };
    spec_.root = DescribeApp(app_, options);
    spec_.command_prefixes = true;
  }

  std::vector<std::string> Values(const std::vector<std::string>& words, int* directive = nullptr) {
    Completion c = Complete(spec_, words);
    if (directive != nullptr) *directive = c.directive;
    std::vector<std::string> out;
    for (const auto& cand : c.candidates) out.push_back(cand.value);
    return out;
  }

  CLI::App app_;
  std::string text_;
  bool flag_ = false;
  std::vector<std::string> args_;
  ProgramSpec spec_;
};

TEST_F(CompletionTest, DescribeReadsCommandsFlagsAndHints) {
  const CommandSpec& root = spec_.root;
  EXPECT_EQ(root.name, "tool");
  ASSERT_EQ(root.subcommands.size(), 5u);
  EXPECT_EQ(root.subcommands[0].name, "get");
  EXPECT_TRUE(root.subcommands[0].takes_args);
  EXPECT_EQ(root.subcommands[0].usage, "<key> [range_end]");
  EXPECT_TRUE(root.subcommands[3].hidden);
  const FlagSpec* w = nullptr;
  for (const auto& f : root.flags) {
    if (f.long_name == "write-out") w = &f;
  }
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->short_name, "w");
  EXPECT_TRUE(w->takes_value);
  EXPECT_THAT(w->env, ElementsAre("TOOL_write-out"));
  EXPECT_THAT(w->values, ElementsAre("fields", "json", "simple", "table"));
}

TEST_F(CompletionTest, CommandNamesByPrefixWithoutHiddenOnes) {
  EXPECT_THAT(Values({"me"}), ElementsAre("member", "metrics"));
  EXPECT_THAT(Values({"mem"}), ElementsAre("member"));
  EXPECT_THAT(Values({""}), ElementsAre("get", "member", "metrics", "completion"));
  EXPECT_THAT(Values({"member", ""}), ElementsAre("add", "list"));
}

TEST_F(CompletionTest, UniquePrefixSelectsCommandButNotExactMatchOnes) {
  EXPECT_THAT(Values({"mem", "l"}), ElementsAre("list"));
  EXPECT_THAT(Values({"comp", ""}), IsEmpty());
  EXPECT_THAT(Values({"completion", ""}), ElementsAre("bash", "fish", "zsh"));
}

TEST_F(CompletionTest, FlagValuesAfterTheFlagOrItsEqualsSign) {
  int directive = -1;
  EXPECT_THAT(Values({"get", "-w", ""}, &directive),
              ElementsAre("fields", "json", "simple", "table"));
  EXPECT_EQ(directive, kDirectiveNoFileComp);
  EXPECT_THAT(Values({"get", "--write-out", "j"}), ElementsAre("json"));
  EXPECT_THAT(Values({"get", "--write-out=t"}), ElementsAre("--write-out=table"));
  EXPECT_THAT(Values({"get", "--order", ""}), ElementsAre("ASCEND", "DESCEND"));
  EXPECT_THAT(Values({"--cacert", ""}, &directive), IsEmpty());
  EXPECT_EQ(directive, kDirectiveDefault);  // file names
}

TEST_F(CompletionTest, FlagsInScopeIncludeAncestorsButNotHiddenOnes) {
  EXPECT_THAT(Values({"get", "--p"}), ElementsAre("--prefix"));
  EXPECT_THAT(Values({"get", "--w"}), ElementsAre("--write-out"));
  EXPECT_THAT(Values({"member", "add", "--pe"}), ElementsAre("--peer-urls"));
  EXPECT_THAT(Values({"--s"}), IsEmpty());
  EXPECT_THAT(Values({"-"}), ::testing::Contains("-w"));
}

TEST_F(CompletionTest, AValueTakingFlagConsumesTheNextWord) {
  // "member" is the value of -w here, not a command.
  EXPECT_THAT(Values({"-w", "member", "g"}), ElementsAre("get"));
  EXPECT_THAT(Values({"--hex", "member", ""}), ElementsAre("add", "list"));
}

TEST_F(CompletionTest, PositionalArgumentsOfferNothing) {
  int directive = -1;
  EXPECT_THAT(Values({"get", "foo", ""}, &directive), IsEmpty());
  EXPECT_EQ(directive, kDirectiveNoFileComp);
}

TEST(CompletionFlagsOnly, GoStyleSingleDashFlags) {
  CLI::App app("daemon", "daemon");
  std::string v;
  app.add_option("--initial-cluster-state", v, "new or existing");
  app.add_option("--name", v, "member name");
  ProgramSpec spec;
  spec.root = DescribeApp(app, {{{"", "initial-cluster-state", {"new", "existing"}}}, nullptr});
  spec.single_dash_long_flags = true;
  auto values = [&](const std::vector<std::string>& words) {
    std::vector<std::string> out;
    for (const auto& c : Complete(spec, words).candidates) out.push_back(c.value);
    return out;
  };
  EXPECT_THAT(values({"-initial-cluster-state", ""}), ElementsAre("new", "existing"));
  EXPECT_THAT(values({"--initial-cluster-state", "e"}), ElementsAre("existing"));
  EXPECT_THAT(values({"-na"}), ElementsAre("-name"));
  EXPECT_THAT(values({""}), ElementsAre("--help", "--initial-cluster-state", "--name"));
}

TEST(CompletionOutput, CobraFormat) {
  std::ostringstream out;
  WriteCompletion({{{"json", ""}, {"--hex", "print hex\nmore"}}, kDirectiveNoFileComp}, out);
  EXPECT_EQ(out.str(), "json\n--hex\tprint hex\n:4\n");
}

TEST(CompletionShell, ParseShellNamesTheBadOne) {
  EXPECT_TRUE(ParseShell("zsh").ok());
  auto bad = ParseShell("tcsh");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "unsupported shell type \"tcsh\"");
}

TEST(CompletionShell, ScriptsNameTheProgram) {
  EXPECT_NE(CompletionScript(Shell::kBash, "kv-ctl")
                .find("complete -o nosort -F __kv_ctl_complete kv-ctl"),
            std::string::npos);
  EXPECT_NE(CompletionScript(Shell::kZsh, "kvctl").find("#compdef kvctl"), std::string::npos);
  EXPECT_NE(CompletionScript(Shell::kFish, "kvctl").find("complete -c kvctl -f"),
            std::string::npos);
}

}  // namespace
}  // namespace etcdd::cli
