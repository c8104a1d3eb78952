#include "server/raft_node.h"

#include <pthread.h>

#include <algorithm>

#include "base/go_text.h"
#include "server/ids.h"

namespace etcdd::server {

namespace {
const char* StateName(raft::StateType s) {
  switch (s) {
    case raft::StateType::kFollower:
      return "follower";
    case raft::StateType::kCandidate:
      return "candidate";
    case raft::StateType::kLeader:
      return "leader";
    case raft::StateType::kPreCandidate:
      return "pre-candidate";
  }
  return "unknown";
}
}  // namespace

RaftNode::RaftNode(std::unique_ptr<raft::RawNode> node,
                   std::shared_ptr<raft::MemoryStorage> storage, std::unique_ptr<wal::Wal> wal,
                   Options options, MessageSink send, CommitSink sink, SnapshotSink snapshot_sink,
                   LeaderSink leader_sink, Logger& logger)
    : node_(std::move(node)),
      storage_(std::move(storage)),
      wal_(std::move(wal)),
      options_(options),
      send_(std::move(send)),
      sink_(std::move(sink)),
      snapshot_sink_(std::move(snapshot_sink)),
      leader_sink_(std::move(leader_sink)),
      logger_(logger) {
  auto st = node_->GetStatus();
  term_ = st.term;
  commit_ = st.commit;
}

RaftNode::~RaftNode() { Stop(); }

void RaftNode::Start() {
  // etcd's InitialElectionTickAdvance: fast-forward to one tick before the
  // election timeout so a restarted or new member elects a leader quickly.
  for (int i = 1; i < options_.election_ticks; ++i) node_->Tick();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "etcdd-raft");
    Run();
  });
}

void RaftNode::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  lead_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  Drain();
}

void RaftNode::Drain() {
  // The loop is gone: run the tasks it left, so no Call waits forever.
  std::vector<std::function<void(raft::RawNode&)>> tasks;
  std::vector<std::promise<Result<uint64_t>>> reads;
  {
    std::lock_guard lock(mu_);
    tasks.swap(tasks_);
    reads.swap(pending_reads_);
  }
  for (auto& t : tasks) t(*node_);
  auto fail = [](std::promise<Result<uint64_t>>& p) {
    p.set_value(Status::Unavailable("etcdserver: server stopped"));
  };
  for (auto& p : reads) fail(p);
  for (auto& [ctx, round] : read_rounds_) {
    for (auto& p : round.waiters) fail(p);
  }
  read_rounds_.clear();
}

void RaftNode::FailLoop(std::string_view what, const Status& cause) {
  {
    std::lock_guard lock(mu_);
    stop_ = true;  // Post and ReadIndex refuse from now on
  }
  lead_cv_.notify_all();
  if (options_.on_fatal) options_.on_fatal(what, cause);
  Drain();
}

void RaftNode::Propose(std::string data) {
  {
    std::lock_guard lock(mu_);
    proposals_.push_back(std::move(data));
  }
  cv_.notify_one();
}

bool RaftNode::Post(std::function<void(raft::RawNode&)> fn) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return false;
    tasks_.push_back(std::move(fn));
  }
  cv_.notify_one();
  return true;
}

void RaftNode::ReportSnapshot(uint64_t id, bool ok) {
  Post([id, ok](raft::RawNode& n) {
    n.ReportSnapshot(id, ok ? raft::SnapshotStatus::kFinish : raft::SnapshotStatus::kFailure);
  });
}

void RaftNode::ProposeConfChange(raftpb::ConfChange cc) {
  {
    std::lock_guard lock(mu_);
    conf_proposals_.push_back(std::move(cc));
  }
  cv_.notify_one();
}

void RaftNode::ConfChangeApplied(raftpb::ConfChange cc) {
  {
    std::lock_guard lock(mu_);
    applied_conf_changes_.push_back(std::move(cc));
  }
  cv_.notify_all();
}

bool RaftNode::WaitLeader(uint64_t lead, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return lead_cv_.wait_until(lock, deadline,
                             [&] { return lead == 0 ? lead_.load() != 0 : lead_.load() == lead; });
}

bool RaftNode::WaitLeaderChange(uint64_t lead, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return lead_cv_.wait_until(lock, deadline, [&] { return stop_ || lead_.load() != lead; }) &&
         !stop_;
}

bool RaftNode::ApplyConfChanges(size_t n) {
  std::vector<raftpb::ConfChange> decided;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stop_ || applied_conf_changes_.size() >= n; });
    if (applied_conf_changes_.size() < n) return false;
    decided.assign(applied_conf_changes_.begin(), applied_conf_changes_.begin() + n);
    applied_conf_changes_.erase(applied_conf_changes_.begin(), applied_conf_changes_.begin() + n);
  }
  for (const auto& cc : decided) node_->ApplyConfChange(cc);
  return true;
}

void RaftNode::Step(raftpb::Message msg) {
  {
    std::lock_guard lock(mu_);
    received_.push_back(std::move(msg));
  }
  cv_.notify_one();
}

std::future<Result<uint64_t>> RaftNode::ReadIndex() {
  std::promise<Result<uint64_t>> p;
  auto f = p.get_future();
  {
    std::lock_guard lock(mu_);
    if (stop_) {
      p.set_value(Status::Unavailable("etcdserver: server stopped"));
      return f;
    }
    pending_reads_.push_back(std::move(p));
  }
  cv_.notify_one();
  return f;
}

Status RaftNode::CreateSnapshot(uint64_t index, const raftpb::ConfState& conf_state, uint64_t keep,
                                size_t max_wals) {
  ASSIGN_OR_RETURN(raftpb::Snapshot snap, storage_->CreateSnapshot(index, &conf_state, ""));
  RETURN_IF_ERROR(wal_->SaveSnapshot({index, snap.metadata().term()}));
  RETURN_IF_ERROR(wal_->ReleaseTo(index));
  RETURN_IF_ERROR(wal_->PurgeReleased(max_wals));
  if (index > keep && index - keep > storage_->FirstIndex()) {
    RETURN_IF_ERROR(storage_->Compact(index - keep));
  }
  logger_.Info("saved snapshot", {{"snapshot-index", index}, {"term", snap.metadata().term()}});
  return Status::Ok();
}

void RaftNode::Run() {
  const auto tick = std::chrono::milliseconds(options_.heartbeat_ms);
  auto next_tick = std::chrono::steady_clock::now() + tick;
  for (;;) {
    std::optional<Inputs> in = WaitForInputs(std::min(next_tick, announce_at_));
    if (!in) return;  // stopped
    for (auto& t : in->tasks) t(*node_);
    for (auto& m : in->received) {
      Status st = node_->Step(m);
      if (!st.ok()) logger_.Debug("dropped a peer message", {{"error", st.message()}});
    }
    if (std::chrono::steady_clock::now() >= next_tick) {
      node_->Tick();
      ++ticks_;
      // After a stall (a slow fsync), resume the clock from now rather than
      // firing the missed ticks back to back.
      next_tick = std::max(next_tick + tick, std::chrono::steady_clock::now());
      ExpireReadRounds();
      RetryHeldProposals(&*in);
    }
    ProposeAll(&*in);
    if (!in->reads.empty()) StartReadRound(std::move(in->reads));
    if (!HandleAllReady()) return;
    if (reissue_reads_) {
      // ReadIndex requests made while there was no leader were dropped by
      // Raft; ask the new leader for every round still waiting.
      reissue_reads_ = false;
      for (const auto& [ctx, round] : read_rounds_) node_->ReadIndex(ctx);
      if (!HandleAllReady()) return;
    }
    MaybeAnnounceCommit();
    if (!HandleAllReady()) return;
  }
}

void RaftNode::MaybeAnnounceCommit() {
  // One write at a time, the next proposal usually comes within the delay and
  // its append carries the commit index; otherwise the followers are told
  // alone (see raft::Config::defer_commit_announcement).
  const auto now = std::chrono::steady_clock::now();
  if (!node_->CommitUnannounced()) {
    announce_at_ = std::chrono::steady_clock::time_point::max();
  } else if (announce_at_ == std::chrono::steady_clock::time_point::max()) {
    announce_at_ = now + options_.commit_announce_delay;
  } else if (now >= announce_at_) {
    node_->AnnounceCommit();
    announce_at_ = std::chrono::steady_clock::time_point::max();
  }
}

std::optional<RaftNode::Inputs> RaftNode::WaitForInputs(
    std::chrono::steady_clock::time_point until) {
  Inputs in;
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, until, [&] {
    return stop_ || !proposals_.empty() || !pending_reads_.empty() || !received_.empty() ||
           !conf_proposals_.empty() || !tasks_.empty();
  });
  if (stop_) return std::nullopt;
  LingerForBatch(lock);
  in.proposals.swap(proposals_);
  in.reads.swap(pending_reads_);
  in.received.swap(received_);
  in.conf_proposals.swap(conf_proposals_);
  in.tasks.swap(tasks_);
  return in;
}

void RaftNode::RetryHeldProposals(Inputs* in) {
  // Proposals held for lack of a leader are retried once per tick, first.
  in->proposals.insert(in->proposals.begin(), std::make_move_iterator(held_proposals_.begin()),
                       std::make_move_iterator(held_proposals_.end()));
  held_proposals_.clear();
  in->conf_proposals.insert(in->conf_proposals.begin(), held_conf_proposals_.begin(),
                            held_conf_proposals_.end());
  held_conf_proposals_.clear();
}

void RaftNode::ProposeAll(Inputs* in) {
  for (auto& cc : in->conf_proposals) {
    if (lead_.load() == 0 || !node_->ProposeConfChange(cc).ok()) {
      held_conf_proposals_.push_back(std::move(cc));
    }
  }
  for (auto& p : in->proposals) {
    if (lead_.load() == 0 || !node_->Propose(p).ok()) held_proposals_.push_back(std::move(p));
  }
}

bool RaftNode::HandleAllReady() {
  while (node_->HasReady()) {
    if (!HandleReady(node_->GetReady())) return false;
  }
  return true;
}

void RaftNode::LingerForBatch(std::unique_lock<std::mutex>& lock) {
  // Group commit under concurrency: every fsync costs ~100 us of CPU here,
  // so when proposals arrive together, wait while more keep arriving (each
  // within kLinger of the previous, kMaxLinger in all) and let one fsync
  // cover them. A lone proposal is never delayed.
  constexpr auto kLinger = std::chrono::microseconds(100);
  constexpr auto kMaxLinger = std::chrono::microseconds(500);
  if (proposals_.size() < 2) return;
  const auto deadline = std::chrono::steady_clock::now() + kMaxLinger;
  for (size_t seen = proposals_.size(); !stop_; seen = proposals_.size()) {
    auto until = std::min(std::chrono::steady_clock::now() + kLinger, deadline);
    if (!cv_.wait_until(lock, until, [&] { return stop_ || proposals_.size() > seen; })) return;
    if (std::chrono::steady_clock::now() >= deadline) return;
  }
}

void RaftNode::StartReadRound(std::vector<std::promise<Result<uint64_t>>> waiters) {
  std::string ctx(8, '\0');
  uint64_t seq = ++read_seq_;
  for (int i = 0; i < 8; ++i) ctx[i] = static_cast<char>(seq >> (56 - 8 * i));
  read_rounds_[ctx] = ReadRound{std::move(waiters), ticks_};
  node_->ReadIndex(ctx);
}

void RaftNode::ExpireReadRounds() {
  const int timeout_ticks = options_.read_timeout_ms / options_.heartbeat_ms;
  const int resend_ticks = std::max(1, 500 / options_.heartbeat_ms);
  for (auto it = read_rounds_.begin(); it != read_rounds_.end();) {
    int age = ticks_ - it->second.started_tick;
    if (age < timeout_ticks) {
      // The leader may have dropped the request (a lost message, a leader
      // change): ask again, as etcd's linearizable read loop does.
      if (age > 0 && age % resend_ticks == 0) node_->ReadIndex(it->first);
      ++it;
      continue;
    }
    for (auto& p : it->second.waiters) {
      p.set_value(Status::Unavailable("etcdserver: request timed out"));
    }
    it = read_rounds_.erase(it);
  }
}

bool RaftNode::HandleReady(raft::Ready rd) {
  if (rd.soft_state) OnSoftState(*rd.soft_state);
  // The leader sends before it persists, so its fsync and the followers'
  // overlap (Raft thesis §10.2.1; etcd does the same). Safe here: followers
  // acknowledge only what they persisted, and this loop steps those
  // acknowledgements only after this Ready's Save returns, so nothing is
  // committed before the leader's own copy is durable too. Everyone else
  // persists first ("persist before send").
  const bool leader = node_->GetStatus().state == raft::StateType::kLeader;
  if (leader && !rd.messages.empty()) send_(std::move(rd.messages));
  if (!Persist(rd)) return false;
  if (!leader && !rd.messages.empty()) send_(std::move(rd.messages));
  for (const auto& rs : rd.read_states) {
    auto it = read_rounds_.find(rs.request_ctx);
    if (it == read_rounds_.end()) continue;
    for (auto& p : it->second.waiters) p.set_value(rs.index);
    read_rounds_.erase(it);
  }
  HandOverCommitted(rd);
  return true;
}

void RaftNode::OnSoftState(const raft::SoftState& ss) {
  if (ss.lead != lead_.load() && leader_sink_) leader_sink_(ss.lead);
  uint64_t old;
  {
    std::lock_guard lock(mu_);
    old = lead_.exchange(ss.lead);
  }
  lead_cv_.notify_all();
  if (old == ss.lead) return;
  // Rounds started without a leader were dropped by Raft: ask the new one.
  // Rounds a previous leader had are failed, as etcd's read loop does on a
  // leader change; the caller may retry.
  if (old != 0) {
    for (auto& [ctx, round] : read_rounds_) {
      for (auto& p : round.waiters) p.set_value(Status::Unavailable("etcdserver: leader changed"));
    }
    read_rounds_.clear();
  }
  reissue_reads_ = ss.lead != 0;
  logger_.Info(ss.lead == 0 ? "raft.node: lost leader" : "raft.node: elected leader",
               {{"leader", IdToHex(ss.lead)},
                {"state", StateName(ss.state)},
                {"term", node_->GetStatus().term}});
}

bool RaftNode::Persist(raft::Ready& rd) {
  // Without a durable log nothing may be acknowledged, sent (as a
  // follower) or applied; etcd logs these with lg.Fatal and exits.
  if (rd.snapshot) {
    // A snapshot from the leader: its file was saved by the snapshot handler;
    // the marker makes a restart look for it.
    Status s =
        wal_->SaveSnapshot({rd.snapshot->metadata().index(), rd.snapshot->metadata().term()});
    if (!s.ok()) {
      FailLoop("failed to save Raft snapshot", s);
      return false;
    }
  }
  if (rd.hard_state || !rd.entries.empty()) {
    Status s = wal_->Save(rd.hard_state.value_or(raftpb::HardState()), rd.entries);
    if (!s.ok()) {
      FailLoop("failed to save Raft hard state and entries", s);
      return false;
    }
  }
  if (rd.snapshot) {
    Status s = storage_->ApplySnapshot(*rd.snapshot);
    if (!s.ok()) {
      FailLoop("failed to apply Raft snapshot", s);
      return false;
    }
    logger_.Info("applied incoming snapshot", {{"snapshot-index", rd.snapshot->metadata().index()},
                                               {"term", rd.snapshot->metadata().term()}});
    snapshot_sink_(*rd.snapshot);
  }
  if (rd.hard_state) {
    Status hs = storage_->SetHardState(*rd.hard_state);
    if (!hs.ok()) logger_.Error("raft storage", {{"error", hs.message()}});
    term_ = rd.hard_state->term();
    commit_ = rd.hard_state->commit();
  }
  if (!rd.entries.empty()) {
    Status as = storage_->Append(rd.entries);
    if (!as.ok()) logger_.Error("raft storage", {{"error", as.message()}});
  }
  return true;
}

void RaftNode::HandOverCommitted(raft::Ready& rd) {
  // ConfChange entries take effect once the apply loop has applied them
  // (and decided whether to), before the Ready is acknowledged, so that Raft
  // allows the next change only after this one is in force.
  size_t conf_changes =
      std::count_if(rd.committed_entries.begin(), rd.committed_entries.end(),
                    [](const raftpb::Entry& e) { return e.type() == raftpb::ENTRY_CONF_CHANGE; });
  if (conf_changes == 0) {
    node_->Advance(rd);
    if (!rd.committed_entries.empty()) sink_(std::move(rd.committed_entries));
    return;
  }
  sink_(rd.committed_entries);
  if (!ApplyConfChanges(conf_changes)) return;  // stopping
  node_->Advance(rd);
}

}  // namespace etcdd::server
