#include "cli/command_spec.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace etcdd::cli {

namespace {

bool HintApplies(const FlagHint& hint, const std::string& path, const std::string& flag) {
  return hint.flag == flag && (hint.command.empty() || hint.command == path);
}

FlagSpec DescribeOption(const CLI::Option& opt, const std::string& path,
                        const DescribeOptions& options) {
  FlagSpec f;
  if (!opt.get_lnames().empty()) f.long_name = opt.get_lnames().front();
  if (!opt.get_snames().empty()) f.short_name = opt.get_snames().front();
  f.help = opt.get_description();
  f.takes_value = opt.get_expected_min() > 0;
  f.accepts_value = opt.get_expected_max() > 0;
  f.hidden = opt.get_group().empty();
  if (!opt.get_envname().empty()) f.env.push_back(opt.get_envname());
  for (const FlagHint& hint : options.hints) {
    if (!HintApplies(hint, path, f.long_name)) continue;
    f.values = hint.values;
    f.value_kind = hint.kind;
  }
  if (options.env) {
    for (auto& name : options.env(path, f)) f.env.push_back(std::move(name));
  }
  return f;
}

CommandSpec Describe(const CLI::App& app, const std::string& path, const DescribeOptions& options) {
  CommandSpec spec;
  spec.name = app.get_name();
  spec.description = app.get_description();
  spec.hidden = app.get_group().empty();
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->nonpositional()) {
      spec.flags.push_back(DescribeOption(*opt, path, options));
    } else {
      spec.takes_args = true;
      spec.usage = opt->get_description();
    }
  }
  for (const FlagHint& hint : options.hints) {
    if (!HintApplies(hint, path, "")) continue;
    spec.arg_values = hint.values;
    spec.arg_kind = hint.kind;
  }
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    const std::string sub_path = path.empty() ? sub->get_name() : path + " " + sub->get_name();
    spec.subcommands.push_back(Describe(*sub, sub_path, options));
  }
  return spec;
}

nlohmann::json FlagToJson(const FlagSpec& f) {
  return {{"long", f.long_name}, {"short", f.short_name},
          {"help", f.help},      {"takes_value", f.takes_value},
          {"hidden", f.hidden},  {"values", f.values},
          {"env", f.env}};
}

nlohmann::json CommandToJson(const CommandSpec& c) {
  nlohmann::json flags = nlohmann::json::array();
  for (const FlagSpec& f : c.flags) flags.push_back(FlagToJson(f));
  nlohmann::json subs = nlohmann::json::array();
  for (const CommandSpec& s : c.subcommands) subs.push_back(CommandToJson(s));
  return {{"name", c.name},     {"description", c.description}, {"usage", c.usage},
          {"hidden", c.hidden}, {"takes_args", c.takes_args},   {"flags", flags},
          {"subcommands", subs}};
}

}  // namespace

CommandSpec DescribeApp(const CLI::App& app, const DescribeOptions& options) {
  return Describe(app, "", options);
}

bool IsExactMatchCommand(const std::string& name) { return name == "completion"; }

std::vector<const FlagSpec*> FlagsInScope(const std::vector<const CommandSpec*>& path) {
  std::vector<const FlagSpec*> flags;
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    for (const FlagSpec& f : (*it)->flags) flags.push_back(&f);
  }
  return flags;
}

std::string ProgramSpecToJson(const ProgramSpec& spec) {
  nlohmann::json j = CommandToJson(spec.root);
  j["single_dash_long_flags"] = spec.single_dash_long_flags;
  j["command_prefixes"] = spec.command_prefixes;
  return j.dump(2) + "\n";
}

CLI::App* SelectedCommand(CLI::App* app) {
  for (CLI::App* sub : app->get_subcommands()) return SelectedCommand(sub);
  return app;
}

}  // namespace etcdd::cli
