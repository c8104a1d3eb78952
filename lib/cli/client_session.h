// From resolved global options to a connected client, for kvctl and kvbackup:
// etcdctl's clientConfigFromCmd and mustClient (etcdctl/ctlv3/command/
// global.go) as functions.
//
// Thread-safety: pure functions, except AskPassword, which uses the terminal.
#pragma once

#include <istream>
#include <memory>
#include <ostream>
#include <string>

#include "cli/exit_status.h"
#include "cli/global_flags.h"
#include "client/client.h"

namespace etcdd::cli {

// The client configuration for `options` with credentials `creds` (from
// SplitUser, the password settled): endpoints, timeouts, auth, TLS.
// GlobalOptions::WantsTls (TLS files, or --insecure-transport=false) makes
// bare host:port endpoints dial TLS, with the system roots when no --cacert
// is given, as etcdctl does.
client::Config ClientConfigFrom(const GlobalOptions& options, const UserCredentials& creds);

// Prompts "Password: " on `out` and reads a line from the terminal on stdin
// without echo (speakeasy.Ask in etcdctl). Errors: kError "inappropriate
// ioctl for device" when stdin is not a terminal.
ExitOr<std::string> AskPassword(std::istream& in, std::ostream& out);

// The exit status for a failed client::Client::Connect, as etcdctl reports
// it: exit 1 "context deadline exceeded" when no endpoint answered, kBadArgs
// for a malformed endpoint or TLS file, kBadConnection otherwise.
ExitStatus ConnectFailure(const Status& status);

// Connects with `config`; failures as ConnectFailure.
ExitOr<std::unique_ptr<client::Client>> ConnectClient(const client::Config& config);

}  // namespace etcdd::cli
