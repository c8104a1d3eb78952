// kvctl compaction, endpoint health, endpoint status and version (etcdctl's
// compaction_command.go, ep_command.go, version_command.go).
#include <CLI/CLI.hpp>
#include <chrono>
#include <future>
#include <memory>

#include "cli/go_format.h"
#include "context.h"

#ifndef ETCDD_VERSION
#define ETCDD_VERSION "0.0.0"
#endif

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;

ExitStatus RunCompaction(Context& ctx, bool physical, const std::vector<std::string>& args) {
  if (args.size() != 1) return ExitStatus::BadArgs("compaction command needs 1 argument");
  auto rev = cli::ParseGoInt64(args[0], 10);
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

// The endpoints to address: --endpoints, or with --cluster the client URLs
// of every member (etcdctl's endpointsFromCluster, which skips auth).
cli::ExitOr<std::vector<std::string>> TargetEndpoints(Context& ctx, const Session& s,
                                                      bool cluster) {
  if (!cluster) return s.options.endpoints;
  client::Config config = s.config;
  config.user.clear();
  config.password.clear();
  ASSIGN_OR_EXIT(auto client, ctx.Connect(config));
  auto members = client->MemberList();
  if (!members.ok()) {
    return ExitStatus::Error("failed to fetch endpoints from etcd cluster member list: " +
                             members.status().message());
  }
  std::vector<std::string> endpoints;
  for (const auto& m : members->members()) {
    endpoints.insert(endpoints.end(), m.clienturls().begin(), m.clienturls().end());
  }
  return endpoints;
}

// One endpoint's health: a linearizable read of the key "health" succeeds
// (or is refused for permissions, which still went through consensus).
cli::EndpointHealth CheckHealth(const client::Config& base, const std::string& endpoint) {
  client::Config config = base;
  config.endpoints = {endpoint};
  const auto start = std::chrono::steady_clock::now();
  cli::EndpointHealth h{endpoint, false, "", ""};
  auto client = client::Client::Connect(config);
  Status st = client.status();
  if (client.ok()) {
    etcdserverpb::RangeRequest request;
    request.set_key("health");
    st = client.value()->Range(request).status();
  }
  h.took = cli::GoDuration(std::chrono::steady_clock::now() - start);
  if (st.ok() || st.message() == "etcdserver: permission denied") {
    h.health = true;
  } else {
    h.error = st.message();
  }
  return h;
}

ExitStatus RunHealth(Context& ctx, bool cluster) {
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto endpoints, TargetEndpoints(ctx, s, cluster));
  std::vector<std::future<cli::EndpointHealth>> checks;
  for (const auto& ep : endpoints) {
    checks.push_back(std::async(std::launch::async, CheckHealth, s.config, ep));
  }
  std::vector<cli::EndpointHealth> results;
  bool unhealthy = false;
  for (auto& c : checks) {
    results.push_back(c.get());
    unhealthy = unhealthy || !results.back().error.empty();
  }
  RETURN_IF_EXIT(s.printer->Health(results));
  if (unhealthy) return ExitStatus::Error("unhealthy cluster");
  return ExitStatus::Ok();
}

ExitStatus RunStatus(Context& ctx, bool cluster) {
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  auto client = client::Client::Connect(s.config);
  // etcdctl's client connects lazily, so when no endpoint answers each
  // status call fails on its own; report it per endpoint in the same way.
  if (!client.ok() && client.status().code() != Code::kDeadlineExceeded) {
    return ConnectFailure(client.status());
  }
  ASSIGN_OR_EXIT(auto endpoints, TargetEndpoints(ctx, s, cluster));
  std::vector<cli::EndpointStatus> results;
  bool failed = false;
  for (const auto& ep : endpoints) {
    auto status = client.ok() ? client.value()->Status(ep)
                              : Result<etcdserverpb::StatusResponse>(client.status());
    if (!status.ok()) {
      failed = true;
      ctx.io().err << "Failed to get the status of endpoint " << ep << " ("
                   << status.status().message() << ")\n";
      continue;
    }
    results.push_back({ep, status.value()});
  }
  RETURN_IF_EXIT(s.printer->Status(results));
  if (failed) return ExitStatus::Error("").Silenced();
  return ExitStatus::Ok();
}

void AddEndpointCommands(CLI::App* app, Context* ctx) {
  auto* endpoint = app->add_subcommand("endpoint", "Endpoint related commands");
  endpoint->require_subcommand(0, 1);
  auto cluster = std::make_shared<bool>(false);
  endpoint->add_flag("--cluster", *cluster, "use all endpoints from the cluster member list");
  auto* health = endpoint->add_subcommand(
      "health", "Checks the healthiness of endpoints specified in `--endpoints` flag");
  health->callback(
      [ctx, cluster] { ctx->SetAction([ctx, cluster] { return RunHealth(*ctx, *cluster); }); });
  auto* status = endpoint->add_subcommand(
      "status", "Prints out the status of endpoints specified in `--endpoints` flag");
  status->callback(
      [ctx, cluster] { ctx->SetAction([ctx, cluster] { return RunStatus(*ctx, *cluster); }); });
}

}  // namespace

void AddMaintenanceCommands(CLI::App* app, Context* ctx) {
  auto* compaction = app->add_subcommand("compaction", "Compacts the event history in etcd");
  auto physical = std::make_shared<bool>(false);
  auto args = std::make_shared<std::vector<std::string>>();
  compaction->add_flag("--physical", *physical,
                       "'true' to wait for compaction to physically remove all old revisions");
  compaction->add_option("args", *args, "<revision>");
  compaction->callback([ctx, physical, args] {
    ctx->SetAction([ctx, physical, args] { return RunCompaction(*ctx, *physical, *args); });
  });

  AddEndpointCommands(app, ctx);

  auto* version = app->add_subcommand("version", "Prints the version of kvctl");
  version->callback([ctx] {
    ctx->SetAction([ctx] {
      ctx->io().out << "kvctl version: " << ETCDD_VERSION << "\nAPI version: 3.4\n";
      return ExitStatus::Ok();
    });
  });
}

}  // namespace etcdd::kvctl
