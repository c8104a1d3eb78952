#include "test_util.h"

#include <gtest/gtest.h>

#include <deque>

namespace etcdd::raft::testing {

raftpb::Entry MakeEntry(uint64_t term, uint64_t index, std::string data) {
  raftpb::Entry e;
  e.set_term(term);
  e.set_index(index);
  e.set_data(std::move(data));
  return e;
}

std::vector<raftpb::Entry> EntriesWithTerms(uint64_t first, const std::vector<uint64_t>& terms) {
  std::vector<raftpb::Entry> out;
  for (size_t i = 0; i < terms.size(); ++i) out.push_back(MakeEntry(terms[i], first + i));
  return out;
}

std::unique_ptr<MemoryStorage> StorageWithVoters(const std::vector<uint64_t>& voters,
                                                 const std::vector<raftpb::Entry>& entries,
                                                 const raftpb::HardState& hs) {
  return StorageWithConf(voters, {}, entries, hs);
}

std::unique_ptr<MemoryStorage> StorageWithConf(const std::vector<uint64_t>& voters,
                                               const std::vector<uint64_t>& learners,
                                               const std::vector<raftpb::Entry>& entries,
                                               const raftpb::HardState& hs) {
  auto s = std::make_unique<MemoryStorage>();
  raftpb::Snapshot snap;
  snap.mutable_metadata()->set_index(1);
  snap.mutable_metadata()->set_term(1);
  for (uint64_t v : voters) snap.mutable_metadata()->mutable_conf_state()->add_voters(v);
  for (uint64_t l : learners) snap.mutable_metadata()->mutable_conf_state()->add_learners(l);
  EXPECT_TRUE(s->ApplySnapshot(snap).ok());
  EXPECT_TRUE(s->Append(entries).ok());
  raftpb::HardState h = hs;
  if (h.term() == 0) h.set_term(1);
  if (h.commit() == 0) h.set_commit(1);
  EXPECT_TRUE(s->SetHardState(h).ok());
  return s;
}

Config TestConfig(uint64_t id, Storage* storage) {
  Config c;
  c.id = id;
  c.storage = storage;
  c.election_tick = 10;
  c.heartbeat_tick = 1;
  c.random_seed = 42;
  return c;
}

std::unique_ptr<RawNode> MustCreate(const Config& c) {
  auto r = RawNode::Create(c);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

raftpb::HardState MakeHardState(uint64_t term, uint64_t vote, uint64_t commit) {
  raftpb::HardState hs;
  hs.set_term(term);
  hs.set_vote(vote);
  hs.set_commit(commit);
  return hs;
}

raftpb::ConfChange MakeConfChange(raftpb::ConfChangeType type, uint64_t node) {
  raftpb::ConfChange cc;
  cc.set_type(type);
  cc.set_node_id(node);
  return cc;
}

Ready HandleReady(RawNode* node, MemoryStorage* storage) {
  Ready rd = node->GetReady();
  if (rd.snapshot) {
    EXPECT_TRUE(storage->ApplySnapshot(*rd.snapshot).ok());
  }
  if (rd.hard_state) {
    EXPECT_TRUE(storage->SetHardState(*rd.hard_state).ok());
  }
  EXPECT_TRUE(storage->Append(rd.entries).ok());
  for (const raftpb::Entry& e : rd.committed_entries) {
    if (e.type() != raftpb::ENTRY_CONF_CHANGE) continue;
    raftpb::ConfChange cc;
    EXPECT_TRUE(cc.ParseFromString(e.data()));
    node->ApplyConfChange(cc);
  }
  node->Advance(rd);
  return rd;
}

std::vector<raftpb::Message> Filter(const std::vector<raftpb::Message>& msgs,
                                    raftpb::MessageType type) {
  std::vector<raftpb::Message> out;
  for (const auto& m : msgs) {
    if (m.type() == type) out.push_back(m);
  }
  return out;
}

std::vector<raftpb::Entry> StoredEntries(const MemoryStorage& s) {
  if (s.LastIndex() < s.FirstIndex()) return {};
  auto ents = s.Entries(s.FirstIndex(), s.LastIndex() + 1, UINT64_MAX);
  EXPECT_TRUE(ents.ok()) << ents.status().ToString();
  return ents.ok() ? *ents : std::vector<raftpb::Entry>{};
}

raftpb::Message Msg(const MsgSpec& spec) {
  raftpb::Message m;
  m.set_type(spec.type);
  m.set_from(spec.from);
  m.set_to(spec.to);
  m.set_term(spec.term);
  m.set_log_term(spec.log_term);
  m.set_index(spec.index);
  m.set_commit(spec.commit);
  m.set_reject(spec.reject);
  m.set_reject_hint(spec.reject_hint);
  for (const auto& e : spec.entries) *m.add_entries() = e;
  m.set_context(spec.context);
  return m;
}

void Solo::Receive(const MsgSpec& spec) {
  Status st = Step(spec);
  EXPECT_TRUE(st.ok()) << st.ToString();
}

std::vector<raftpb::Message> Solo::Drain() {
  std::vector<raftpb::Message> out;
  for (Ready& rd : DrainReadies()) {
    out.insert(out.end(), rd.messages.begin(), rd.messages.end());
  }
  return out;
}

std::vector<Ready> Solo::DrainReadies() {
  std::vector<Ready> out;
  while (node->HasReady()) out.push_back(HandleReady(node.get(), storage.get()));
  node->CheckInvariants();
  return out;
}

Solo MakeSolo(uint64_t id, const std::vector<uint64_t>& voters,
              const std::vector<raftpb::Entry>& entries, const raftpb::HardState& hs,
              const std::function<void(Config&)>& tweak) {
  Solo s;
  s.storage = StorageWithVoters(voters, entries, hs);
  Config c = TestConfig(id, s.storage.get());
  if (tweak) tweak(c);
  s.node = MustCreate(c);
  return s;
}

Network::Network(int n, const std::function<void(Config&)>& tweak) {
  std::vector<uint64_t> ids;
  for (int i = 1; i <= n; ++i) {
    ids.push_back(i);
    members_[i].id = i;
    members_[i].storage = std::make_unique<MemoryStorage>();
  }
  Init(tweak);
  for (auto& [id, m] : members_) EXPECT_TRUE(m.node->Bootstrap(ids).ok());
  Stabilize();
}

Network::Network(std::map<uint64_t, std::unique_ptr<MemoryStorage>> storages,
                 const std::function<void(Config&)>& tweak) {
  for (auto& [id, s] : storages) {
    members_[id].id = id;
    members_[id].storage = std::move(s);
  }
  Init(tweak);
}

void Network::Init(const std::function<void(Config&)>& tweak) {
  for (auto& [id, m] : members_) {
    Config c = TestConfig(id, m.storage.get());
    if (tweak) tweak(c);
    m.node = MustCreate(c);
  }
}

void Network::AddMember(uint64_t id, const std::function<void(Config&)>& tweak) {
  Member& m = members_[id];
  m.id = id;
  m.storage = std::make_unique<MemoryStorage>();
  Config c = TestConfig(id, m.storage.get());
  if (tweak) tweak(c);
  m.node = MustCreate(c);
}

std::vector<uint64_t> Network::ids() const {
  std::vector<uint64_t> out;
  for (const auto& [id, m] : members_) out.push_back(id);
  return out;
}

bool Network::Dropped(const raftpb::Message& m) const {
  if (isolated_.count(m.from()) || isolated_.count(m.to())) return true;
  if (cut_.count({m.from(), m.to()})) return true;
  if (ignored_.count(m.type())) return true;
  return members_.count(m.to()) == 0;
}

void Network::Stabilize() {
  for (int round = 0; round < 10000; ++round) {
    std::deque<raftpb::Message> queue;
    for (auto& [id, m] : members_) {
      while (m.node->HasReady()) {
        Ready rd = HandleReady(m.node.get(), m.storage.get());
        m.applied.insert(m.applied.end(), rd.committed_entries.begin(), rd.committed_entries.end());
        m.read_states.insert(m.read_states.end(), rd.read_states.begin(), rd.read_states.end());
        for (auto& msg : rd.messages) queue.push_back(std::move(msg));
      }
      m.node->CheckInvariants();
    }
    if (queue.empty()) return;
    for (const raftpb::Message& msg : queue) {
      sent_.push_back(msg);
      const bool dropped = Dropped(msg);
      // Report snapshot sends as the server's transport does.
      if (msg.type() == raftpb::MSG_SNAP && members_.count(msg.from()) != 0) {
        members_.at(msg.from())
            .node->ReportSnapshot(msg.to(),
                                  dropped ? SnapshotStatus::kFailure : SnapshotStatus::kFinish);
      }
      if (dropped) continue;
      static_cast<void>(members_.at(msg.to()).node->Step(msg));
    }
  }
  ADD_FAILURE() << "network did not stabilize";
}

void Network::Campaign(uint64_t id) {
  EXPECT_TRUE(node(id).Campaign().ok());
  Stabilize();
}

void Network::Tick(uint64_t id) {
  for (auto& [mid, m] : members_) {
    if (id == 0 || id == mid) m.node->Tick();
  }
  Stabilize();
}

void Network::TickN(int n, uint64_t id) {
  for (int i = 0; i < n; ++i) Tick(id);
}

Status Network::Propose(uint64_t id, const std::string& data) {
  Status s = node(id).Propose(data);
  Stabilize();
  return s;
}

void Network::Compact(uint64_t id) {
  Member& m = members_.at(id);
  const uint64_t applied = m.node->GetStatus().applied;
  const raftpb::ConfState cs = m.node->GetConfState();
  ASSERT_TRUE(m.storage->CreateSnapshot(applied, &cs, "snap@" + std::to_string(applied)).ok());
  ASSERT_TRUE(m.storage->Compact(applied).ok());
}

void Network::Cut(uint64_t a, uint64_t b) {
  cut_.insert({a, b});
  cut_.insert({b, a});
}

void Network::Isolate(uint64_t id) { isolated_.insert(id); }

void Network::Ignore(raftpb::MessageType type) { ignored_.insert(type); }

void Network::Recover() {
  cut_.clear();
  isolated_.clear();
  ignored_.clear();
}

uint64_t Network::Leader() {
  uint64_t leader = 0;
  uint64_t term = 0;
  for (auto& [id, m] : members_) {
    BasicStatus s = m.node->GetStatus();
    if (s.state == StateType::kLeader && s.term > term) {
      leader = id;
      term = s.term;
    }
  }
  return leader;
}

}  // namespace etcdd::raft::testing
