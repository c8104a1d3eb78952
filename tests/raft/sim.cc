#include "sim.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>

namespace etcdd::raft::sim {

namespace {

constexpr char kMarkerPrefix[] = "marker:";

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

uint64_t EntryHash(const raftpb::Entry& e) {
  uint64_t h = Mix(e.term(), static_cast<uint64_t>(e.type()));
  return Mix(h, std::hash<std::string>{}(e.data()));
}

std::string Where(uint64_t id, uint64_t index) {
  return "member " + std::to_string(id) + " index " + std::to_string(index);
}

}  // namespace

Cluster::Cluster(const Options& options) : opts_(options), rng_(options.seed) {
  // Small messages and windows make followers acknowledge logs piecemeal,
  // which exposes commit rules (e.g. Figure 8) that large appends hide.
  const uint64_t sizes[] = {0, 64, 4096};
  const int windows[] = {1, 4, 256};
  max_size_per_msg_ = sizes[Rand(3)];
  max_inflight_msgs_ = windows[Rand(3)];
  std::vector<uint64_t> ids;
  for (int i = 1; i <= opts_.members; ++i) ids.push_back(i);
  for (uint64_t id : ids) {
    Member& m = members_[id];
    m.id = id;
    m.disk = std::make_unique<MemoryStorage>();
    StartNode(m);
    EXPECT_TRUE(m.node->Bootstrap(ids).ok());
  }
}

Cluster::~Cluster() = default;

void Cluster::StartNode(Member& m) {
  Config c;
  c.id = m.id;
  c.storage = m.disk.get();
  c.election_tick = 10;
  c.heartbeat_tick = 1;
  c.max_size_per_msg = max_size_per_msg_;
  c.max_inflight_msgs = max_inflight_msgs_;
  c.check_quorum = opts_.check_quorum;
  c.pre_vote = opts_.pre_vote;
  c.random_seed = Mix(opts_.seed, static_cast<uint64_t>(m.incarnation));
  auto node = RawNode::Create(c);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  m.node = std::move(node).value();
  // The state machine restarts from the disk's snapshot, if any.
  auto snap = m.disk->GetSnapshot();
  ASSERT_TRUE(snap.ok());
  m.applied = snap->metadata().index();
  m.sm_hash = 0;
  if (m.applied > 0) {
    ASSERT_LE(m.applied, sm_chain_.size());
    m.sm_hash = sm_chain_[m.applied - 1];
    EXPECT_EQ(snap->data(), std::to_string(m.sm_hash)) << Where(m.id, m.applied);
  }
  m.seen_commit = m.node->GetStatus().commit;
  m.applied_markers.clear();
  // A restarted member starts from what it persisted, nothing more or less.
  EXPECT_EQ(m.seen_commit, m.hard_state.commit()) << Where(m.id, 0);
  EXPECT_EQ(m.node->GetStatus().term, m.hard_state.term()) << Where(m.id, 0);
}

std::vector<Cluster::Member*> Cluster::Live() {
  std::vector<Member*> out;
  for (auto& [id, m] : members_) {
    if (m.node) out.push_back(&m);
  }
  return out;
}

Cluster::Member* Cluster::RandomLive() {
  std::vector<Member*> live = Live();
  return live.empty() ? nullptr : live[Rand(live.size())];
}

void Cluster::Chaos(int steps) {
  faults_ = true;
  if (opts_.isolate_one && isolated_ == 0) {
    isolated_ = 1 + Rand(members_.size());
    isolating_ = true;
    KeepIsolated();
  }
  for (int i = 0; i < steps && !::testing::Test::HasFailure(); ++i) RandomStep();
}

void Cluster::RandomStep() {
  // Per mille: deliver 400, handle a Ready 300, tick 150, propose 90, read 40,
  // compact 5, change membership 3, transfer leadership 2, crash 1, restart 3,
  // partition 1, heal partitions 5.
  const uint64_t roll = Rand(1000);
  Member* m = RandomLive();
  if (roll < 400) {
    if (!net_.empty()) Deliver(faults_);
  } else if (roll < 700) {
    if (m != nullptr && m->node->HasReady()) HandleReady(*m);
  } else if (roll < 850) {
    if (m != nullptr) {
      m->node->Tick();
      AfterStep(*m);
    }
  } else if (roll < 940) {
    if (m != nullptr) Propose(*m, "p" + std::to_string(next_proposal_++));
  } else if (roll < 980) {
    if (m != nullptr) Read(*m);
  } else if (roll < 985) {
    if (opts_.compaction && m != nullptr) Compact(*m);
  } else if (roll < 988) {
    if (opts_.conf_changes) ChangeMembership();
  } else if (roll < 990) {
    if (opts_.transfers) TransferLeadership();
  } else if (roll < 991) {
    if (opts_.crashes && m != nullptr) Crash(Chance(0.5) ? LeaderOr(*m) : *m);
  } else if (roll < 994) {
    for (auto& [id, x] : members_) {
      if (!x.node && !x.stopped) {
        Restart(x);
        break;
      }
    }
  } else if (roll < 995) {
    if (opts_.partitions) Partition();
  } else {
    for (auto& [id, x] : members_) x.group = 0;
    KeepIsolated();
  }
}

void Cluster::KeepIsolated() {
  if (isolating_) members_.at(isolated_).group = 2;
}

void Cluster::Deliver(bool allow_faults) {
  const size_t window = allow_faults ? std::min<size_t>(net_.size(), opts_.reorder_window) : 1;
  const size_t pick = Rand(window);
  raftpb::Message msg = std::move(net_[pick]);
  net_.erase(net_.begin() + pick);
  auto it = members_.find(msg.to());
  if (it == members_.end()) return;
  Member& to = it->second;
  Member& from = members_.at(msg.from());
  if (to.node && to.removed_peers.count(from.id) != 0 && from.node && !KnowsRemoved(from)) {
    // etcd's transport rejects a removed member, which then stops. One that
    // applied its own removal keeps running here (etcd stops it after a
    // delay): a voter that has not applied the removal yet may need its vote.
    from.node.reset();
    from.stopped = true;
  }
  // Down, partitioned, or between a member and one it knows removed (etcd's
  // transport drops them): lost.
  if (!to.node || to.group != from.group || to.removed_peers.count(from.id) != 0 ||
      from.removed_peers.count(to.id) != 0 || (allow_faults && Chance(opts_.drop))) {
    ReportSnap(msg, false);
    return;
  }
  if (allow_faults && Chance(opts_.duplicate))
    net_.insert(net_.begin() + Rand(net_.size() + 1), msg);
  static_cast<void>(to.node->Step(msg));  // stale or unexpected messages are rejected; fine
  AfterStep(to);
  ReportSnap(msg, true);
}

bool Cluster::KnowsRemoved(const Member& m) const {
  const raftpb::ConfState cs = m.node->GetConfState();
  for (uint64_t id : cs.voters()) {
    if (id == m.id) return false;
  }
  for (uint64_t id : cs.learners()) {
    if (id == m.id) return false;
  }
  return ever_removed_.count(m.id) != 0;
}

// The transport reports snapshot sends, as etcd's does.
void Cluster::ReportSnap(const raftpb::Message& msg, bool delivered) {
  if (msg.type() != raftpb::MSG_SNAP) return;
  Member& from = members_.at(msg.from());
  if (!from.node) return;
  from.node->ReportSnapshot(msg.to(),
                            delivered ? SnapshotStatus::kFinish : SnapshotStatus::kFailure);
  AfterStep(from);
}

// Snapshots the state machine at the applied index and compacts the disk
// there, so followers further behind need the snapshot.
void Cluster::Compact(Member& m) {
  // Not before the bootstrap configuration is applied (the ConfState would
  // be ahead of the applied index).
  if (m.applied <= static_cast<uint64_t>(opts_.members) || m.applied < m.disk->FirstIndex()) return;
  const raftpb::ConfState cs = m.node->GetConfState();
  ASSERT_TRUE(m.disk->CreateSnapshot(m.applied, &cs, std::to_string(m.sm_hash)).ok());
  ASSERT_TRUE(m.disk->Compact(m.applied).ok());
}

void Cluster::ChangeMembership() {
  Member* leader = nullptr;
  for (Member* m : Live()) {
    if (m->node->GetStatus().state == StateType::kLeader) leader = &LeaderOr(*m);
  }
  if (leader == nullptr) return;
  const raftpb::ConfState cs = leader->node->GetConfState();
  std::vector<uint64_t> all(cs.voters().begin(), cs.voters().end());
  all.insert(all.end(), cs.learners().begin(), cs.learners().end());
  raftpb::ConfChange cc;
  const uint64_t kind = Rand(4);
  if (kind < 2) {
    if (members_.size() >= static_cast<size_t>(opts_.max_members)) return;
    const uint64_t id = members_.size() + 1;
    Member& n = members_[id];
    n.id = id;
    n.disk = std::make_unique<MemoryStorage>();
    // Like etcd's --initial-cluster, a new member knows the current members
    // only: earlier removed ones cannot reach it.
    n.removed_peers = ever_removed_;
    StartNode(n);  // empty and not bootstrapped: it learns from the leader
    cc.set_type(kind == 0 ? raftpb::CONF_CHANGE_ADD_NODE : raftpb::CONF_CHANGE_ADD_LEARNER_NODE);
    cc.set_node_id(id);
  } else if (kind == 2) {
    if (cs.learners_size() == 0) return;
    cc.set_type(raftpb::CONF_CHANGE_ADD_NODE);  // promote
    cc.set_node_id(cs.learners(Rand(cs.learners_size())));
  } else {
    if (all.empty()) return;
    const uint64_t id = all[Rand(all.size())];
    bool is_voter = false;
    for (uint64_t v : cs.voters()) is_voter = is_voter || v == id;
    if (is_voter && cs.voters_size() <= 1) return;  // never remove the last voter
    cc.set_type(raftpb::CONF_CHANGE_REMOVE_NODE);
    cc.set_node_id(id);
  }
  static_cast<void>(leader->node->ProposeConfChange(cc));
  AfterStep(*leader);
}

void Cluster::TransferLeadership() {
  Member* m = RandomLive();
  if (m == nullptr) return;
  Member& leader = LeaderOr(*m);
  if (leader.node->GetStatus().state != StateType::kLeader) return;
  const raftpb::ConfState cs = leader.node->GetConfState();
  if (cs.voters_size() == 0) return;
  ++stats_.transfers;
  leader.node->TransferLeader(cs.voters(Rand(cs.voters_size())));
  AfterStep(leader);
}

// The leader's snapshot is installed: it must be the state every member had
// at its index; the disk (and its shadow) then start after it.
void Cluster::OnSnapshot(Member& m, const raftpb::Snapshot& snap) {
  ++stats_.snapshots_installed;
  if (m.id == isolated_) ++stats_.isolated_snapshots;
  const uint64_t index = snap.metadata().index();
  ASSERT_LE(index, committed_.size()) << "snapshot of uncommitted state at " << Where(m.id, index);
  ASSERT_LE(index, sm_chain_.size()) << "snapshot of unapplied state at " << Where(m.id, index);
  EXPECT_EQ(snap.data(), std::to_string(sm_chain_[index - 1]))
      << "snapshot differs from the state machine at " << Where(m.id, index);
  EXPECT_GT(index, m.applied) << "snapshot older than the applied state on member " << m.id;
  ASSERT_TRUE(m.disk->ApplySnapshot(snap).ok());
  m.log.clear();
  for (uint64_t i = 0; i < index; ++i) m.log.push_back(committed_[i].entry);
  m.applied = index;
  m.sm_hash = sm_chain_[index - 1];
  // The snapshot carries the membership (etcd's cluster store): members
  // removed before it, which it does not list, are known removed.
  std::set<uint64_t> listed(snap.metadata().conf_state().voters().begin(),
                            snap.metadata().conf_state().voters().end());
  listed.insert(snap.metadata().conf_state().learners().begin(),
                snap.metadata().conf_state().learners().end());
  for (uint64_t id : ever_removed_) {
    if (listed.count(id) == 0) m.removed_peers.insert(id);
  }
}

void Cluster::HandleReady(Member& m) {
  Ready rd = m.node->GetReady();
  // 1. Persist.
  if (rd.snapshot) {
    OnSnapshot(m, *rd.snapshot);
    if (::testing::Test::HasFailure()) return;
  }
  if (rd.hard_state) {
    ASSERT_TRUE(m.disk->SetHardState(*rd.hard_state).ok());
  }
  ASSERT_TRUE(m.disk->Append(rd.entries).ok());
  OnPersist(m, rd);
  // 2. Send.
  for (raftpb::Message& msg : rd.messages) net_.push_back(std::move(msg));
  // 3. Apply.
  for (const raftpb::Entry& e : rd.committed_entries) OnApply(m, e);
  for (const ReadState& rs : rd.read_states) OnReadState(m, rs);
  m.node->Advance(rd);
  AfterStep(m);
  if (m.node->GetStatus().state == StateType::kLeader) {
    CheckLeaderCompleteness(m, m.node->GetStatus().term);
  }
}

void Cluster::Propose(Member& m, const std::string& data) {
  ++stats_.proposals;
  static_cast<void>(m.node->Propose(data));  // dropped without a leader: fine
  AfterStep(m);
}

void Cluster::Read(Member& m) {
  const std::string ctx = "read-" + std::to_string(next_read_++);
  read_floor_[ctx] = max_persisted_commit_;
  m.node->ReadIndex(ctx);
  AfterStep(m);
}

void Cluster::Crash(Member& m) {
  ++stats_.crashes;
  m.node.reset();  // whatever was not persisted is gone
  m.applied_markers.clear();
}

void Cluster::Restart(Member& m) {
  ++m.incarnation;
  StartNode(m);
  // An initial member that crashed before persisting its bootstrap has no
  // data: like etcd with no WAL, it bootstraps again. (Restarting it empty
  // but not bootstrapped would let it apply "add me" from a leader's log and
  // elect itself as the sole voter of that one-entry configuration.)
  if (m.id <= static_cast<uint64_t>(opts_.members) && m.disk->LastIndex() == 0) {
    std::vector<uint64_t> ids;
    for (int i = 1; i <= opts_.members; ++i) ids.push_back(static_cast<uint64_t>(i));
    EXPECT_TRUE(m.node->Bootstrap(ids).ok());
  }
}

Cluster::Member& Cluster::LeaderOr(Member& fallback) {
  Member* leader = &fallback;
  uint64_t term = 0;
  for (Member* m : Live()) {
    const BasicStatus s = m->node->GetStatus();
    if (s.state == StateType::kLeader && s.term > term) {
      leader = m;
      term = s.term;
    }
  }
  return *leader;
}

void Cluster::Partition() {
  ++stats_.partitions;
  for (auto& [id, m] : members_) m.group = 0;
  if (Chance(0.5)) {
    // Isolate one member, most often the leader.
    Member& random = members_.at(1 + Rand(members_.size()));
    if (random.node && Chance(0.7)) {
      LeaderOr(random).group = 1;
    } else {
      random.group = 1;
    }
  } else {
    for (auto& [id, m] : members_) m.group = static_cast<int>(Rand(2));
  }
  KeepIsolated();
}

void Cluster::Heal() {
  faults_ = false;
  isolating_ = false;
  for (auto& [id, m] : members_) {
    m.group = 0;
    if (!m.node && !m.stopped) Restart(m);
  }
}

void Cluster::Flush() {
  for (int round = 0; round < 200; ++round) {
    bool moved = false;
    for (Member* m : Live()) {
      while (m->node->HasReady() && !::testing::Test::HasFailure()) {
        HandleReady(*m);
        moved = true;
      }
    }
    while (!net_.empty() && !::testing::Test::HasFailure()) {
      Deliver(false);
      moved = true;
    }
    if (!moved || ::testing::Test::HasFailure()) return;
  }
}

bool Cluster::AllApplied(const std::string& marker) {
  // Every member of the current leader's configuration.
  std::vector<Member*> live = Live();
  if (live.empty()) return false;
  Member& leader = LeaderOr(*live[0]);
  if (leader.node->GetStatus().state != StateType::kLeader) return false;
  const raftpb::ConfState cs = leader.node->GetConfState();
  std::vector<uint64_t> ids(cs.voters().begin(), cs.voters().end());
  ids.insert(ids.end(), cs.learners().begin(), cs.learners().end());
  for (uint64_t id : ids) {
    auto it = members_.find(id);
    if (it == members_.end() || !it->second.node || it->second.applied_markers.count(marker) == 0) {
      return false;
    }
  }
  return true;
}

bool Cluster::Converge(const std::string& marker, int max_ticks) {
  const std::string data = kMarkerPrefix + marker;
  for (int tick = 0; tick < max_ticks && !::testing::Test::HasFailure(); ++tick) {
    for (Member* m : Live()) {
      m->node->Tick();
      AfterStep(*m);
    }
    Flush();
    if (AllApplied(data)) return true;
    // Servers snapshot periodically; a member added after the last snapshot
    // can only install a later one (it refuses a snapshot without itself).
    if (opts_.compaction && tick % 25 == 24) {
      for (Member* m : Live()) Compact(*m);
    }
    // Propose the marker on the leader now and then (a proposal can be lost
    // when leadership changes).
    if (tick % 10 == 0) {
      for (Member* m : Live()) {
        if (m->node->GetStatus().state == StateType::kLeader) Propose(*m, data);
      }
    }
  }
  return false;
}

std::string Cluster::DebugString() const {
  std::string out;
  for (const auto& [id, m] : members_) {
    out += "member " + std::to_string(id);
    if (!m.node) {
      out += " down\n";
      continue;
    }
    const BasicStatus st = m.node->GetStatus();
    out += " " + std::string(StateTypeName(st.state)) + " term " + std::to_string(st.term) +
           " lead " + std::to_string(st.lead) + " commit " + std::to_string(st.commit) +
           " applied " + std::to_string(m.applied) + " conf {" +
           m.node->GetConfState().ShortDebugString() + "} removed_peers " +
           std::to_string(m.removed_peers.size()) + "\n";
  }
  return out;
}

// ---------------------------------------------------------------------------
// Safety checks.

void Cluster::AfterStep(Member& m) {
  const BasicStatus s = m.node->GetStatus();
  Status inv = m.node->VerifyInvariants();
  EXPECT_TRUE(inv.ok()) << inv.ToString();
  if (s.state == StateType::kLeader) {
    auto [it, inserted] = leader_of_term_.emplace(s.term, m.id);
    if (inserted) ++stats_.elections;
    EXPECT_EQ(it->second, m.id) << "two leaders in term " << s.term;
  }
  EXPECT_GE(s.commit, m.seen_commit) << "commit index decreased on " << Where(m.id, s.commit);
  m.seen_commit = s.commit;
}

void Cluster::OnPersist(Member& m, const Ready& rd) {
  if (rd.hard_state) {
    const raftpb::HardState& hs = *rd.hard_state;
    EXPECT_GE(hs.term(), m.hard_state.term()) << "persisted term decreased on member " << m.id;
    EXPECT_GE(hs.commit(), m.hard_state.commit())
        << "persisted commit decreased on member " << m.id;
    if (hs.vote() != 0) {
      auto [it, inserted] = m.votes.emplace(hs.term(), hs.vote());
      EXPECT_EQ(it->second, hs.vote())
          << "member " << m.id << " voted for two candidates in term " << hs.term();
    }
    m.hard_state = hs;
  }
  if (!rd.entries.empty()) {
    const uint64_t first = rd.entries.front().index();
    ASSERT_LE(first, m.log.size() + 1) << "gap in persisted log of member " << m.id;
    m.log.resize(first - 1);
    for (const raftpb::Entry& e : rd.entries) {
      Digest d{e.term(), EntryHash(e), 0};
      d.prefix = Mix(m.log.empty() ? 0 : m.log.back().prefix, d.hash);
      m.log.push_back(d);
    }
    CheckLogMatching(m);
  }
  ObserveCommit(m);
}

void Cluster::CheckLogMatching(const Member& m) {
  for (const auto& [id, other] : members_) {
    if (id == m.id) continue;
    // The highest index at which both logs have the same term: the prefixes
    // up to it must be identical.
    for (size_t i = std::min(m.log.size(), other.log.size()); i > 0; --i) {
      if (m.log[i - 1].term != other.log[i - 1].term) continue;
      EXPECT_EQ(m.log[i - 1].prefix, other.log[i - 1].prefix)
          << "log matching violated between members " << m.id << " and " << id << " up to index "
          << i;
      break;
    }
  }
}

void Cluster::ObserveCommit(Member& m) {
  const uint64_t commit = m.hard_state.commit();
  ASSERT_LE(commit, m.log.size()) << "commit beyond the persisted log on member " << m.id;
  max_persisted_commit_ = std::max(max_persisted_commit_, commit);
  stats_.max_commit = std::max(stats_.max_commit, commit);
  for (uint64_t i = 1; i <= commit; ++i) {
    const Digest& d = m.log[i - 1];
    if (i > committed_.size()) {
      committed_.push_back(CommitRecord{d, m.hard_state.term()});
      continue;
    }
    CommitRecord& rec = committed_[i - 1];
    EXPECT_EQ(rec.entry.hash, d.hash) << "two different entries committed at " << Where(m.id, i);
    rec.term_known = std::min(rec.term_known, m.hard_state.term());
    if (::testing::Test::HasFailure()) return;
  }
}

void Cluster::CheckLeaderCompleteness(Member& m, uint64_t term) {
  if (!m.terms_led_checked.insert(term).second) return;
  for (uint64_t i = 1; i <= committed_.size(); ++i) {
    const CommitRecord& rec = committed_[i - 1];
    if (rec.term_known >= term) continue;
    ASSERT_LE(i, m.log.size()) << "leader of term " << term << " lacks committed "
                               << Where(m.id, i);
    EXPECT_EQ(m.log[i - 1].hash, rec.entry.hash)
        << "leader of term " << term << " has a different committed entry at " << Where(m.id, i);
  }
}

void Cluster::OnApply(Member& m, const raftpb::Entry& e) {
  ASSERT_EQ(e.index(), m.applied + 1) << "applied out of order on member " << m.id;
  ASSERT_LE(e.index(), m.log.size())
      << "applied an unpersisted entry at " << Where(m.id, e.index());
  EXPECT_EQ(m.log[e.index() - 1].hash, EntryHash(e)) << "applied entry differs from the disk";
  const Digest d{e.term(), EntryHash(e), 0};
  m.sm_hash = Mix(m.sm_hash, d.hash);
  if (e.index() > applied_.size()) {
    ASSERT_EQ(e.index(), applied_.size() + 1) << "applied past the known state at " << e.index();
    applied_.push_back(d);
    sm_chain_.push_back(m.sm_hash);
  } else {
    EXPECT_EQ(sm_chain_[e.index() - 1], m.sm_hash)
        << "state machine differs after " << Where(m.id, e.index());
    EXPECT_EQ(applied_[e.index() - 1].hash, d.hash)
        << "state machine safety: two entries applied at " << Where(m.id, e.index());
  }
  m.applied = e.index();
  if (e.type() == raftpb::ENTRY_CONF_CHANGE) {
    raftpb::ConfChange cc;
    ASSERT_TRUE(cc.ParseFromString(e.data()));
    m.node->ApplyConfChange(cc);
    if (e.index() > static_cast<uint64_t>(opts_.members)) ++stats_.conf_changes_applied;
    if (cc.type() == raftpb::CONF_CHANGE_REMOVE_NODE) {
      m.removed_peers.insert(cc.node_id());
      ever_removed_.insert(cc.node_id());  // ids are never reused
    }
  } else if (e.data().rfind(kMarkerPrefix, 0) == 0) {
    m.applied_markers.insert(e.data());
  }
}

void Cluster::OnReadState(Member& m, const ReadState& rs) {
  ++stats_.reads_answered;
  auto it = read_floor_.find(rs.request_ctx);
  ASSERT_NE(it, read_floor_.end()) << "unknown read request " << rs.request_ctx;
  EXPECT_GE(rs.index, it->second) << "stale read index for " << rs.request_ctx << " on member "
                                  << m.id << ": a commit persisted before the request is newer";
}

}  // namespace etcdd::raft::sim
