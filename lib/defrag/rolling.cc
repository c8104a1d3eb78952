#include "defrag/rolling.h"

#include <future>
#include <thread>

#include "cli/client_session.h"

namespace etcdd::defrag {

namespace {

using Clock = std::chrono::steady_clock;
using State = MemberOutcome::State;

// A failed call's message as etcdctl prints it: grpc-go's "rpc error: code =
// ..." for errors that are not etcd's own (cli::CallFailure).
std::string Why(const Status& st) { return cli::CallFailure(st).message(); }

// Status of `endpoint` through a client dialled to it alone.
Result<etcdserverpb::StatusResponse> StatusOf(const client::Config& base,
                                              const std::string& endpoint) {
  client::Config config = base;
  config.endpoints = {endpoint};
  ASSIGN_OR_RETURN(auto client, client::Client::Connect(config));
  return client->Status(endpoint);
}

MemberState StateOf(const client::Config& config, const std::string& endpoint) {
  MemberState m;
  m.endpoint = endpoint;
  auto status = StatusOf(config, endpoint);
  if (!status.ok()) {
    m.error = Why(status.status());
    return m;
  }
  m.member_id = status->header().member_id();
  m.leader_id = status->leader();
  m.db_size = status->dbsize();
  m.db_size_in_use = status->dbsizeinuse();
  m.raft_index = status->raftindex();
  m.revision = status->header().revision();
  m.alarms.assign(status->errors().begin(), status->errors().end());
  cli::EndpointHealth h = cli::CheckEndpointHealth(config, endpoint);
  if (!h.health) m.error = h.error;
  return m;
}

const PlanEntry* FindMember(const std::vector<PlanEntry>& plan, uint64_t id) {
  for (const auto& e : plan) {
    if (e.member.member_id == id) return &e;
  }
  return nullptr;
}

// Waits until `endpoint` serves linearizable reads again and its raft index
// is within the allowed gap of its leader's. The condition is observed by
// polling: the Maintenance API has no way to wait for it. Errors:
// DeadlineExceeded naming what was last missing.
Status WaitCaughtUp(client::Client& client, const client::Config& config,
                    const std::vector<PlanEntry>& plan, const std::string& endpoint,
                    const Options& options) {
  const auto deadline = Clock::now() + options.catch_up_timeout;
  std::string missing;
  for (int attempt = 0;; ++attempt) {
    cli::EndpointHealth h = cli::CheckEndpointHealth(config, endpoint);
    auto mine = client.Status(endpoint);
    if (!h.health) {
      missing = "it is not healthy: " + h.error;
    } else if (!mine.ok()) {
      missing = "its status failed: " + Why(mine.status());
    } else if (mine->leader() == mine->header().member_id()) {
      return Status::Ok();  // the leader is caught up with itself
    } else {
      const PlanEntry* leader = FindMember(plan, mine->leader());
      auto theirs = leader != nullptr ? client.Status(leader->member.endpoint)
                                      : Result<etcdserverpb::StatusResponse>(
                                            Status::NotFound("leader not among the endpoints"));
      if (!theirs.ok()) {
        missing = "the leader's status failed: " + Why(theirs.status());
      } else if (CaughtUp(mine->raftindex(), theirs->raftindex(), options.max_index_gap)) {
        return Status::Ok();
      } else {
        missing = "its raft index " + std::to_string(mine->raftindex()) + " lags the leader's " +
                  std::to_string(theirs->raftindex());
      }
    }
    if (Clock::now() >= deadline || attempt >= 100000) {
      return Status::DeadlineExceeded("member " + endpoint + " did not catch up: " + missing);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Status CompactCluster(client::Client& client, const std::vector<PlanEntry>& plan,
                      const Options& options, int64_t* compacted) {
  const std::string& leader = plan.back().member.endpoint;  // the leader is last
  ASSIGN_OR_RETURN(auto status, client.Status(leader));
  const int64_t target = CompactTarget(status.header().revision(), options.keep_revisions);
  if (target == 0) return Status::Ok();
  etcdserverpb::CompactionRequest req;
  req.set_revision(target);
  req.set_physical(true);
  auto r = client.Compact(req);
  if (!r.ok() && r.status().message() != "etcdserver: mvcc: required revision has been compacted") {
    return Status(r.status().code(), "compaction to revision " + std::to_string(target) +
                                         " failed: " + Why(r.status()));
  }
  *compacted = target;
  return Status::Ok();
}

// Moves leadership from the leader `entry` to the first other member that
// answered the survey.
Status MoveLeaderAway(client::Client& client, const std::vector<PlanEntry>& plan,
                      const PlanEntry& entry) {
  for (const auto& e : plan) {
    if (&e == &entry || e.member.member_id == 0 || !e.member.error.empty()) continue;
    auto r = client.MoveLeader(entry.member.endpoint, e.member.member_id);
    if (!r.ok()) return Status(r.status().code(), "move-leader failed: " + Why(r.status()));
    return Status::Ok();
  }
  return Status::FailedPrecondition("move-leader: no healthy follower to move leadership to");
}

MemberOutcome DefragOne(client::Client& client, const client::Config& config,
                        const std::vector<PlanEntry>& plan, const PlanEntry& entry,
                        const Options& options, const ProgressFn& progress) {
  MemberOutcome o;
  o.entry = entry;
  if (!entry.defrag) {
    o.state = State::kSkipped;
    return o;
  }
  progress(o, false);
  const auto start = Clock::now();
  Status st;
  if (entry.member.is_leader() && options.move_leader) {
    st = MoveLeaderAway(client, plan, entry);
    o.moved_leader = st.ok();
  }
  if (st.ok()) st = client.Defragment(entry.member.endpoint).status();
  if (st.ok()) st = WaitCaughtUp(client, config, plan, entry.member.endpoint, options);
  if (st.ok()) {
    auto after = client.Status(entry.member.endpoint);
    st = after.status();
    if (st.ok()) {
      o.db_size_after = after->dbsize();
      o.db_size_in_use_after = after->dbsizeinuse();
    }
  }
  o.took = Clock::now() - start;
  o.state = st.ok() ? State::kDone : State::kFailed;
  if (!st.ok()) o.error = Why(st);
  progress(o, true);
  return o;
}

// Deactivates every NOSPACE alarm once each member's backend is under the
// quota.
Status Disarm(client::Client& client, const std::vector<PlanEntry>& plan, const Options& options,
              int* disarmed) {
  for (const auto& e : plan) {
    auto st = client.Status(e.member.endpoint);
    if (!st.ok()) return Status(st.status().code(), "not disarming: " + Why(st.status()));
    if (st->dbsize() >= options.db_quota) {
      return Status::FailedPrecondition("not disarming: member " + e.member.endpoint +
                                        " still has dbSize " + std::to_string(st->dbsize()) +
                                        " >= quota " + std::to_string(options.db_quota));
    }
  }
  etcdserverpb::AlarmRequest get;
  get.set_action(etcdserverpb::AlarmRequest::GET);
  auto alarms = client.Alarm(get);
  if (!alarms.ok()) {
    return Status(alarms.status().code(), "alarm list failed: " + Why(alarms.status()));
  }
  for (const auto& a : alarms->alarms()) {
    if (a.alarm() != etcdserverpb::NOSPACE) continue;
    etcdserverpb::AlarmRequest req;
    req.set_action(etcdserverpb::AlarmRequest::DEACTIVATE);
    req.set_memberid(a.memberid());
    req.set_alarm(etcdserverpb::NOSPACE);
    auto r = client.Alarm(req);
    if (!r.ok()) return Status(r.status().code(), "alarm disarm failed: " + Why(r.status()));
    ++*disarmed;
  }
  return Status::Ok();
}

}  // namespace

std::string StateName(State s) {
  switch (s) {
    case State::kSkipped:
      return "skip";
    case State::kDone:
      return "done";
    case State::kFailed:
      return "failed";
    case State::kNotReached:
      return "not reached";
  }
  return "";
}

bool Report::ok() const {
  if (!error.empty()) return false;
  for (const auto& m : members) {
    if (m.state == State::kFailed || m.state == State::kNotReached) return false;
  }
  return true;
}

int64_t Report::freed_bytes() const {
  int64_t freed = 0;
  for (const auto& m : members) {
    if (m.state == State::kDone) freed += m.entry.member.db_size - m.db_size_after;
  }
  return freed;
}

std::vector<MemberState> Survey(const client::Config& config,
                                const std::vector<std::string>& endpoints) {
  std::vector<std::future<MemberState>> pending;
  for (const auto& ep : endpoints) {
    pending.push_back(std::async(std::launch::async, StateOf, config, ep));
  }
  std::vector<MemberState> members;
  for (auto& f : pending) members.push_back(f.get());
  return members;
}

Result<std::vector<PlanEntry>> SurveyAndPlan(const client::Config& config,
                                             const std::vector<std::string>& endpoints,
                                             const Options& options) {
  std::optional<Rule> rule;
  if (options.rule) {
    ASSIGN_OR_RETURN(Rule parsed, Rule::Parse(*options.rule));
    rule.emplace(std::move(parsed));
  }
  std::vector<MemberState> members = Survey(config, endpoints);
  if (!options.skip_health_check) {
    const std::string why = UnhealthyReason(members);
    if (!why.empty()) {
      return Status::FailedPrecondition("cluster is not healthy: " + why +
                                        " (use --skip-health-check to defragment anyway)");
    }
  }
  return MakePlan(members, rule ? &*rule : nullptr, options.db_quota);
}

Report Execute(client::Client& client, const client::Config& config, std::vector<PlanEntry> plan,
               const Options& options, const ProgressFn& progress) {
  Report report;
  report.plan = std::move(plan);
  if (report.plan.empty()) return report;
  if (options.compact) {
    Status st = CompactCluster(client, report.plan, options, &report.compacted_revision);
    if (!st.ok()) {
      report.error = st.message();
      return report;
    }
  }
  bool stopped = false;
  for (const auto& entry : report.plan) {
    if (stopped) {
      MemberOutcome o;
      o.entry = entry;
      report.members.push_back(o);
      continue;
    }
    report.members.push_back(DefragOne(client, config, report.plan, entry, options, progress));
    const MemberOutcome& o = report.members.back();
    if (o.state == State::kFailed && !options.continue_on_error) {
      report.error = "defragmenting " + entry.member.endpoint + " failed: " + o.error;
      stopped = true;
    }
  }
  if (options.disarm && report.ok()) {
    Status st = Disarm(client, report.plan, options, &report.disarmed);
    if (!st.ok()) report.error = st.message();
  }
  return report;
}

}  // namespace etcdd::defrag
