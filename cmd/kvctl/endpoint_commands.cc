// kvctl endpoint health, status and hashkv (etcdctl's ep_command.go): the
// endpoints named by --endpoints, or with --cluster every member's client
// URLs from the member list.
#include <CLI/CLI.hpp>
#include <chrono>
#include <future>
#include <memory>

#include "cli/go_format.h"
#include "context.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;

// The endpoints to address: --endpoints, or with --cluster the client URLs
// of every member.
cli::ExitOr<std::vector<std::string>> TargetEndpoints(const Session& s, bool cluster) {
  return cli::TargetEndpoints(s.config, cluster);
}

ExitStatus RunHealth(Context& ctx, bool cluster) {
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto endpoints, TargetEndpoints(s, cluster));
  std::vector<std::future<cli::EndpointHealth>> checks;
  for (const auto& ep : endpoints) {
    checks.push_back(std::async(std::launch::async, cli::CheckEndpointHealth, s.config, ep));
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

// Each target endpoint asked in turn with one client, as etcdctl's status and
// hashkv commands do; a failed endpoint is reported on stderr as
// "Failed to get the <what> of endpoint <ep> (<error>)" and skipped.
template <typename Row>
struct PerEndpoint {
  std::vector<Row> rows;
  std::string last_error;
  bool failed = false;
};

template <typename Row, typename Call>
cli::ExitOr<PerEndpoint<Row>> AskEachEndpoint(Context& ctx, const Session& s, bool cluster,
                                              const char* what, Call call) {
  auto client = client::Client::Connect(s.config);
  // etcdctl's client connects lazily, so when no endpoint answers each call
  // fails on its own; report it per endpoint in the same way.
  if (!client.ok() && client.status().code() != Code::kDeadlineExceeded) {
    return ConnectFailure(client.status());
  }
  ASSIGN_OR_EXIT(auto endpoints, TargetEndpoints(s, cluster));
  PerEndpoint<Row> result;
  for (const auto& ep : endpoints) {
    auto answer = client.ok() ? call(*client.value(), ep)
                              : decltype(call(*client.value(), ep))(client.status());
    if (!answer.ok()) {
      result.failed = true;
      result.last_error = answer.status().message();
      ctx.io().err << "Failed to get the " << what << " of endpoint " << ep << " ("
                   << result.last_error << ")\n";
      continue;
    }
    result.rows.push_back({ep, std::move(answer).value()});
  }
  return result;
}

ExitStatus RunStatus(Context& ctx, bool cluster) {
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto result,
                 AskEachEndpoint<cli::EndpointStatus>(
                     ctx, s, cluster, "status",
                     [](client::Client& c, const std::string& ep) { return c.Status(ep); }));
  RETURN_IF_EXIT(s.printer->Status(result.rows));
  // etcdctl exits 1 without a further message.
  if (result.failed) return ExitStatus::Error("").Silenced();
  return ExitStatus::Ok();
}

ExitStatus RunHashKV(Context& ctx, bool cluster, const std::string& rev_flag) {
  auto rev = ParseGoInt64(rev_flag, 0);
  if (!rev.ok()) {
    return ExitStatus::Error("invalid argument " + GoQuote(rev_flag) +
                             " for \"--rev\" flag: " + rev.status().message());
  }
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  const int64_t revision = rev.value();
  ASSIGN_OR_EXIT(auto result,
                 AskEachEndpoint<cli::EndpointHashKV>(
                     ctx, s, cluster, "hash", [revision](client::Client& c, const std::string& ep) {
                       return c.HashKV(ep, revision);
                     }));
  RETURN_IF_EXIT(s.printer->HashKV(result.rows));
  if (result.failed) return ExitStatus::Error(result.last_error);
  return ExitStatus::Ok();
}

}  // namespace

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
  auto* hashkv = endpoint->add_subcommand(
      "hashkv", "Prints the KV history hash for each endpoint in --endpoints");
  auto rev = std::make_shared<std::string>("0");
  hashkv->add_option("--rev", *rev, "maximum revision to hash (default: all revisions)");
  hashkv->callback([ctx, cluster, rev] {
    ctx->SetAction([ctx, cluster, rev] { return RunHashKV(*ctx, *cluster, *rev); });
  });
}

}  // namespace etcdd::kvctl
