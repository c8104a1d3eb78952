// kvctl alarm, compaction, defrag, move-leader and version (etcdctl's
// alarm_command.go, compaction_command.go, defrag_command.go,
// move_leader_command.go, version_command.go).
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/go_format.h"
#include "context.h"
#include "defrag/offline.h"

#ifndef ETCDD_VERSION
#define ETCDD_VERSION "0.0.0"
#endif

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;

ExitStatus RunCompaction(Context& ctx, bool physical, const std::vector<std::string>& args) {
  if (args.size() != 1) return ExitStatus::BadArgs("compaction command needs 1 argument");
  auto rev = ParseGoInt64(args[0], 10);
  if (!rev.ok()) return ExitStatus::Error(rev.status().message());
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  etcdserverpb::CompactionRequest request;
  request.set_revision(rev.value());
  request.set_physical(physical);
  auto response = client->Compact(request);
  if (!response.ok()) return ExitStatus::FromStatus(response.status());
  ctx.io().out << "compacted revision " << rev.value() << "\n";
  return ExitStatus::Ok();
}

// etcdctl's defrag: each endpoint (--endpoints, or with --cluster every
// member's client URLs) is defragmented in turn; a line on stdout for each
// that finished, one on stderr for each that failed, and exit 1 when any
// failed. -w changes nothing, as in etcdctl.
// With --data-dir, the backend of a stopped member is defragmented offline
// (defrag/offline.h): nothing is printed on success, as in etcdctl.
ExitStatus RunDefrag(Context& ctx, bool cluster, const std::string& data_dir) {
  if (!data_dir.empty()) {
    auto stats = defrag::DefragmentDataDir(data_dir);
    if (stats.ok()) return ExitStatus::Ok();
    ctx.io().err << "Failed to defragment etcd data[" << data_dir << "] ("
                 << stats.status().message() << ")\n";
    return ExitStatus::Error("").Silenced();
  }
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto endpoints, cli::TargetEndpoints(s.config, cluster));
  auto client = client::Client::Connect(s.config);
  // etcdctl's client dials lazily: with no endpoint reachable, each defrag
  // call fails at its deadline with the same message.
  if (!client.ok() && client.status().code() != Code::kDeadlineExceeded) {
    return ConnectFailure(client.status());
  }
  int failures = 0;
  for (const auto& ep : endpoints) {
    Status st = client.ok() ? client.value()->Defragment(ep).status() : client.status();
    if (st.ok()) {
      ctx.io().out << "Finished defragmenting etcd member[" << ep << "]\n";
    } else {
      ctx.io().err << "Failed to defragment etcd member[" << ep << "] ("
                   << cli::CallFailure(st).message() << ")\n";
      ++failures;
    }
  }
  if (failures != 0) return ExitStatus::Error("").Silenced();
  return ExitStatus::Ok();
}

// etcdctl's move-leader: find the leader among the endpoints by asking each
// for its status in turn (the first that fails ends the command), then ask
// the leader to hand leadership to `args[0]` (a hexadecimal member id).
ExitStatus RunMoveLeader(Context& ctx, const std::vector<std::string>& args) {
  if (args.size() != 1) return ExitStatus::BadArgs("move-leader command needs 1 argument");
  auto target = ParseGoUint64(args[0], 16);
  if (!target.ok()) return ExitStatus::BadArgs(target.status().message());
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  auto client = client::Client::Connect(s.config);
  // etcdctl's client dials lazily: with no endpoint reachable, the first
  // status call fails at its deadline with the same message.
  if (!client.ok()) return ConnectFailure(client.status());
  const std::vector<std::string>& endpoints = s.config.endpoints;
  for (const auto& ep : endpoints) {
    auto status = client.value()->Status(ep);
    if (!status.ok()) return ExitStatus::FromStatus(status.status());
    const uint64_t leader = status->leader();
    if (status->header().member_id() != leader) continue;
    auto response = client.value()->MoveLeader(ep, target.value());
    if (!response.ok()) return ExitStatus::FromStatus(response.status());
    return s.printer->MoveLeader(leader, target.value(), response.value());
  }
  return ExitStatus::BadArgs("no leader endpoint given at " +
                             cli::GoStringSlice(s.options.endpoints));
}

// etcdctl's alarm list.
ExitStatus RunAlarmList(Context& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) return ExitStatus::BadArgs("alarm list command accepts no arguments");
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  etcdserverpb::AlarmRequest request;  // GET of every alarm (member 0, NONE)
  auto response = client->Alarm(request);
  if (!response.ok()) return ExitStatus::FromStatus(response.status());
  return s.printer->Alarm(response.value());
}

// etcdctl's alarm disarm (clientv3's AlarmDisarm of every alarm): lists the
// alarms, then deactivates each; prints the alarms deactivated.
ExitStatus RunAlarmDisarm(Context& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) return ExitStatus::BadArgs("alarm disarm command accepts no arguments");
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  auto list = client->Alarm(etcdserverpb::AlarmRequest());
  if (!list.ok()) return ExitStatus::FromStatus(list.status());
  etcdserverpb::AlarmResponse disarmed;
  for (const auto& a : list->alarms()) {
    etcdserverpb::AlarmRequest request;
    request.set_action(etcdserverpb::AlarmRequest::DEACTIVATE);
    request.set_memberid(a.memberid());
    request.set_alarm(a.alarm());
    auto response = client->Alarm(request);
    if (!response.ok()) return ExitStatus::FromStatus(response.status());
    disarmed.mutable_alarms()->MergeFrom(response->alarms());
  }
  return s.printer->Alarm(disarmed);
}

}  // namespace

void AddMaintenanceCommands(CLI::App* app, Context* ctx) {
  auto* alarm = app->add_subcommand("alarm", "Alarm related commands");
  alarm->require_subcommand(0, 1);
  AddSubcommandWithArgs(alarm, ctx, "disarm", "Disarms all alarms", RunAlarmDisarm);
  AddSubcommandWithArgs(alarm, ctx, "list", "Lists all alarms", RunAlarmList);

  auto* compaction = app->add_subcommand("compaction", "Compacts the event history in etcd");
  auto physical = std::make_shared<bool>(false);
  auto args = std::make_shared<std::vector<std::string>>();
  compaction->add_flag("--physical", *physical,
                       "'true' to wait for compaction to physically remove all old revisions");
  AddArgs(compaction, args.get(), "<revision>");
  compaction->callback([ctx, physical, args] {
    ctx->SetAction([ctx, physical, args] { return RunCompaction(*ctx, *physical, *args); });
  });

  auto* defrag = app->add_subcommand(
      "defrag", "Defragments the storage of the etcd members with given endpoints");
  auto defrag_cluster = std::make_shared<bool>(false);
  defrag->add_flag("--cluster", *defrag_cluster, "use all endpoints from the cluster member list");
  auto defrag_data_dir = std::make_shared<std::string>();
  defrag->add_option("--data-dir", *defrag_data_dir,
                     "Optional. If present, defragments a data directory not in use by etcd.");
  defrag->callback([ctx, defrag_cluster, defrag_data_dir] {
    ctx->SetAction([ctx, defrag_cluster, defrag_data_dir] {
      return RunDefrag(*ctx, *defrag_cluster, *defrag_data_dir);
    });
  });

  auto* move_leader =
      app->add_subcommand("move-leader", "Transfers leadership to another etcd cluster member.");
  auto move_args = std::make_shared<std::vector<std::string>>();
  AddArgs(move_leader, move_args.get(), "<transferee-member-id>");
  move_leader->callback([ctx, move_args] {
    ctx->SetAction([ctx, move_args] { return RunMoveLeader(*ctx, *move_args); });
  });

  auto* version = app->add_subcommand("version", "Prints the version of kvctl");
  version->callback([ctx] {
    ctx->SetAction([ctx] {
      ctx->io().out << "kvctl version: " << ETCDD_VERSION << "\nAPI version: 3.4\n";
      return ExitStatus::Ok();
    });
  });
}

}  // namespace etcdd::kvctl
