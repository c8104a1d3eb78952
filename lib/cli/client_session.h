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
#include "cli/printer.h"
#include "client/client.h"

namespace etcdd::cli {

// The client configuration for `options` with credentials `creds` (from
// SplitUser, the password settled): endpoints, timeouts, auth, TLS.
// GlobalOptions::WantsTls (TLS files, or --insecure-transport=false) makes
// bare host:port endpoints dial TLS, with the system roots when no --cacert
// is given, as etcdctl does.
client::Config ClientConfigFrom(const GlobalOptions& options, const UserCredentials& creds);

// Prompts `prompt` on `out`, reads one line from `in` (stdin) with the
// terminal's echo off, then writes a newline to `out`, as etcdctl's
// speakeasy.Ask does: the line without its "\n" and surrounding white space.
// When stdin is not a terminal the line is read all the same (etcdctl's
// `stty -echo` fails there, and it reads on; `echo pw | etcdctl user add u`
// works), and end of input gives an empty password. Errors: kError "failed
// during password entry" when reading fails.
ExitOr<std::string> AskPassword(std::istream& in, std::ostream& out,
                                const std::string& prompt = "Password: ");

// The exit status for a failed client::Client::Connect, as etcdctl reports
// it: exit 1 "context deadline exceeded" when no endpoint answered, kBadArgs
// for a malformed endpoint or TLS file, kBadConnection otherwise.
ExitStatus ConnectFailure(const Status& status);

// Connects with `config`; failures as ConnectFailure.
ExitOr<std::unique_ptr<client::Client>> ConnectClient(const client::Config& config);

// The exit status for a failed call, printed as etcdctl prints clientv3's
// error (exit 1): etcd's own errors ("etcdserver: ...") and the context
// errors as their message, any other gRPC error as grpc-go formats it,
// "rpc error: code = Unimplemented desc = unknown method AuthStatus for
// service etcdserverpb.Auth" (clientv3's toErr keeps only the errors it
// knows).
ExitStatus CallFailure(const Status& status);

// The endpoints a command addresses: `config.endpoints`, or with `cluster`
// every member's client URLs from the member list, in its order (etcdctl's
// endpointsFromCluster, which asks without credentials). Errors: exit 1
// "failed to fetch endpoints from etcd cluster member list: <why>", or
// ConnectFailure's for a malformed endpoint or TLS file.
ExitOr<std::vector<std::string>> TargetEndpoints(const client::Config& config, bool cluster);

// One endpoint's health as `etcdctl endpoint health` judges it: a client
// dialled to `endpoint` alone (with `base`'s TLS, auth and timeouts) gets a
// linearizable read of the key "health" through, or is refused it with
// "etcdserver: permission denied" (the read still went through consensus).
// `took` is the Go duration of the check; `error` the failure's message.
EndpointHealth CheckEndpointHealth(const client::Config& base, const std::string& endpoint);

}  // namespace etcdd::cli
