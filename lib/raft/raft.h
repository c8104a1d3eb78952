// Raft: the consensus state machine of one member (etcd's raft.go), wrapped by
// RawNode for the application.
//
// Pure: no threads, no I/O, no clock. Inputs are Tick() and Step(message);
// outputs are queued in the state machine (messages, read states, unstable log
// entries, commit index) and collected by RawNode into a Ready.
//
// Code layout, by concern:
//   raft.cc           construction, role transitions, ticks, sending
//   raft_election.cc  term rules for incoming messages, (pre-)elections, votes
//   raft_leader.cc    the leader: proposals, replication, commit, heartbeats,
//                     CheckQuorum, ReadIndex
//   raft_follower.cc  followers and candidates: appends, heartbeats, votes
//                     received, forwarding
//   raft_conf.cc      bootstrap and configuration changes
//   raft_snapshot.cc  sending and installing snapshots, leadership transfer
//
// Internal to lib/raft. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "base/status.h"
#include "raft/config.h"
#include "raft/log.h"
#include "raft/progress.h"
#include "raft/raw_node.h"
#include "raft/read_only.h"
#include "raft/ready.h"
#include "raft/util.h"
#include "raftpb/raft.pb.h"

namespace etcdd::raft {

class Raft {
 public:
  // Loads the HardState and ConfState from config.storage. Errors: the
  // config's (see ValidateConfig), the storage's, InvalidArgument if the saved
  // commit index is beyond the stored log or config.applied beyond the commit.
  static Result<std::unique_ptr<Raft>> Create(const Config& config);

  // Steps one message, local (term 0) or from a peer. Errors:
  // ErrProposalDropped() for MsgProp that cannot be taken.
  Status Step(const raftpb::Message& m);
  // Advances the logical clock by one tick.
  void Tick();

  uint64_t id() const { return id_; }
  uint64_t term() const { return term_; }
  uint64_t vote() const { return vote_; }
  uint64_t lead() const { return lead_; }
  uint64_t lead_transferee() const { return lead_transferee_; }
  StateType state() const { return state_; }
  const RaftLog& log() const { return log_; }
  const ProgressTracker& tracker() const { return tracker_; }
  SoftState GetSoftState() const { return SoftState{lead_, state_}; }
  raftpb::HardState GetHardState() const;

  const std::vector<raftpb::Message>& messages() const { return msgs_; }
  std::vector<raftpb::Message> TakeMessages();
  const std::vector<ReadState>& read_states() const { return read_states_; }
  std::vector<ReadState> TakeReadStates();
  // Leader with Config::defer_commit_announcement: the commit index advanced
  // since the last append sent to every follower.
  bool commit_unannounced() const { return commit_unannounced_; }
  // Leader: sends every follower an append carrying the commit index, if it
  // is unannounced (see Config::defer_commit_announcement).
  void AnnounceCommit();

  // The application handled a Ready: it applied entries up to
  // `applied_index` (0: none), persisted entries up to
  // (stable_index, stable_term) (stable_index 0: none) and the snapshot at
  // `stable_snap_index` (0: none).
  void Advance(uint64_t applied_index, uint64_t stable_index, uint64_t stable_term,
               uint64_t stable_snap_index);

  // See RawNode::Bootstrap and RawNode::ApplyConfChange.
  Status Bootstrap(const std::vector<uint64_t>& voters, const std::vector<std::string>& contexts);
  raftpb::ConfState ApplyConfChange(const raftpb::ConfChange& cc);

  // Log invariants plus the state machine's own (role/lead/vote consistency,
  // leader's self-progress, log terms not above the current term).
  Status CheckInvariants() const;

 private:
  enum class CampaignType { kPreElection, kElection, kTransfer };

  explicit Raft(const Config& config);

  // raft.cc
  void BecomeFollower(uint64_t term, uint64_t lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void Reset(uint64_t term);
  void TickElection();
  void TickHeartbeat();
  void ResetRandomizedElectionTimeout();
  bool PastElectionTimeout() const { return election_elapsed_ >= randomized_election_timeout_; }
  bool Promotable() const { return tracker_.voters().Contains(id_); }
  void Send(raftpb::Message m);
  // Logs make_msg() if a logger is configured; the message is only built then.
  template <typename MakeMsg>
  void Logf(LogLevel level, MakeMsg&& make_msg) const {
    if (logger_ != nullptr) logger_->Log(level, make_msg());
  }

  // raft_election.cc
  bool StepTerm(const raftpb::Message& m);
  void StepHigherTerm(const raftpb::Message& m);
  void StepLowerTerm(const raftpb::Message& m);
  void Hup();
  bool HasUnappliedConfChanges() const;
  void Campaign(CampaignType type);
  ProgressTracker::Tally Poll(uint64_t id, raftpb::MessageType type, bool granted);
  void HandleVoteRequest(const raftpb::Message& m);

  // raft_leader.cc
  Status StepLeader(const raftpb::Message& m);
  Status HandleProposal(const raftpb::Message& m);
  void HandleReadIndexAsLeader(const raftpb::Message& m);
  void HandleAppendResponse(const raftpb::Message& m, Progress* pr);
  void HandleHeartbeatResponse(const raftpb::Message& m, Progress* pr);
  void CheckQuorumActive();
  void AppendEntries(std::vector<raftpb::Entry> ents);
  bool MaybeCommit();
  void SendAppend(uint64_t to) { MaybeSendAppend(to, true); }
  bool MaybeSendAppend(uint64_t to, bool send_if_empty);
  void SendHeartbeat(uint64_t to, const std::string& ctx);
  void BcastAppend();
  // After a commit: whether its announcement may wait (and is now pending).
  bool DeferCommitAnnouncement();
  void BcastHeartbeat();
  void BcastHeartbeatWithCtx(const std::string& ctx);
  bool CommittedEntryInCurrentTerm() const;
  void StartReadIndexRound(const raftpb::Message& m);
  void ReleasePendingReadIndexMessages();
  void RespondToReadIndex(const raftpb::Message& req, uint64_t index);

  // raft_follower.cc
  Status StepFollower(const raftpb::Message& m);
  Status StepCandidate(const raftpb::Message& m);
  void HandleAppendEntries(const raftpb::Message& m);
  void HandleHeartbeat(const raftpb::Message& m);

  // raft_conf.cc
  bool RemovesSelf(const raftpb::Entry& e) const;
  bool ScanForSelfRemoval() const;
  void OnConfigChanged();
  void LoadConfState(const raftpb::ConfState& cs);
  void HandOverIfRemoved();

  // raft_snapshot.cc
  bool SendSnapshot(uint64_t to, Progress* pr);
  void HandleSnapshotStatus(const raftpb::Message& m, Progress* pr);
  void HandleSnapshot(const raftpb::Message& m);
  bool Restore(const raftpb::Snapshot& snap);
  void HandleTransferLeader(const raftpb::Message& m, const Progress& pr);
  void SendTimeoutNow(uint64_t to);
  void AbortLeaderTransfer() { lead_transferee_ = kNone; }

  const uint64_t id_;
  uint64_t term_ = 0;
  uint64_t vote_ = kNone;
  uint64_t lead_ = kNone;
  // Leader only: the member leadership is being handed to (etcd's
  // leadTransferee); proposals are refused meanwhile.
  uint64_t lead_transferee_ = kNone;
  StateType state_ = StateType::kFollower;
  RaftLog log_;
  ProgressTracker tracker_;
  ReadOnly read_only_;
  std::vector<raftpb::Message> msgs_;
  std::vector<ReadState> read_states_;
  // ReadIndex requests received before this leader committed an entry of its
  // term; answered once it has (its commit index may be stale until then).
  std::vector<raftpb::Message> pending_read_index_;
  // Only one configuration change may be pending (in the log, not applied): a
  // new one is refused while the applied index is below this.
  uint64_t pending_conf_index_ = 0;
  // Leader only: a configuration change removing or demoting this leader is
  // in its log, not applied. New proposals are refused meanwhile, so that
  // once the removal commits the leader holds no entry the remaining voters
  // lack: it could not be elected again, and its refusal to vote for a less
  // up-to-date candidate could block them forever.
  bool self_removal_pending_ = false;
  // Leader only, with defer_commit_announcement: the commit index advanced
  // since the last BcastAppend, and the last index of every proposal
  // forwarded by a follower that no BcastAppend has announced committed yet
  // (ascending).
  bool commit_unannounced_ = false;
  std::deque<uint64_t> forwarded_;
  // Leader only: hand-overs tried since it was removed (HandOverIfRemoved).
  uint64_t handover_attempts_ = 0;
  // Last index of the ConfChange entries Bootstrap applied internally; they do
  // not hold back a campaign while the application has yet to apply them.
  uint64_t bootstrap_index_ = 0;

  const uint64_t max_msg_size_;
  const int election_timeout_;
  const int heartbeat_timeout_;
  const bool check_quorum_;
  const bool pre_vote_;
  const bool defer_commit_announcement_;
  Logger* const logger_;
  // Ticks since the last election timeout (leader, candidate), or since the
  // last message from the current leader (follower).
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;            // leader only
  int randomized_election_timeout_ = 0;  // in [election_timeout_, 2*election_timeout_)
  std::mt19937_64 rng_;
};

}  // namespace etcdd::raft
