#include "flags.h"

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>

#include "auth/password.h"
#include "base/go_text.h"

namespace etcdd {

namespace {

// etcd flags that etcdd accepts so existing unit files keep working, but does
// not act on yet; each is named in a warning at start-up.
const char* const kAcceptedFlags[] = {
    "listen-metrics-urls",
    "enable-v2",
    "enable-pprof",
    "metrics",
    "cors",
    "debug",
    "pre-vote",
    "logger",
    "backend-batch-interval",
    "backend-batch-limit",
};

// Go's flag package takes "-name" like "--name"; CLI11 needs the latter.
// Every etcd flag name starts with a letter, so "-5m" or "-1" (a negative
// value after its flag) is left alone.
std::vector<std::string> NormalizeArgs(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 2 && a[0] == '-' && std::isalpha(static_cast<unsigned char>(a[1]))) {
      a = "-" + a;
    }
    // "--name=" sets an empty value in Go; CLI11 would take the next
    // argument instead, so the empty value is passed on its own.
    if (a.size() > 3 && a.compare(0, 2, "--") == 0 && a.back() == '=') {
      a.pop_back();
      args.push_back(std::move(a));
      args.emplace_back();
      continue;
    }
    args.push_back(std::move(a));
  }
  return args;
}

// True if every value under `node` is empty, null, false or 0.
bool IsUnset(const YAML::Node& node) {
  if (node.IsNull()) return true;
  if (node.IsScalar()) {
    auto v = node.as<std::string>();
    return v.empty() || v == "false" || v == "0";
  }
  for (const auto& item : node) {
    if (!IsUnset(node.IsMap() ? item.second : item)) return false;
  }
  return true;
}

// The flags a config file's TLS section `name` sets (etcd's securityConfig
// yaml keys; others are ignored, as etcd ignores them), with `prefix` ("" or
// "peer-") before each flag name. Errors: InvalidArgument if not a map.
Status ArgsFromSecuritySection(const YAML::Node& section, const std::string& name,
                               const std::string& prefix, const std::string& path,
                               std::vector<std::string>* args) {
  if (!section.IsMap()) {
    return Status::InvalidArgument("config file " + path + ": " + name + " is not a YAML map");
  }
  static const std::pair<const char*, const char*> kKeys[] = {
      {"cert-file", "cert-file"},
      {"key-file", "key-file"},
      {"client-cert-auth", "client-cert-auth"},
      {"trusted-ca-file", "trusted-ca-file"},
      {"auto-tls", "auto-tls"},
  };
  for (const auto& [key, flag] : kKeys) {
    const YAML::Node& v = section[key];
    if (!v || v.IsNull()) continue;
    args->push_back("--" + prefix + flag + "=" + v.as<std::string>());
  }
  return Status::Ok();
}

// Whether `v` is a YAML number: a plain (unquoted) scalar that reads as a
// decimal integer or float.
bool IsYamlNumber(const YAML::Node& v) {
  if (!v.IsScalar() || v.Tag() != "?") return false;
  const std::string& s = v.Scalar();
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '+' ||
                     s[0] == '.')) {
    return false;
  }
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end != nullptr && *end == '\0';
}

// etcd decodes its config file into Go strings for these fields, and refuses
// a YAML number there: a retention in hours must be quoted ('1').
bool IsEtcdStringField(const std::string& key) {
  return key == "auto-compaction-retention" || key == "auto-compaction-mode";
}

// etcd's --config-file is a YAML map whose keys are the flag names. Turns one
// into "--key=value" arguments (sequences joined with commas, as the flags
// take lists); the client-transport-security and peer-transport-security
// sections become the TLS flags (--cert-file, ..., --peer-auto-tls); other
// sections that set nothing are skipped. Errors: InvalidArgument for a
// document that is not a map, another section that sets something, or a
// YAML number for a field etcd reads as a string (etcd's JSON decoding
// error). Throws YAML::Exception for values of the wrong shape; ArgsFromConfigFile
// catches it.
Result<std::vector<std::string>> ArgsFromYaml(const YAML::Node& root, const std::string& path) {
  if (!root.IsMap()) return Status::InvalidArgument("config file " + path + " is not a YAML map");
  std::vector<std::string> args;
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (v.IsNull()) continue;
    if (key == "client-transport-security" || key == "peer-transport-security") {
      RETURN_IF_ERROR(ArgsFromSecuritySection(
          v, key, key == "peer-transport-security" ? "peer-" : "", path, &args));
      continue;
    }
    if (IsEtcdStringField(key) && IsYamlNumber(v)) {
      return Status::InvalidArgument(
          "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go "
          "struct field configYAML." +
          key + " of type string");
    }
    std::string value;
    if (v.IsScalar()) {
      value = v.as<std::string>();
    } else if (v.IsSequence()) {
      for (const auto& item : v) value += (value.empty() ? "" : ",") + item.as<std::string>();
    } else if (IsUnset(v)) {
      continue;  // an empty section configures nothing
    } else {
      return Status::InvalidArgument("config file " + path + ": field \"" + key +
                                     "\" is a section etcdd does not support yet");
    }
    if (key == "config-file") {
      return Status::InvalidArgument("config file " + path + " must not name another config file");
    }
    args.push_back("--" + key + "=" + value);
  }
  return args;
}

// Loads `path` and converts it with ArgsFromYaml. Errors: InvalidArgument for
// a file that cannot be read or parsed, or as ArgsFromYaml.
Result<std::vector<std::string>> ArgsFromConfigFile(const std::string& path) {
  try {
    return ArgsFromYaml(YAML::LoadFile(path), path);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("cannot load config file " + path + ": " + e.what());
  }
}

Status ApplyUrls(const std::string& flag, const std::string& value, std::vector<Url>* out) {
  auto urls = ParseUrls(value);
  if (!urls.ok()) return Status::InvalidArgument("--" + flag + ": " + urls.status().message());
  *out = std::move(*urls);
  return Status::Ok();
}

}  // namespace

// Flag values that need parsing after the command line is read.
struct RawValues {
  std::string data_dir;
  std::string listen_client = "http://localhost:2379";
  std::string advertise_client = "http://localhost:2379";
  std::string listen_peer = "http://localhost:2380";
  std::string advertise_peer = "http://localhost:2380";
  std::string initial_cluster;
  std::string log_outputs;
  std::string strict_reconfig_check = "true";
  std::string lease_checkpoint = "false";
  std::string lease_checkpoint_persist = "false";  // always on in etcdd
  std::string lease_checkpoint_interval = "5m0s";
  std::string watch_progress_notify_interval = "10m0s";
  std::string revision_compaction_interval = "5m0s";
  std::string client_cert_auth = "false";
  std::string auto_tls = "false";
  std::string peer_client_cert_auth = "false";
  std::string peer_auto_tls = "false";
  std::string cipher_suites;
};

// A Go duration flag's value, at least `min`.
Status ParseDurationFlag(const std::string& name, const std::string& raw,
                         std::chrono::milliseconds min, std::chrono::milliseconds* out) {
  auto d = ParseGoDuration(raw);
  if (!d.ok() || *d < min) {
    return Status::InvalidArgument("invalid value \"" + raw + "\" for -" + name);
  }
  *out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  return Status::Ok();
}

// A Go bool flag's value: the flag alone ("") means true.
Status ParseBoolFlag(const std::string& name, const std::string& raw, bool* out) {
  if (raw.empty() || raw == "true") {
    *out = true;
  } else if (raw == "false") {
    *out = false;
  } else {
    return Status::InvalidArgument("invalid boolean value \"" + raw + "\" for -" + name);
  }
  return Status::Ok();
}

// Turns the raw strings into URLs, the initial cluster and the log outputs,
// with etcd's defaults (data dir "${name}.etcd"; with no --initial-cluster,
// this member alone at its advertised peer URLs).
Status ApplyRawValues(RawValues raw, DaemonFlags* f) {
  auto& c = f->server;
  c.data_dir = raw.data_dir.empty() ? c.name + ".etcd" : raw.data_dir;
  RETURN_IF_ERROR(ApplyUrls("listen-client-urls", raw.listen_client, &c.listen_client_urls));
  RETURN_IF_ERROR(
      ApplyUrls("advertise-client-urls", raw.advertise_client, &c.advertise_client_urls));
  RETURN_IF_ERROR(ApplyUrls("listen-peer-urls", raw.listen_peer, &c.listen_peer_urls));
  RETURN_IF_ERROR(
      ApplyUrls("initial-advertise-peer-urls", raw.advertise_peer, &c.initial_advertise_peer_urls));
  if (raw.initial_cluster.empty()) {
    for (const auto& u : c.initial_advertise_peer_urls) {
      raw.initial_cluster += (raw.initial_cluster.empty() ? "" : ",") + c.name + "=" + u.ToString();
    }
  }
  auto ic = ParseInitialCluster(raw.initial_cluster);
  if (!ic.ok()) return Status::InvalidArgument("--initial-cluster: " + ic.status().message());
  c.initial_cluster = std::move(*ic);
  if (!raw.log_outputs.empty()) f->log_outputs = Split(raw.log_outputs, ',');
  RETURN_IF_ERROR(
      ParseBoolFlag("strict-reconfig-check", raw.strict_reconfig_check, &c.strict_reconfig_check));
  RETURN_IF_ERROR(ParseBoolFlag("experimental-enable-lease-checkpoint", raw.lease_checkpoint,
                                &c.lease_checkpoint));
  bool persist_ignored = false;  // etcdd always persists checkpoints
  RETURN_IF_ERROR(ParseBoolFlag("experimental-enable-lease-checkpoint-persist",
                                raw.lease_checkpoint_persist, &persist_ignored));
  RETURN_IF_ERROR(ParseDurationFlag("experimental-lease-checkpoint-interval",
                                    raw.lease_checkpoint_interval, std::chrono::milliseconds(1),
                                    &c.lease_checkpoint_interval));
  RETURN_IF_ERROR(ParseDurationFlag(
      "experimental-watch-progress-notify-interval", raw.watch_progress_notify_interval,
      std::chrono::milliseconds(1), &c.watch_progress_notify_interval));
  RETURN_IF_ERROR(ParseDurationFlag("experimental-revision-compaction-interval",
                                    raw.revision_compaction_interval, std::chrono::milliseconds(1),
                                    &c.revision_compaction_interval));
  RETURN_IF_ERROR(
      ParseBoolFlag("client-cert-auth", raw.client_cert_auth, &c.client_tls.client_cert_auth));
  RETURN_IF_ERROR(ParseBoolFlag("auto-tls", raw.auto_tls, &c.client_auto_tls));
  RETURN_IF_ERROR(ParseBoolFlag("peer-client-cert-auth", raw.peer_client_cert_auth,
                                &c.peer_tls.client_cert_auth));
  RETURN_IF_ERROR(ParseBoolFlag("peer-auto-tls", raw.peer_auto_tls, &c.peer_auto_tls));
  if (!raw.cipher_suites.empty()) c.cipher_suites = Split(raw.cipher_suites, ',');
  RETURN_IF_ERROR(auth::ValidateBcryptCost(c.bcrypt_cost));
  // etcd raises shorter intervals to its minimum, 100 ms.
  c.watch_progress_notify_interval =
      std::max(c.watch_progress_notify_interval, std::chrono::milliseconds(100));
  return Status::Ok();
}

std::string EnvName(const std::string& flag) {
  std::string env = "ETCD_" + flag;
  std::transform(env.begin(), env.end(), env.begin(),
                 [](char ch) { return ch == '-' ? '_' : static_cast<char>(std::toupper(ch)); });
  return env;
}

// Registers etcd's flags on `app`, bound to `f` and `raw`; `accepted` receives
// the values of kAcceptedFlags. With `from_config_file`, no ETCD_* variables.
void RegisterFlags(CLI::App& app, bool from_config_file, DaemonFlags& f, RawValues& raw,
                   std::vector<std::string>& accepted) {
  auto& c = f.server;
  auto opt = [&](const std::string& name, auto* var, const std::string& help) {
    auto* o = app.add_option("--" + name, *var, help);
    if (!from_config_file) o->envname(EnvName(name));
  };
  opt("name", &c.name, "Human-readable name for this member.");
  opt("data-dir", &raw.data_dir, "Path to the data directory (default \"${name}.etcd\").");
  opt("wal-dir", &c.wal_dir, "Path to the dedicated WAL directory.");
  opt("listen-client-urls", &raw.listen_client, "URLs to listen on for client traffic.");
  opt("advertise-client-urls", &raw.advertise_client, "Client URLs to advertise to the cluster.");
  opt("listen-peer-urls", &raw.listen_peer, "URLs to listen on for peer traffic.");
  opt("initial-advertise-peer-urls", &raw.advertise_peer, "Peer URLs to advertise to the cluster.");
  opt("initial-cluster", &raw.initial_cluster, "Initial cluster configuration for bootstrapping.");
  opt("initial-cluster-state", &c.initial_cluster_state, "Initial cluster state: new or existing.");
  opt("initial-cluster-token", &c.initial_cluster_token, "Initial cluster token.");
  opt("heartbeat-interval", &c.heartbeat_interval_ms, "Time (in milliseconds) of a heartbeat.");
  opt("election-timeout", &c.election_timeout_ms, "Time (in milliseconds) for an election.");
  opt("quota-backend-bytes", &c.quota_backend_bytes, "Raise alarms when backend exceeds it.");
  opt("max-request-bytes", &c.max_request_bytes, "Maximum client request size in bytes.");
  opt("max-txn-ops", &c.max_txn_ops, "Maximum number of operations in a transaction.");
  opt("snapshot-count", &c.snapshot_count,
      "Number of committed transactions to trigger a snapshot to disk.");
  opt("max-snapshots", &c.max_snapshots,
      "Maximum number of snapshot files to retain (0 is unlimited).");
  opt("max-wals", &c.max_wals, "Maximum number of wal files to retain (0 is unlimited).");
  opt("auto-compaction-retention", &c.auto_compaction_retention,
      "Auto compaction retention for mvcc key value store. 0 means disable auto compaction.");
  opt("auto-compaction-mode", &c.auto_compaction_mode,
      "interpret 'auto-compaction-retention' one of: periodic|revision. 'periodic' for duration "
      "based retention, defaulting to hours if no time unit is provided (e.g. '5m'). 'revision' "
      "for revision number based retention.");
  opt("experimental-revision-compaction-interval", &raw.revision_compaction_interval,
      "etcdd extension: time between two checks of revision auto-compaction (etcd: 5m0s).");
  opt("max-learners", &c.max_learners, "Maximum number of learners in the cluster.");
  opt("experimental-max-learners", &c.max_learners, "Alias of --max-learners (etcd 3.5).");
  auto bool_opt = [&](const std::string& name, std::string* var, const std::string& help) {
    app.add_option("--" + name, *var, help)
        ->expected(0, 1)
        ->envname(from_config_file ? "" : EnvName(name));
  };
  bool_opt("strict-reconfig-check", &raw.strict_reconfig_check,
           "Reject reconfiguration requests that would cause quorum loss.");
  bool_opt("experimental-enable-lease-checkpoint", &raw.lease_checkpoint,
           "Enable the leader to send regular checkpoints to other members to prevent reset of "
           "remaining TTL on leader change.");
  bool_opt("experimental-enable-lease-checkpoint-persist", &raw.lease_checkpoint_persist,
           "Accepted for etcd 3.4/3.5 unit files: etcdd always persists checkpoints.");
  opt("experimental-lease-checkpoint-interval", &raw.lease_checkpoint_interval,
      "Duration of time between two checkpoints (e.g. 5m0s).");
  opt("experimental-watch-progress-notify-interval", &raw.watch_progress_notify_interval,
      "Duration of periodic watch progress notifications.");
  opt("cert-file", &c.client_tls.cert_file, "Path to the client server TLS cert file.");
  opt("key-file", &c.client_tls.key_file, "Path to the client server TLS key file.");
  bool_opt("client-cert-auth", &raw.client_cert_auth, "Enable client cert authentication.");
  opt("client-crl-file", &c.client_tls.crl_file,
      "Path to the client certificate revocation list file.");
  opt("client-cert-allowed-hostname", &c.client_tls.allowed_hostname,
      "Allowed TLS hostname for client cert authentication.");
  opt("trusted-ca-file", &c.client_tls.trusted_ca_file,
      "Path to the client server TLS trusted CA cert file.");
  bool_opt("auto-tls", &raw.auto_tls, "Client TLS using generated certificates.");
  opt("peer-cert-file", &c.peer_tls.cert_file, "Path to the peer server TLS cert file.");
  opt("peer-key-file", &c.peer_tls.key_file, "Path to the peer server TLS key file.");
  bool_opt("peer-client-cert-auth", &raw.peer_client_cert_auth,
           "Enable peer client cert authentication.");
  opt("peer-trusted-ca-file", &c.peer_tls.trusted_ca_file,
      "Path to the peer server TLS trusted CA file.");
  bool_opt("peer-auto-tls", &raw.peer_auto_tls, "Peer TLS using generated certificates.");
  opt("peer-crl-file", &c.peer_tls.crl_file, "Path to the peer certificate revocation list file.");
  opt("peer-cert-allowed-cn", &c.peer_tls.allowed_cn, "Allowed CN for inter peer authentication.");
  opt("peer-cert-allowed-hostname", &c.peer_tls.allowed_hostname,
      "Allowed TLS hostname for inter peer authentication.");
  opt("cipher-suites", &raw.cipher_suites,
      "Comma-separated list of supported TLS cipher suites between client/server and peers "
      "(checked, but gRPC chooses the suites).");
  opt("auth-token", &c.auth_token,
      "Specify auth token specific options: simple or "
      "jwt,pub-key=PATH,priv-key=PATH,sign-method=RS256,ttl=5m.");
  opt("auth-token-ttl", &c.auth_token_ttl, "The lifetime in seconds of the auth token.");
  opt("bcrypt-cost", &c.bcrypt_cost,
      "Specify bcrypt algorithm cost factor for auth password hashing.");
  opt("log-level", &f.log_level, "Log level: debug, info, warn, error, panic, or fatal.");
  opt("log-outputs", &raw.log_outputs, "Log outputs: default, stderr, stdout, or file paths.");
  app.add_flag("--version", f.print_version, "Print the version and exit.");
  if (!from_config_file) {
    app.add_option("--config-file", f.config_file,
                   "Path to the server configuration file (YAML, etcd's field names). When "
                   "given, other flags and environment variables are ignored.")
        ->envname("ETCD_CONFIG_FILE");
  }
  accepted.resize(std::size(kAcceptedFlags));
  for (size_t i = 0; i < std::size(kAcceptedFlags); ++i) {
    std::string name = kAcceptedFlags[i];
    auto* o = app.add_option("--" + name, accepted[i])->expected(0, 1)->group("");
    if (!from_config_file) o->envname(EnvName(name));
  }
}

// Parses `args` (in order). With `from_config_file`, environment variables
// are not read and unknown fields are warned about rather than refused, as
// etcd ignores fields it does not know.
Result<DaemonFlags> ParseArgs(std::vector<std::string> args, bool from_config_file) {
  DaemonFlags f;
  RawValues raw;
  std::vector<std::string> accepted;
  CLI::App app{"etcdd: an etcd-compatible key-value store member", "etcdd"};
  app.allow_windows_style_options(false);
  app.allow_extras(from_config_file);
  RegisterFlags(app, from_config_file, f, raw, accepted);
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    return Status(Code::kCancelled, app.help());
  } catch (const CLI::ParseError& e) {
    return Status::InvalidArgument(e.what());
  }
  for (const char* name : kAcceptedFlags) {
    if (app.count("--" + std::string(name)) > 0) f.ignored.push_back(name);
  }
  for (const auto& extra : app.remaining()) {  // "--field=value" from a config file
    f.ignored.push_back(extra.substr(2, extra.find('=') - 2));
  }
  // With a config file, etcd ignores the other flags: do not check them.
  if (!f.config_file.empty()) return f;
  RETURN_IF_ERROR(ApplyRawValues(std::move(raw), &f));
  return f;
}

cli::ProgramSpec DescribeDaemonFlags() {
  DaemonFlags f;
  RawValues raw;
  std::vector<std::string> accepted;
  CLI::App app{"etcdd: an etcd-compatible key-value store member", "etcdd"};
  RegisterFlags(app, false, f, raw, accepted);
  using cli::ValueKind;
  const std::vector<std::string> booleans = {"true", "false"};
  cli::DescribeOptions options;
  options.hints = {
      {"", "initial-cluster-state", {"new", "existing"}, ValueKind::kNone},
      {"", "log-level", {"debug", "info", "warn", "error", "panic", "fatal"}, ValueKind::kNone},
      {"", "log-outputs", {"default", "stderr", "stdout"}, ValueKind::kNone},
      {"", "logger", {"zap", "capnslog"}, ValueKind::kNone},
      {"", "auto-compaction-mode", {"periodic", "revision"}, ValueKind::kNone},
      {"", "data-dir", {}, ValueKind::kDirectory},
      {"", "wal-dir", {}, ValueKind::kDirectory},
      {"", "config-file", {}, ValueKind::kFile},
      {"", "strict-reconfig-check", booleans, ValueKind::kNone},
      {"", "experimental-enable-lease-checkpoint", booleans, ValueKind::kNone},
      {"", "experimental-enable-lease-checkpoint-persist", booleans, ValueKind::kNone},
      {"", "client-cert-auth", booleans, ValueKind::kNone},
      {"", "auto-tls", booleans, ValueKind::kNone},
      {"", "peer-client-cert-auth", booleans, ValueKind::kNone},
      {"", "peer-auto-tls", booleans, ValueKind::kNone},
      {"", "cert-file", {}, ValueKind::kFile},
      {"", "key-file", {}, ValueKind::kFile},
      {"", "trusted-ca-file", {}, ValueKind::kFile},
      {"", "client-crl-file", {}, ValueKind::kFile},
      {"", "peer-cert-file", {}, ValueKind::kFile},
      {"", "peer-key-file", {}, ValueKind::kFile},
      {"", "peer-trusted-ca-file", {}, ValueKind::kFile},
      {"", "peer-crl-file", {}, ValueKind::kFile},
  };
  cli::ProgramSpec spec;
  spec.root = cli::DescribeApp(app, options);
  spec.single_dash_long_flags = true;
  return spec;
}

Result<DaemonFlags> ParseDaemonFlags(int argc, char** argv) {
  ASSIGN_OR_RETURN(DaemonFlags f, ParseArgs(NormalizeArgs(argc, argv), false));
  if (f.config_file.empty()) return f;
  // etcd: a configuration file replaces every other flag and variable. Its
  // errors are configuration errors (exit 1), not command-line ones.
  auto args = ArgsFromConfigFile(f.config_file);
  if (!args.ok()) return Status::FailedPrecondition(args.status().message());
  auto from_file = ParseArgs(std::move(args).value(), true);
  if (!from_file.ok()) {
    return Status::FailedPrecondition("config file " + f.config_file + ": " +
                                      from_file.status().message());
  }
  from_file->config_file = f.config_file;
  return from_file;
}

}  // namespace etcdd
