// A simulated cluster for randomized testing of lib/raft, in one thread.
//
// Members are RawNodes on MemoryStorages ("disks"). A seeded generator drives
// every step: tick a member, deliver a message (picked among the oldest few,
// so messages are reordered; some are lost or delivered twice), handle a
// member's Ready, propose, request a read, crash or restart a member,
// partition or heal the network. Handling a Ready is the only way anything
// reaches a disk, so a crash loses exactly what was not persisted; a restart
// is a new RawNode on the same disk that replays its committed log.
//
// After every step the simulator checks Raft's safety properties and reports
// violations as gtest failures:
//   - Election Safety: at most one leader per term; a member never votes for
//     two candidates in one term (persisted votes).
//   - Log Matching: if two persisted logs hold an entry with the same index
//     and term, they are identical up to it.
//   - Leader Completeness: a leader of term T holds every entry known
//     committed in a term before T.
//   - State Machine Safety: no two members apply different entries at an
//     index; applies are in order, of persisted entries only.
//   - Commit and term never decrease (in memory per incarnation, on disk).
//   - ReadIndex is linearizable: the index returned is at least every commit
//     persisted anywhere before the request was made.
//   - RawNode::VerifyInvariants on every member.
//   - Snapshots: a snapshot (taken by a member at its applied index, after
//     which it compacts its disk; or installed from the leader) holds exactly
//     the state machine every member had at that index.
// Optionally (Options) members compact their logs, so a member partitioned
// for long catches up from a snapshot; the leader changes the membership
// (adds voters and learners, promotes learners, removes anyone, itself
// included; the network drops messages between a member and one it knows
// removed, and a removed member unaware of it whose message is so dropped
// stops for good, as etcd's server does); and the leader transfers
// leadership.
// Same seed, same run: a failure is reproduced from the seed alone.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "raft/memory_storage.h"
#include "raft/raw_node.h"
#include "raftpb/raft.pb.h"

namespace etcdd::raft::sim {

struct Options {
  int members = 3;
  uint64_t seed = 1;
  double drop = 0.05;       // a delivered message is lost
  double duplicate = 0.03;  // a delivered message is delivered again later
  int reorder_window = 6;   // deliveries pick among the oldest N messages
  bool crashes = true;
  bool partitions = true;
  bool check_quorum = true;
  bool pre_vote = true;
  bool compaction = true;    // members snapshot and compact their disks
  bool conf_changes = true;  // random membership changes
  bool transfers = true;     // random leadership transfers
  int max_members = 7;       // ids ever created, the initial ones included
  // One random member is cut off from the others for the whole of Chaos()
  // (until Heal()), so it falls behind the others' compaction.
  bool isolate_one = false;
};

struct Stats {
  int elections = 0;  // distinct (term, leader) pairs seen
  int crashes = 0;
  int partitions = 0;
  int proposals = 0;
  int reads_answered = 0;
  int snapshots_installed = 0;
  int conf_changes_applied = 0;
  int transfers = 0;
  int isolated_snapshots = 0;  // snapshots installed by the isolate_one member
  uint64_t max_commit = 0;
};

class Cluster {
 public:
  explicit Cluster(const Options& options);
  ~Cluster();

  // Runs `steps` random steps with faults.
  void Chaos(int steps);
  // Restarts crashed members, heals partitions, stops losing, duplicating and
  // reordering messages.
  void Heal();
  // Ticks every member and delivers everything, round after round, until a
  // leader exists and a proposal of `marker` is applied on every member.
  // Returns false if that does not happen within `max_ticks` rounds.
  bool Converge(const std::string& marker, int max_ticks);

  const Stats& stats() const { return stats_; }
  // One line per member (role, term, commit, applied, configuration), for
  // failure messages.
  std::string DebugString() const;

 private:
  struct Digest {
    uint64_t term = 0;
    uint64_t hash = 0;    // of the entry's term, type and data
    uint64_t prefix = 0;  // hash chain of the log up to this entry
  };
  struct Member {
    uint64_t id = 0;
    std::unique_ptr<MemoryStorage> disk;
    std::unique_ptr<RawNode> node;  // null while crashed
    int incarnation = 0;
    int group = 0;  // partition group; messages between groups are lost
    // Volatile (lost in a crash): the application and what we saw in memory.
    uint64_t applied = 0;
    uint64_t seen_commit = 0;
    std::set<std::string> applied_markers;
    // Shadows of the disk (survive crashes): the log digest and hard state.
    std::vector<Digest> log;  // log[i-1] is index i, compacted entries included
    raftpb::HardState hard_state;
    std::map<uint64_t, uint64_t> votes;  // term -> vote, as persisted
    std::set<uint64_t> terms_led_checked;
    uint64_t sm_hash = 0;  // hash chain of the applied entries (the "state")
    // Members whose removal this one applied; messages between them are
    // dropped, as etcd's transport does. Kept across crashes (etcd keeps it
    // in its backend). A removed member itself keeps running, harmless: it
    // cannot campaign once it applied its removal, and its vote may still be
    // needed by a member that has not applied it yet.
    std::set<uint64_t> removed_peers;
    // Told by a peer that it was removed (etcd's transport answers a removed
    // member's messages so, and its server then stops): never restarted.
    bool stopped = false;
  };
  struct CommitRecord {
    Digest entry;
    uint64_t term_known = 0;  // lowest term of a member that persisted it committed
  };

  // steps
  void RandomStep();
  void Deliver(bool allow_faults);
  void HandleReady(Member& m);
  void Propose(Member& m, const std::string& data);
  void Read(Member& m);
  void Crash(Member& m);
  void Restart(Member& m);
  void Partition();
  void KeepIsolated();
  // Whether m applied its own removal (it is not in its configuration).
  bool KnowsRemoved(const Member& m) const;
  void StartNode(Member& m);
  void Compact(Member& m);
  void ChangeMembership();
  void TransferLeadership();
  void ReportSnap(const raftpb::Message& msg, bool delivered);
  void OnSnapshot(Member& m, const raftpb::Snapshot& snap);
  // checks
  void AfterStep(Member& m);
  void OnPersist(Member& m, const Ready& rd);
  void CheckLogMatching(const Member& m);
  void ObserveCommit(Member& m);
  void CheckLeaderCompleteness(Member& m, uint64_t term);
  void OnApply(Member& m, const raftpb::Entry& e);
  void OnReadState(Member& m, const ReadState& rs);
  // helpers
  uint64_t Rand(uint64_t n) { return rng_() % n; }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  Member* RandomLive();
  // The leader with the highest term among live members, else `fallback`.
  Member& LeaderOr(Member& fallback);
  std::vector<Member*> Live();
  bool AllApplied(const std::string& marker);
  void Flush();

  Options opts_;
  std::mt19937_64 rng_;
  std::map<uint64_t, Member> members_;
  std::deque<raftpb::Message> net_;
  std::map<uint64_t, uint64_t> leader_of_term_;
  std::vector<Digest> applied_;          // the state machine: applied_[i-1] is index i
  std::vector<uint64_t> sm_chain_;       // sm_chain_[i-1]: state hash after index i
  std::vector<CommitRecord> committed_;  // known committed entries, by index
  uint64_t max_persisted_commit_ = 0;
  uint64_t isolated_ = 0;  // isolate_one: the member cut off until Heal()
  bool isolating_ = false;
  std::set<uint64_t> ever_removed_;             // ids whose removal some member applied
  std::map<std::string, uint64_t> read_floor_;  // request ctx -> minimum valid index
  uint64_t max_size_per_msg_ = 0;
  int max_inflight_msgs_ = 1;
  int next_proposal_ = 0;
  int next_read_ = 0;
  bool faults_ = true;
  Stats stats_;
};

}  // namespace etcdd::raft::sim
