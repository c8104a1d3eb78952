// etcd's command line and ETCD_* environment for etcdd (etcdmain/config.go):
// same flag names, meanings and defaults, so a unit file written for etcd
// starts etcdd.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "cli/command_spec.h"
#include "server/config.h"

namespace etcdd {

struct DaemonFlags {
  server::ServerConfig server;
  std::string log_level = "info";
  std::vector<std::string> log_outputs = {"default"};
  std::vector<std::string> ignored;  // etcd flags accepted but not acted on yet
  std::string config_file;           // --config-file, if given
  bool print_version = false;
};

// Parses argv (Go-style "-flag" is accepted like "--flag") and the ETCD_*
// environment, or, with --config-file, that YAML file alone (etcd's rule).
// Errors:
// InvalidArgument naming the flag; FailedPrecondition for a config file that
// cannot be read or holds a bad value; for --help the message is the usage text
// and the code is kCancelled.
Result<DaemonFlags> ParseDaemonFlags(int argc, char** argv);

// etcdd's command line as ParseDaemonFlags reads it (every flag, its
// ETCD_* variable, the fixed value sets), for `etcdd __complete`, `etcdd
// __describe` and the man page checks. The flags etcdd accepts but does not
// act on are marked hidden.
cli::ProgramSpec DescribeDaemonFlags();

}  // namespace etcdd
