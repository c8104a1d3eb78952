// Progress: the leader's view of one follower's log; ProgressTracker: the
// configuration (voters) plus a Progress per member and the votes of the
// current election. Mirrors etcd's tracker/progress.go and tracker.go.
//
// A follower's Progress is in one of two states:
//   probe      the leader does not know where the follower's log diverges; it
//              sends one MsgApp per heartbeat interval (or per response) and
//              backs `next` off on rejections until the follower accepts.
//   replicate  the follower accepted an append; the leader streams entries
//              optimistically, advancing `next` as it sends, bounded by the
//              Inflights window.
//   snapshot   the follower needs entries the log has compacted; a MsgSnap is
//              on its way and nothing else is sent until it is acknowledged
//              (an MsgAppResp reaching pending_snapshot) or reported
//              (RawNode::ReportSnapshot).
// Learners have a Progress (they receive the log) but are not voters.
// Invariant: match < next.
//
// Internal to lib/raft. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "raft/inflights.h"
#include "raft/quorum.h"
#include "raft/ready.h"
#include "raftpb/raft.pb.h"

namespace etcdd::raft {

struct Progress {
  explicit Progress(int max_inflight) : inflights(max_inflight) {}

  uint64_t match = 0;  // highest index known to be in the follower's log
  uint64_t next = 0;   // index of the next entry to send
  ProgressState state = ProgressState::kProbe;
  // In snapshot state: the index of the snapshot being sent.
  uint64_t pending_snapshot = 0;
  bool is_learner = false;
  // Set by any message from the follower; cleared by the leader's CheckQuorum
  // round every election timeout.
  bool recent_active = false;
  // In probe state: an append is outstanding, wait for its answer (or the next
  // heartbeat response) before sending another.
  bool probe_sent = false;
  Inflights inflights;

  // Moves to `state`, clearing probe_sent and the in-flight window.
  void ResetState(ProgressState state);
  // Probe from match+1 (from past the pending snapshot when leaving the
  // snapshot state: the follower most likely has it now).
  void BecomeProbe();
  // A MsgSnap for `snapshot_index` was sent: pause until it is acknowledged.
  void BecomeSnapshot(uint64_t snapshot_index);
  // Stream from match+1.
  void BecomeReplicate();
  // An MsgAppResp acknowledged index `n`. Returns false if it told nothing new
  // (a stale or duplicate response).
  bool MaybeUpdate(uint64_t n);
  // Entries up to `n` are on their way; send from n+1 next.
  void OptimisticUpdate(uint64_t n) { next = n + 1; }
  // The follower rejected an append at index `rejected`; `match_hint` is the
  // highest index that may still match (from the reject hint). Returns false
  // for a stale rejection, else lowers `next` and unpauses probing.
  bool MaybeDecrTo(uint64_t rejected, uint64_t match_hint);
  // Whether sending appends is throttled: probe with an outstanding probe,
  // replicate with a full window, or snapshot.
  bool IsPaused() const;
};

class ProgressTracker {
 public:
  explicit ProgressTracker(int max_inflight) : max_inflight_(max_inflight) {}

  const MajorityConfig& voters() const { return voters_; }
  const std::set<uint64_t>& learners() const { return learners_; }
  bool IsLearner(uint64_t id) const { return learners_.count(id) != 0; }
  std::map<uint64_t, Progress>& progress() { return progress_; }
  const std::map<uint64_t, Progress>& progress() const { return progress_; }
  Progress* Find(uint64_t id);
  const Progress* Find(uint64_t id) const;

  // Adds a voter whose Progress starts probing at max(last_index, 1); a no-op
  // if it is already a voter. A learner is promoted, keeping its Progress.
  void AddVoter(uint64_t id, uint64_t last_index);
  // Adds a learner likewise; a no-op if it is already one. A voter is demoted
  // (as etcd 3.4 allows for a simple change), keeping its Progress.
  void AddLearner(uint64_t id, uint64_t last_index);
  // Forgets the whole configuration (a snapshot replaces it).
  void Clear();
  // Removes a member and its Progress; a no-op if absent.
  void Remove(uint64_t id);
  // A new term: every Progress probes from last_index+1 with nothing known
  // matched, except `self`, which has its whole log.
  void ResetProgress(uint64_t self, uint64_t last_index);

  raftpb::ConfState GetConfState() const;
  // True if the configuration has exactly one voter (not necessarily the
  // leader: a removed leader may still lead).
  bool IsSingleton() const { return voters_.size() == 1; }
  // The largest index a quorum of voters has in its log.
  uint64_t Committed() const;
  // Whether a quorum of voters was recently active (CheckQuorum).
  bool QuorumActive() const;

  void ResetVotes() { votes_.clear(); }
  // Records the first answer of `id` in this election; later ones are ignored.
  void RecordVote(uint64_t id, bool granted) { votes_.emplace(id, granted); }
  struct Tally {
    int granted = 0;
    int rejected = 0;
    VoteResult result = VoteResult::kPending;
  };
  Tally TallyVotes() const;

 private:
  void AddProgress(uint64_t id, uint64_t last_index, bool is_learner);

  int max_inflight_;
  MajorityConfig voters_;
  std::set<uint64_t> learners_;
  std::map<uint64_t, Progress> progress_;  // ordered: deterministic iteration
  std::map<uint64_t, bool> votes_;
};

}  // namespace etcdd::raft
