// Helpers for the lib/raft tests: building entries and storages, handling a
// Ready the way the server does, and a deterministic in-memory network that
// delivers every message at once (with filters to drop, cut and isolate),
// after etcd's raft_test.go network.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "raft/memory_storage.h"
#include "raft/raw_node.h"
#include "raftpb/raft.pb.h"

namespace etcdd::raft::testing {

raftpb::Entry MakeEntry(uint64_t term, uint64_t index, std::string data = "");
// Entries with the given terms at indexes first, first+1, ...
std::vector<raftpb::Entry> EntriesWithTerms(uint64_t first, const std::vector<uint64_t>& terms);

// A storage whose log starts after a snapshot at (index 1, term 1) recording
// `voters`, so a RawNode created on it knows its configuration at once; then
// `entries` (indexes from 2) and `hs`.
std::unique_ptr<MemoryStorage> StorageWithVoters(const std::vector<uint64_t>& voters,
                                                 const std::vector<raftpb::Entry>& entries = {},
                                                 const raftpb::HardState& hs = {});

// Likewise with `learners` too.
std::unique_ptr<MemoryStorage> StorageWithConf(const std::vector<uint64_t>& voters,
                                               const std::vector<uint64_t>& learners,
                                               const std::vector<raftpb::Entry>& entries = {},
                                               const raftpb::HardState& hs = {});

Config TestConfig(uint64_t id, Storage* storage);
std::unique_ptr<RawNode> MustCreate(const Config& c);

raftpb::HardState MakeHardState(uint64_t term, uint64_t vote, uint64_t commit);
raftpb::ConfChange MakeConfChange(raftpb::ConfChangeType type, uint64_t node);

// Handles one Ready as the server does: persists the snapshot, hard state and
// entries to `storage`, applies conf changes, advances. Returns the Ready.
Ready HandleReady(RawNode* node, MemoryStorage* storage);

// All messages of `type` in `msgs`.
std::vector<raftpb::Message> Filter(const std::vector<raftpb::Message>& msgs,
                                    raftpb::MessageType type);

// The entries in a storage (after its compaction point).
std::vector<raftpb::Entry> StoredEntries(const MemoryStorage& s);

// Message fields for Msg(); designated initializers keep tests readable.
struct MsgSpec {
  raftpb::MessageType type = raftpb::MSG_HUP;
  uint64_t from = 0;
  uint64_t to = 0;
  uint64_t term = 0;
  uint64_t log_term = 0;
  uint64_t index = 0;
  uint64_t commit = 0;
  bool reject = false;
  uint64_t reject_hint = 0;
  std::vector<raftpb::Entry> entries = {};
  std::string context = {};
};
raftpb::Message Msg(const MsgSpec& spec);

// One RawNode with its storage, for tests that craft messages by hand.
struct Solo {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<RawNode> node;
  // Handles every pending Ready; returns the messages they carried.
  std::vector<raftpb::Message> Drain();
  // Handles every pending Ready; returns them.
  std::vector<Ready> DrainReadies();
  BasicStatus status() const { return node->GetStatus(); }
  Status Step(const MsgSpec& spec) { return node->Step(Msg(spec)); }
  // Step(), expecting success.
  void Receive(const MsgSpec& spec);
};
// Member `id` of a group of `voters` (configuration from a snapshot at index
// 1), with `entries` from index 2 and hard state `hs`.
Solo MakeSolo(uint64_t id, const std::vector<uint64_t>& voters,
              const std::vector<raftpb::Entry>& entries = {}, const raftpb::HardState& hs = {},
              const std::function<void(Config&)>& tweak = {});

struct Member {
  uint64_t id = 0;
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<RawNode> node;
  std::vector<raftpb::Entry> applied;  // committed entries, in apply order
  std::vector<ReadState> read_states;
};

// A group whose messages are delivered synchronously until quiescence.
class Network {
 public:
  // Members 1..n, bootstrapped together. `tweak` may change each Config.
  explicit Network(int n, const std::function<void(Config&)>& tweak = {});
  // Members on the given storages (taken), not bootstrapped.
  Network(std::map<uint64_t, std::unique_ptr<MemoryStorage>> storages,
          const std::function<void(Config&)>& tweak = {});

  // Adds a member with an empty storage, not bootstrapped: a member joining
  // an existing group, which learns everything from the leader.
  void AddMember(uint64_t id, const std::function<void(Config&)>& tweak = {});

  Member& member(uint64_t id) { return members_.at(id); }
  RawNode& node(uint64_t id) { return *members_.at(id).node; }
  BasicStatus status(uint64_t id) { return node(id).GetStatus(); }
  std::vector<uint64_t> ids() const;

  // Handles every Ready and delivers every message, until nothing moves. A
  // MsgSnap is reported to its sender (ReportSnapshot) as delivered or not.
  void Stabilize();
  // id campaigns; then Stabilize().
  void Campaign(uint64_t id);
  // Ticks `id` once (or every member if id == 0), then Stabilize().
  void Tick(uint64_t id = 0);
  void TickN(int n, uint64_t id = 0);
  // Proposes on `id`, returning its status; then Stabilize().
  Status Propose(uint64_t id, const std::string& data);

  // Takes a snapshot of `id` at its applied index (with its configuration)
  // and compacts its storage there.
  void Compact(uint64_t id);

  // Drops messages between a and b (both ways).
  void Cut(uint64_t a, uint64_t b);
  // Drops every message to or from id.
  void Isolate(uint64_t id);
  // Drops every message of this type.
  void Ignore(raftpb::MessageType type);
  // Removes all cuts, isolations and ignores.
  void Recover();
  // Messages handed to the network so far (delivered or dropped).
  const std::vector<raftpb::Message>& sent() const { return sent_; }
  void ClearSent() { sent_.clear(); }

  // The leader with the highest term (a deposed one may not know yet), 0 if none.
  uint64_t Leader();

 private:
  void Init(const std::function<void(Config&)>& tweak);
  bool Dropped(const raftpb::Message& m) const;

  std::map<uint64_t, Member> members_;
  std::set<std::pair<uint64_t, uint64_t>> cut_;
  std::set<uint64_t> isolated_;
  std::set<int> ignored_;
  std::vector<raftpb::Message> sent_;
};

}  // namespace etcdd::raft::testing
