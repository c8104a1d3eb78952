// kvctl lease grant, revoke, timetolive, list and keep-alive (etcdctl's
// lease_command.go): the same argument checks, messages and exit codes, in
// the same order (arguments, then the global options and output format, then
// the call).
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/go_format.h"
#include "client/lease_keepalive.h"
#include "context.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitCode;
using cli::ExitStatus;
using Args = std::vector<std::string>;
namespace pb = etcdserverpb;

struct LeaseFlags {
  bool keys = false;  // timetolive --keys
  bool once = false;  // keep-alive --once
};

// etcdctl's leaseFromArgs: a hexadecimal int64.
cli::ExitOr<int64_t> LeaseId(const std::string& arg) {
  auto id = ParseGoInt64(arg, 16);
  if (!id.ok()) {
    return ExitStatus::BadArgs("bad lease ID arg (" + id.status().message() +
                               "), expecting ID in Hex");
  }
  return id.value();
}

ExitStatus RunGrant(Context& ctx, const Args& args) {
  if (args.size() != 1) return ExitStatus::BadArgs("lease grant command needs TTL argument");
  auto ttl = ParseGoInt64(args[0], 10);
  if (!ttl.ok()) return ExitStatus::BadArgs("bad TTL (" + ttl.status().message() + ")");
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  pb::LeaseGrantRequest request;
  request.set_ttl(ttl.value());
  auto response = client->LeaseGrant(request);
  if (!response.ok()) {
    return ExitStatus::Error("failed to grant lease (" + response.status().message() + ")");
  }
  return s.printer->Grant(response.value());
}

ExitStatus RunRevoke(Context& ctx, const Args& args) {
  if (args.size() != 1) return ExitStatus::BadArgs("lease revoke command needs 1 argument");
  ASSIGN_OR_EXIT(int64_t id, LeaseId(args[0]));
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  pb::LeaseRevokeRequest request;
  request.set_id(id);
  auto response = client->LeaseRevoke(request);
  if (!response.ok()) {
    return ExitStatus::Error("failed to revoke lease (" + response.status().message() + ")");
  }
  return s.printer->Revoke(id, response.value());
}

// etcdctl exits 2 (ExitBadConnection) for any error of timetolive, list and
// keep-alive.
ExitStatus BadConnection(const Status& st) {
  return ExitStatus(ExitCode::kBadConnection, st.message());
}

ExitStatus RunTimeToLive(Context& ctx, const LeaseFlags& flags, const Args& args) {
  if (args.size() != 1) {
    return ExitStatus::BadArgs("lease timetolive command needs lease ID as argument");
  }
  // etcdctl sets up the client before it parses the id.
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(int64_t id, LeaseId(args[0]));
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  pb::LeaseTimeToLiveRequest request;
  request.set_id(id);
  request.set_keys(flags.keys);
  auto response = client->LeaseTimeToLive(request);
  if (!response.ok()) return BadConnection(response.status());
  return s.printer->TimeToLive(response.value(), flags.keys);
}

ExitStatus RunList(Context& ctx) {
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  auto response = client->LeaseLeases();
  if (!response.ok()) return BadConnection(response.status());
  return s.printer->Leases(response.value());
}

ExitStatus RunKeepAlive(Context& ctx, const LeaseFlags& flags, const Args& args) {
  if (args.size() != 1) {
    return ExitStatus::BadArgs("lease keep-alive command needs lease ID as argument");
  }
  ASSIGN_OR_EXIT(int64_t id, LeaseId(args[0]));
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  if (flags.once) {
    auto response = client::KeepAliveOnce(*client, id);
    if (!response.ok()) return BadConnection(response.status());
    return s.printer->KeepAlive(response.value());
  }
  client::LeaseKeepAlive keepalive(*client, id);
  pb::LeaseKeepAliveResponse response;
  while (keepalive.Next(&response)) {
    RETURN_IF_EXIT(s.printer->KeepAlive(response));
    ctx.io().out.flush();
  }
  if (s.options.write_out == "simple") {
    ctx.io().out << "lease " << cli::LeaseHex(id) << " expired or revoked.\n";
  }
  return ExitStatus::Ok();
}

}  // namespace

void AddLeaseCommands(CLI::App* app, Context* ctx) {
  auto* lease = app->add_subcommand("lease", "Lease related commands");
  lease->require_subcommand(0, 1);
  auto flags = std::make_shared<LeaseFlags>();

  AddSubcommandWithArgs(
      lease, ctx, "grant", "Creates leases", flags,
      [](Context& c, const LeaseFlags&, const Args& a) { return RunGrant(c, a); });
  AddSubcommandWithArgs(
      lease, ctx, "revoke", "Revokes leases", flags,
      [](Context& c, const LeaseFlags&, const Args& a) { return RunRevoke(c, a); });
  auto* ttl = AddSubcommandWithArgs(lease, ctx, "timetolive", "Get lease information", flags,
                                    RunTimeToLive);
  ttl->add_flag("--keys", flags->keys, "Get keys attached to this lease");
  AddSubcommandWithArgs(lease, ctx, "list", "List all active leases", flags,
                        [](Context& c, const LeaseFlags&, const Args&) { return RunList(c); });
  auto* keepalive = AddSubcommandWithArgs(lease, ctx, "keep-alive", "Keeps leases alive (renew)",
                                          flags, RunKeepAlive);
  keepalive->add_flag("--once", flags->once,
                      "Resets the keep-alive time to its original value and exits immediately");
}

}  // namespace etcdd::kvctl
