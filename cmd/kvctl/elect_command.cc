// kvctl elect (etcdctl's elect_command.go), on a session lease of 60 s:
//   elect NAME PROPOSAL  campaigns; once leader, prints the leader key and
//                        value (-w format) and leads until SIGINT or SIGTERM,
//                        then resigns and exits 0 ("elect: session expired"
//                        if the lease is lost first);
//   elect -l NAME        prints the leader now and at every change until
//                        SIGINT or SIGTERM (exit 0); "elect: observer lost"
//                        if observation breaks off.
// The election is clientv3/concurrency's (client/concurrency.h), so kvctl
// and etcdctl candidates and observers take part in the same elections.
#include <CLI/CLI.hpp>
#include <memory>

#include "client/concurrency.h"
#include "context.h"
#include "stop_signals.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;
using Args = std::vector<std::string>;

ExitStatus Observe(Context& ctx, Session& s, client::Client& client, const std::string& name,
                   const StopSignals& signals) {
  auto session = client::Session::Create(client, 0);
  if (!session.ok()) return ExitStatus::FromStatus(session.status());
  client::Election election(**session, name);
  ExitStatus printed;
  Status st = election.Observe(signals.token(), [&](const etcdserverpb::RangeResponse& leader) {
    printed = s.printer->Get(leader);
    ctx.io().out.flush();
    return printed.ok() ? Status::Ok() : Status(Code::kAborted, printed.message());
  });
  if (!printed.ok()) return printed;
  return st.ok() ? ExitStatus::Ok() : ExitStatus::Error("elect: observer lost");
}

ExitStatus Campaign(Context& ctx, Session& s, client::Client& client, const std::string& name,
                    const std::string& proposal, const StopSignals& signals) {
  auto session = client::Session::Create(client, 0);
  if (!session.ok()) return ExitStatus::FromStatus(session.status());
  client::Election election(**session, name);
  if (Status st = election.Campaign(proposal, signals.token()); !st.ok()) {
    return ExitStatus::FromStatus(st);
  }
  etcdserverpb::RangeRequest get;
  get.set_key(election.key());
  auto leader = client.Range(get);
  if (!leader.ok()) return ExitStatus::FromStatus(leader.status());
  RETURN_IF_EXIT(s.printer->Get(leader.value()));
  ctx.io().out.flush();
  if ((*session)->WaitDone(signals.token())) return ExitStatus::Error("elect: session expired");
  return ExitStatus::FromStatus(election.Resign());
}

ExitStatus RunElect(Context& ctx, bool listen, const Args& args) {
  if (args.size() != 1 && args.size() != 2) {
    return ExitStatus::BadArgs(
        "elect takes one election name argument and an optional proposal argument");
  }
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  StopSignals signals;
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  if (args.size() == 1) {
    if (!listen) return ExitStatus::BadArgs("no proposal argument but -l not set");
    return Observe(ctx, s, *client, args[0], signals);
  }
  if (listen) return ExitStatus::BadArgs("proposal given but -l is set");
  return Campaign(ctx, s, *client, args[0], args[1], signals);
}

}  // namespace

void AddElectCommand(CLI::App* app, Context* ctx) {
  auto* cmd = app->add_subcommand("elect", "Observes and participates in leader election");
  auto listen = std::make_shared<bool>(false);
  auto args = std::make_shared<Args>();
  cmd->add_flag("-l,--listen", *listen, "observation mode");
  AddArgs(cmd, args.get(), "<election-name> [proposal]");
  cmd->callback([ctx, listen, args] {
    ctx->SetAction([ctx, listen, args] { return RunElect(*ctx, *listen, *args); });
  });
}

}  // namespace etcdd::kvctl
