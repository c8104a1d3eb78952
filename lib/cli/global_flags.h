// etcdctl's global flags and environment variables, for every client tool.
//
// The flags are etcdctl 3.4's persistent flags (etcdctl/ctlv3/ctl.go) with
// the same names, shorthands, defaults and value syntax (Go durations such as
// "2s" or "500ms", comma-separated endpoint lists, Go booleans). A flag not
// given on the command line is taken from the environment, as etcdctl's
// flags.SetPflagsFromEnv does: `--dial-timeout` from KVCTL_DIAL_TIMEOUT, or
// else from ETCDCTL_DIAL_TIMEOUT, so environments written for etcdctl keep
// working and KVCTL_* wins where both are set. As in etcdctl:
//   - an environment variable for a flag that is also given on the command
//     line is an error ("conflicting environment variable ... is shadowed");
//   - an environment value that does not parse is ignored;
//   - other KVCTL_* / ETCDCTL_* variables draw an "unrecognized environment
//     variable" warning (KVCTL_API and ETCDCTL_API excepted).
//
// Usage:
//   GlobalFlags flags;
//   flags.Register(&app);           // before app.parse()
//   ... app.parse(argc, argv) ...
//   auto opts = flags.Resolve(EnvironmentFrom(environ), &warnings);
//
// Thread-safety: none. GlobalFlags must outlive the CLI::App it registered
// on (CLI11 writes into it during parsing) and is not copyable.
#pragma once

#include <chrono>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/exit_status.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace etcdd::cli {

// The environment as name -> value (values may be empty).
using Environment = std::map<std::string, std::string>;

// Builds an Environment from a NULL-terminated "NAME=value" array (environ).
Environment EnvironmentFrom(char** envp);

// The resolved global options, etcdctl's defaults.
struct GlobalOptions {
  std::vector<std::string> endpoints = {"127.0.0.1:2379"};
  std::chrono::nanoseconds dial_timeout = std::chrono::seconds(2);
  std::chrono::nanoseconds command_timeout = std::chrono::seconds(5);
  std::chrono::nanoseconds keepalive_time = std::chrono::seconds(2);
  std::chrono::nanoseconds keepalive_timeout = std::chrono::seconds(6);
  std::string write_out = "simple";  // -w: simple, json, fields, protobuf, table
  bool hex = false;
  bool debug = false;  // accepted, no effect
  // --user as given: "name" or "name:password"; see SplitUser.
  std::string user;
  std::string password;
  std::string cacert, cert, key;
  bool insecure_transport = true;
  bool insecure_skip_tls_verify = false;
  bool insecure_discovery = true;
  std::string discovery_srv, discovery_srv_name;

  // True when the options ask for TLS (a certificate, key or CA file, or
  // --insecure-transport=false), as etcdctl's newClientCfg decides.
  bool WantsTls() const;
};

class GlobalFlags {
 public:
  GlobalFlags();
  ~GlobalFlags();
  GlobalFlags(const GlobalFlags&) = delete;
  GlobalFlags& operator=(const GlobalFlags&) = delete;

  // Adds the global flags to `app`; subcommands created with fallthrough
  // accept them anywhere on the command line, as cobra's persistent flags.
  void Register(CLI::App* app);

  // Marks KVCTL_<NAME> / ETCDCTL_<NAME> (for `name` "watch-key",
  // KVCTL_WATCH_KEY) as a variable the command reads itself, so that a
  // non-empty one draws no "unrecognized environment variable" warning, as
  // etcdctl's watch silences it for ETCDCTL_WATCH_KEY and
  // ETCDCTL_WATCH_RANGE_END. Call before Resolve.
  void RecognizeEnvironment(const std::string& name) { command_env_.push_back(name); }

  // Combines what the command line set with the environment and parses the
  // values. Errors: kError for a conflicting environment variable or a value
  // that does not parse (`invalid argument "x" for "--dial-timeout" flag:
  // time: invalid duration "x"`), kBadArgs for an explicitly empty --cert,
  // --key or --cacert. Warnings for unrecognized variables are appended to
  // `warnings` (without a trailing newline).
  ExitOr<GlobalOptions> Resolve(const Environment& env, std::vector<std::string>* warnings) const;

 private:
  struct Flag;
  ExitStatus ApplyEnvironment(const Environment& env, std::map<std::string, std::string>* values,
                              std::vector<std::string>* used) const;
  std::vector<std::unique_ptr<Flag>> flags_;
  std::vector<std::string> command_env_;
};

// The user name and password from --user and --password, as etcdctl's
// authCfgFromCmd: with --password, --user is the name; otherwise "name:pw"
// splits at the first colon. `needs_prompt` is set when a name was given
// without any password (etcdctl then asks "Password: " on the terminal).
struct UserCredentials {
  std::string name;
  std::string password;
  bool needs_prompt = false;
};
UserCredentials SplitUser(const std::string& user, const std::string& password);

// The message and exit code for a command line that did not parse. `args` are
// the arguments CLI11 could not place (as App::remaining()); `program` names
// the tool. Follows cobra/pflag's wording: "unknown flag: --x", "unknown
// shorthand flag: 'x' in -x", `unknown command "x" for "kvctl"`. Exit 1.
ExitStatus UnknownArgumentsError(const std::vector<std::string>& args, const std::string& program);

// Translates a CLI11 parse error message into pflag's wording where one
// exists ("flag needs an argument: --limit", `invalid argument "x" for
// "--prefix" flag: strconv.ParseBool: parsing "x": invalid syntax`); exit 1.
ExitStatus ParseErrorToExit(const std::string& cli11_error_name, const std::string& what);

// Prints Resolve's warnings as etcdctl prints them: capnslog's prefix
// ("2026-11-21 07:22:57.330253 W | "), "pkg/flags: ", the warning, a newline.
void PrintFlagWarnings(const std::vector<std::string>& warnings, std::ostream& err);

}  // namespace etcdd::cli
