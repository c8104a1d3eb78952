#include "cli/global_flags.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <ostream>
#include <set>

#include "cli/go_format.h"

namespace etcdd::cli {

namespace {

enum class Kind { kString, kBool, kDuration, kList };

std::string Trim(const std::string& s) {
  const char* ws = " \t\n\v\f\r";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ',') {
      out.push_back(Trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  return out;
}

// etcd's flags.FlagToEnv: "dial-timeout" -> "<PREFIX>_DIAL_TIMEOUT".
std::string EnvName(const std::string& prefix, const std::string& flag) {
  std::string out = prefix + "_";
  for (char c : flag) {
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

constexpr const char* kPrefixes[] = {"KVCTL", "ETCDCTL"};

}  // namespace

struct GlobalFlags::Flag {
  std::string name;
  std::string shorthand;
  Kind kind;
  std::string default_value;
  std::string help;
  std::string text;               // CLI11 target for string and duration flags
  std::vector<std::string> list;  // CLI11 target for list flags
  bool boolean = false;           // CLI11 target for bool flags
  CLI::Option* option = nullptr;

  bool changed() const { return option != nullptr && option->count() > 0; }
  // "--name" or "-s, --name", as pflag names a flag in errors.
  std::string display_name() const {
    return shorthand.empty() ? "--" + name : "-" + shorthand + ", --" + name;
  }
  std::string CommandLineValue() const {
    if (kind == Kind::kBool) return boolean ? "true" : "false";
    if (kind != Kind::kList) return text;
    std::string joined;
    for (size_t i = 0; i < list.size(); ++i) joined += (i > 0 ? "," : "") + list[i];
    return joined;
  }
  // Whether an environment value parses for this flag's type.
  bool Accepts(const std::string& v) const {
    if (kind == Kind::kBool) return ParseGoBool(v).ok();
    if (kind == Kind::kDuration) return ParseGoDuration(v).ok();
    return true;
  }
};

Environment EnvironmentFrom(char** envp) {
  Environment env;
  for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq == nullptr) continue;
    env.emplace(std::string(*e, static_cast<size_t>(eq - *e)), std::string(eq + 1));
  }
  return env;
}

bool GlobalOptions::WantsTls() const {
  return !cert.empty() || !key.empty() || !cacert.empty() || !insecure_transport;
}

GlobalFlags::GlobalFlags() {
  auto add = [this](std::string name, std::string shorthand, Kind kind, std::string def,
                    std::string help) {
    auto f = std::make_unique<Flag>();
    f->name = std::move(name);
    f->shorthand = std::move(shorthand);
    f->kind = kind;
    f->default_value = std::move(def);
    f->help = std::move(help);
    flags_.push_back(std::move(f));
  };
  add("endpoints", "", Kind::kList, "127.0.0.1:2379", "gRPC endpoints");
  add("debug", "", Kind::kBool, "false", "enable client-side debug logging (no effect)");
  add("write-out", "w", Kind::kString, "simple",
      "set the output format (fields, json, protobuf, simple, table)");
  add("hex", "", Kind::kBool, "false", "print byte strings as hex encoded strings");
  add("dial-timeout", "", Kind::kDuration, "2s", "dial timeout for client connections");
  add("command-timeout", "", Kind::kDuration, "5s",
      "timeout for short running command (excluding dial timeout)");
  add("keepalive-time", "", Kind::kDuration, "2s", "keepalive time for client connections");
  add("keepalive-timeout", "", Kind::kDuration, "6s", "keepalive timeout for client connections");
  add("insecure-transport", "", Kind::kBool, "true",
      "disable transport security for client connections");
  add("insecure-discovery", "", Kind::kBool, "true",
      "accept insecure SRV records describing cluster endpoints");
  add("insecure-skip-tls-verify", "", Kind::kBool, "false",
      "skip server certificate verification (CAUTION: for testing only)");
  add("cert", "", Kind::kString, "", "identify secure client using this TLS certificate file");
  add("key", "", Kind::kString, "", "identify secure client using this TLS key file");
  add("cacert", "", Kind::kString, "",
      "verify certificates of TLS-enabled secure servers using this CA bundle");
  add("user", "", Kind::kString, "",
      "username[:password] for authentication (prompt if password is not supplied)");
  add("password", "", Kind::kString, "",
      "password for authentication (if this option is used, --user option shouldn't include "
      "password)");
  add("discovery-srv", "d", Kind::kString, "",
      "domain name to query for SRV records describing cluster endpoints");
  add("discovery-srv-name", "", Kind::kString, "",
      "service name to query when using DNS discovery");
}

GlobalFlags::~GlobalFlags() = default;

void GlobalFlags::Register(CLI::App* app) {
  for (auto& f : flags_) {
    std::string names = (f->shorthand.empty() ? "" : "-" + f->shorthand + ",") + "--" + f->name;
    std::string help = f->help;
    if (!f->default_value.empty()) help += " (default " + f->default_value + ")";
    switch (f->kind) {
      case Kind::kBool:
        f->option = app->add_flag(names, f->boolean, help);
        break;
      case Kind::kList:
        // One value per occurrence, as pflag: "--endpoints a b" is not two.
        f->option = app->add_option(names, f->list, help)
                        ->delimiter(',')
                        ->allow_extra_args(false)
                        ->type_name("LIST");
        break;
      case Kind::kString:
      case Kind::kDuration:
        f->option = app->add_option(names, f->text, help);
        break;
    }
  }
}

ExitStatus GlobalFlags::ApplyEnvironment(const Environment& env,
                                         std::map<std::string, std::string>* values,
                                         std::vector<std::string>* used) const {
  for (const auto& f : flags_) {
    for (const char* prefix : kPrefixes) {
      std::string key = EnvName(prefix, f->name);
      auto it = env.find(key);
      if (it == env.end()) continue;
      used->push_back(key);
      if (f->changed()) {
        return ExitStatus::Error("conflicting environment variable \"" + key +
                                 "\" is shadowed by corresponding command-line flag (either "
                                 "unset environment variable or disable flag)");
      }
    }
    if (f->changed()) continue;
    for (const char* prefix : kPrefixes) {
      auto it = env.find(EnvName(prefix, f->name));
      if (it == env.end() || it->second.empty()) continue;
      // etcdctl ignores an environment value that does not parse.
      if (f->Accepts(it->second)) (*values)[f->name] = it->second;
      break;
    }
  }
  return ExitStatus::Ok();
}

ExitOr<GlobalOptions> GlobalFlags::Resolve(const Environment& env,
                                           std::vector<std::string>* warnings) const {
  std::map<std::string, std::string> values;
  for (const auto& f : flags_) {
    values[f->name] = f->changed() ? f->CommandLineValue() : f->default_value;
  }
  std::vector<std::string> used;
  RETURN_IF_EXIT(ApplyEnvironment(env, &values, &used));
  for (const auto& name : command_env_) {
    for (const char* prefix : kPrefixes) {
      auto it = env.find(EnvName(prefix, name));
      if (it != env.end() && !it->second.empty()) used.push_back(it->first);
    }
  }
  for (const auto& [key, value] : env) {
    bool ours = key.rfind("KVCTL_", 0) == 0 || key.rfind("ETCDCTL_", 0) == 0;
    if (!ours || key == "KVCTL_API" || key == "ETCDCTL_API") continue;
    if (std::find(used.begin(), used.end(), key) != used.end()) continue;
    warnings->push_back("unrecognized environment variable " + key + "=" + value);
  }

  GlobalOptions o;
  for (const auto& f : flags_) {
    const std::string& v = values[f->name];
    if (f->kind == Kind::kDuration) {
      auto d = ParseGoDuration(v);
      if (!d.ok()) {
        return ExitStatus::Error("invalid argument " + GoQuote(v) + " for " +
                                 GoQuote(f->display_name()) + " flag: " + d.status().message());
      }
    }
    if ((f->name == "cert" || f->name == "key" || f->name == "cacert") && f->changed() &&
        v.empty()) {
      return ExitStatus::BadArgs("empty string is passed to --" + f->name + " option");
    }
  }
  auto dur = [&](const char* n) { return ParseGoDuration(values[n]).value(); };
  auto flag = [&](const char* n) {
    auto b = ParseGoBool(values[n]);
    return b.ok() && b.value();
  };
  o.endpoints = SplitList(values["endpoints"]);
  o.debug = flag("debug");
  o.write_out = values["write-out"];
  o.hex = flag("hex");
  o.dial_timeout = dur("dial-timeout");
  o.command_timeout = dur("command-timeout");
  o.keepalive_time = dur("keepalive-time");
  o.keepalive_timeout = dur("keepalive-timeout");
  o.insecure_transport = flag("insecure-transport");
  o.insecure_discovery = flag("insecure-discovery");
  o.insecure_skip_tls_verify = flag("insecure-skip-tls-verify");
  o.cert = values["cert"];
  o.key = values["key"];
  o.cacert = values["cacert"];
  o.user = values["user"];
  o.password = values["password"];
  o.discovery_srv = values["discovery-srv"];
  o.discovery_srv_name = values["discovery-srv-name"];
  return o;
}

UserCredentials SplitUser(const std::string& user, const std::string& password) {
  if (!password.empty()) return {user, password, false};
  size_t colon = user.find(':');
  if (colon == std::string::npos) return {user, "", !user.empty()};
  return {user.substr(0, colon), user.substr(colon + 1), false};
}

ExitStatus UnknownArgumentsError(const std::vector<std::string>& args, const std::string& program) {
  if (args.empty()) return ExitStatus::Error("unknown error parsing the command line");
  const std::string& a = args.front();
  if (a.rfind("--", 0) == 0) {
    return ExitStatus::Error("unknown flag: " + a.substr(0, a.find('=')));
  }
  if (a.size() > 1 && a[0] == '-') {
    return ExitStatus::Error("unknown shorthand flag: '" + a.substr(1, 1) + "' in " + a);
  }
  return ExitStatus::Error("unknown command " + GoQuote(a) + " for " + GoQuote(program));
}

ExitStatus ParseErrorToExit(const std::string& cli11_error_name, const std::string& what) {
  if (cli11_error_name == "ArgumentMismatch") {
    // CLI11: "--limit: 1 required TEXT missing".
    return ExitStatus::Error("flag needs an argument: " + what.substr(0, what.find(':')));
  }
  // CLI11: "Could not convert: --learner = maybe", for a boolean flag given a
  // value (the other flags are kept as text and parsed by the commands).
  const std::string convert = "Could not convert: ";
  const size_t eq = what.find(" = ");
  if (cli11_error_name == "ConversionError" && what.rfind(convert, 0) == 0 &&
      eq != std::string::npos) {
    const std::string flag = what.substr(convert.size(), eq - convert.size());
    const std::string value = what.substr(eq + 3);
    auto parsed = ParseGoBool(value);
    if (!parsed.ok()) {
      return ExitStatus::Error("invalid argument " + GoQuote(value) + " for \"" + flag +
                               "\" flag: " + parsed.status().message());
    }
  }
  return ExitStatus::Error(what);
}

void PrintFlagWarnings(const std::vector<std::string>& warnings, std::ostream& err) {
  for (const auto& w : warnings) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
        1000000;
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[64];
    const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%06lld W | ", static_cast<long long>(micros));
    err << buf << "pkg/flags: " << w << "\n";
  }
}

}  // namespace etcdd::cli
