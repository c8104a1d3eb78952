// kvctl member add, remove, update, promote and list (etcdctl's
// member_command.go): the same argument checks, messages and exit codes, in
// the same order (arguments, then the global options and output format, then
// the peer URLs, then the call).
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/go_format.h"
#include "cli/peer_urls.h"
#include "context.h"

namespace etcdd::kvctl {

namespace {

using cli::ExitStatus;
using Args = std::vector<std::string>;

struct MemberFlags {
  std::string peer_urls;  // comma-separated, as given
  bool learner = false;
};

// strings.Split(s, ","): empty fields kept.
std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t comma; (comma = s.find(',', start)) != std::string::npos; start = comma + 1) {
    out.push_back(s.substr(start, comma - start));
  }
  out.push_back(s.substr(start));
  return out;
}

bool HasHttpPrefix(const std::string& s) {
  if (s.size() < 4) return false;
  std::string head = s.substr(0, 4);
  for (char& c : head) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return head == "http";
}

// The member id argument of remove, update and promote (hexadecimal).
cli::ExitOr<uint64_t> MemberId(const Args& args) {
  if (args.size() != 1) return ExitStatus::BadArgs("member ID is not provided");
  auto id = ParseGoUint64(args[0], 16);
  if (!id.ok()) {
    return ExitStatus::BadArgs("bad member ID arg (" + id.status().message() +
                               "), expecting ID in Hex");
  }
  return id.value();
}

// What etcdctl prints after "Member ... added" in the simple format: the
// environment for starting the new member.
void PrintNewMemberEnv(std::ostream& out, const std::string& name, const std::string& peer_urls,
                       const etcdserverpb::MemberAddResponse& r) {
  std::string conf;
  for (const auto& m : r.members()) {
    for (const auto& url : m.peerurls()) {
      if (!conf.empty()) conf += ",";
      conf += (m.id() == r.member().id() ? name : m.name()) + "=" + url;
    }
  }
  out << "\nETCD_NAME=" << GoQuote(name) << "\n";
  out << "ETCD_INITIAL_CLUSTER=" << GoQuote(conf) << "\n";
  out << "ETCD_INITIAL_ADVERTISE_PEER_URLS=" << GoQuote(peer_urls) << "\n";
  out << "ETCD_INITIAL_CLUSTER_STATE=\"existing\"\n";
}

ExitStatus RunMemberAdd(Context& ctx, const MemberFlags& flags, const Args& args) {
  if (args.empty()) return ExitStatus::BadArgs("member name not provided");
  if (args.size() > 1) {
    std::string message = "too many arguments";
    for (const auto& a : args) {
      if (HasHttpPrefix(a)) message += ", did you mean --peer-urls=" + a;
    }
    return ExitStatus::BadArgs(message);
  }
  if (flags.peer_urls.empty()) return ExitStatus::BadArgs("member peer urls not provided");
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  etcdserverpb::MemberAddRequest request;
  for (auto& url : SplitCommas(flags.peer_urls)) request.add_peerurls(std::move(url));
  request.set_islearner(flags.learner);
  const std::vector<std::string> urls(request.peerurls().begin(), request.peerurls().end());
  RETURN_IF_EXIT(ExitStatus::FromStatus(cli::ValidatePeerUrls(urls)));
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  auto response = client->MemberAdd(request);
  if (!response.ok()) return ExitStatus::FromStatus(response.status());
  RETURN_IF_EXIT(s.printer->MemberAdd(response.value()));
  if (s.options.write_out == "simple") {
    PrintNewMemberEnv(ctx.io().out, args[0], flags.peer_urls, response.value());
  }
  return ExitStatus::Ok();
}

ExitStatus RunMemberRemove(Context& ctx, const Args& args) {
  ASSIGN_OR_EXIT(uint64_t id, MemberId(args));
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  etcdserverpb::MemberRemoveRequest request;
  request.set_id(id);
  auto response = client->MemberRemove(request);
  if (!response.ok()) return ExitStatus::FromStatus(response.status());
  return s.printer->MemberRemove(id, response.value());
}

ExitStatus RunMemberUpdate(Context& ctx, const MemberFlags& flags, const Args& args) {
  ASSIGN_OR_EXIT(uint64_t id, MemberId(args));
  if (flags.peer_urls.empty()) return ExitStatus::BadArgs("member peer urls not provided");
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  etcdserverpb::MemberUpdateRequest request;
  request.set_id(id);
  for (auto& url : SplitCommas(flags.peer_urls)) request.add_peerurls(std::move(url));
  const std::vector<std::string> urls(request.peerurls().begin(), request.peerurls().end());
  RETURN_IF_EXIT(ExitStatus::FromStatus(cli::ValidatePeerUrls(urls)));
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  auto response = client->MemberUpdate(request);
  if (!response.ok()) return ExitStatus::FromStatus(response.status());
  return s.printer->MemberUpdate(id, response.value());
}

ExitStatus RunMemberPromote(Context& ctx, const Args& args) {
  ASSIGN_OR_EXIT(uint64_t id, MemberId(args));
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  etcdserverpb::MemberPromoteRequest request;
  request.set_id(id);
  auto response = client->MemberPromote(request);
  if (!response.ok()) return ExitStatus::FromStatus(response.status());
  return s.printer->MemberPromote(id, response.value());
}

ExitStatus RunMemberList(Context& ctx) {
  ASSIGN_OR_EXIT(Session s, ctx.Prepare());
  ASSIGN_OR_EXIT(auto client, ctx.Connect(s.config));
  auto response = client->MemberList();
  if (!response.ok()) return ExitStatus::FromStatus(response.status());
  return s.printer->MemberList(response.value());
}

}  // namespace

void AddMemberCommands(CLI::App* app, Context* ctx) {
  auto* member = app->add_subcommand("member", "Membership related commands");
  member->require_subcommand(0, 1);
  auto flags = std::make_shared<MemberFlags>();

  auto* add = AddSubcommandWithArgs(member, ctx, "add", "Adds a member into the cluster", flags,
                                    RunMemberAdd);
  add->add_option("--peer-urls", flags->peer_urls, "comma separated peer URLs for the new member.");
  add->add_flag("--learner", flags->learner, "indicates if the new member is raft learner");

  AddSubcommandWithArgs(
      member, ctx, "remove", "Removes a member from the cluster", flags,
      [](Context& c, const MemberFlags&, const Args& a) { return RunMemberRemove(c, a); });

  auto* update = AddSubcommandWithArgs(member, ctx, "update", "Updates a member in the cluster",
                                       flags, RunMemberUpdate);
  update->add_option("--peer-urls", flags->peer_urls,
                     "comma separated peer URLs for the updated member.");

  AddSubcommandWithArgs(
      member, ctx, "list", "Lists all members in the cluster", flags,
      [](Context& c, const MemberFlags&, const Args&) { return RunMemberList(c); });

  AddSubcommandWithArgs(
      member, ctx, "promote", "Promotes a non-voting member in the cluster", flags,
      [](Context& c, const MemberFlags&, const Args& a) { return RunMemberPromote(c, a); });
}

}  // namespace etcdd::kvctl
