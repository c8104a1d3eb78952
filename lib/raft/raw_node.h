// RawNode: the application's handle on one member's Raft state machine
// (etcd's raft.RawNode).
//
// The state machine is pure: it never blocks, starts no thread, does no I/O and
// reads no clock. The application drives it:
//   - Tick() every heartbeat interval (the unit of Config's *_tick fields);
//   - Step() every message received from a peer;
//   - Propose(), ProposeConfChange(), ReadIndex(), Campaign() on demand;
//   - whenever HasReady(): rd = GetReady(), handle it as ready.h describes
//     (persist hard_state and entries, then send messages, then apply
//     committed_entries), then Advance(rd).
// Randomness (election timeouts) comes from Config::random_seed, so a test
// replays a run exactly.
//
// Starting a member:
//   - new group: empty Storage, Create(), then Bootstrap(voters);
//   - restart: Storage holding the persisted HardState and entries (and
//     snapshot), Create(). With Config::applied = 0 and no snapshot, every
//     committed entry is delivered again in committed_entries, so the
//     application replays the configuration changes (the ConfState is
//     otherwise empty until it does).
//   - member joining an existing group: empty Storage, Create(), no Bootstrap;
//     it learns the log (and configuration) from the leader.
//
// Snapshots: when a follower needs entries the leader's Storage has compacted,
// the leader sends Storage::GetSnapshot() (MsgSnap) and waits (progress state
// kSnapshot) until the follower acknowledges it or the application reports
// the send with ReportSnapshot(). The follower hands it to the application in
// Ready::snapshot. The application takes snapshots itself
// (MemoryStorage::CreateSnapshot + Compact, with the ConfState returned by
// ApplyConfChange).
//
// Membership: one change at a time (ConfChange v1, no joint consensus):
// ADD_NODE, ADD_LEARNER_NODE, REMOVE_NODE, UPDATE_NODE. Learners receive the
// log but neither vote nor count towards any quorum.
//
// Not implemented: joint consensus (ConfChangeV2), ReadOnlyLeaseBased reads.
//
// Thread-safety: none; one thread drives a RawNode (etcdd's raft loop).
// Ownership: Config::storage and Config::logger are borrowed and must outlive
// the RawNode.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "raft/config.h"
#include "raft/ready.h"
#include "raftpb/raft.pb.h"

namespace etcdd::raft {

class Raft;

// Unavailable "raft proposal dropped" (etcd's ErrProposalDropped): no leader is
// known to take the proposal, or this leader cannot take it (it was removed
// from the configuration). The caller may retry once a leader is known.
Status ErrProposalDropped();

// The outcome of sending a snapshot, for RawNode::ReportSnapshot (etcd's
// SnapshotFinish / SnapshotFailure).
enum class SnapshotStatus { kFinish, kFailure };

class RawNode {
 public:
  // A follower at the stored term, with no leader, loaded from config.storage
  // (HardState, ConfState, log). Errors: InvalidArgument for a bad config
  // (etcd's messages) or a stored commit index beyond the stored log or
  // config.applied beyond it; the storage's errors. The configuration (voters
  // and learners) starts as the stored snapshot's ConfState.
  static Result<std::unique_ptr<RawNode>> Create(const Config& config);
  ~RawNode();
  RawNode(const RawNode&) = delete;
  RawNode& operator=(const RawNode&) = delete;

  // Initializes a brand-new group, like etcd's StartNode/Bootstrap: appends one
  // ConfChange(ADD_NODE) entry per voter at term 1, indexes 1..n, committed.
  // They come out of the next Ready both as entries to persist and as
  // committed entries to apply (with ApplyConfChange). The voters are also
  // applied internally at once, so Campaign() works right after Bootstrap.
  // Every member of a new group must bootstrap the same voters in the same
  // order. `contexts`, if not empty, holds one ConfChange context per voter
  // (etcd puts the member's attributes there). Errors: InvalidArgument if
  // `voters` is empty or has 0 or duplicate ids, or `contexts` has another
  // size; FailedPrecondition "can't bootstrap a nonempty Storage".
  Status Bootstrap(const std::vector<uint64_t>& voters,
                   const std::vector<std::string>& contexts = {});

  // Advances the logical clock by one tick: followers and candidates count
  // towards their election timeout, the leader towards its heartbeat interval
  // and its CheckQuorum round.
  void Tick();

  // Starts an election now (a pre-election first if Config::pre_vote), as if
  // the election timeout had elapsed. A no-op on the leader, on a member that
  // is not a voter, and while committed ConfChange entries (other than
  // Bootstrap's) are not yet applied: campaigning then could count votes
  // against a stale configuration.
  Status Campaign();

  // Proposes `data` for the log. On the leader it is appended at once; on a
  // follower it is forwarded to the leader (MsgProp). OK means accepted for
  // now, not committed: watch committed_entries for it (it may still be lost
  // if leadership changes). Errors: Unavailable "raft proposal dropped" when no
  // leader is known (or this leader was removed from the configuration).
  Status Propose(std::string data);

  // Proposes a configuration change (an ENTRY_CONF_CHANGE entry holding the
  // encoded ConfChange); once committed, the application applies it with
  // ApplyConfChange. While another one is pending (in the log, not applied)
  // the leader replaces it with an empty normal entry, as etcd does
  // (pendingConfIndex). Errors: as Propose.
  Status ProposeConfChange(const raftpb::ConfChange& cc);

  // Steps a message received from a peer. Errors: InvalidArgument "raft:
  // cannot step raft local message" for local types (MsgHup, MsgBeat,
  // MsgUnreachable, MsgSnapStatus, MsgCheckQuorum); NotFound "raft: cannot
  // step as peer not found" for a response from a member not in the
  // configuration; "raft proposal dropped" for a MsgProp this member cannot
  // take or forward. Stale and duplicate messages are fine (ignored).
  Status Step(const raftpb::Message& m);

  // Requests a linearizable read point (ReadOnlySafe, Raft thesis §6.4). The
  // answer arrives as a Ready::read_states entry carrying `request_ctx`: the
  // leader's commit index after it committed an entry of its term and a
  // heartbeat quorum confirmed it was still leader (a one-voter leader answers
  // at once). A follower forwards the request to the leader. Without a leader
  // the request is silently dropped: retry after a timeout. `request_ctx` must
  // be non-empty and unique among outstanding requests.
  void ReadIndex(std::string request_ctx);

  // Leader with Config::defer_commit_announcement: whether the commit index
  // advanced since the followers were last sent an append, and the call that
  // sends them one now (a no-op when nothing is pending or not leader). The
  // application calls AnnounceCommit when no proposal has carried the news
  // within a short delay, so followers apply soon after the leader.
  bool CommitUnannounced() const;
  void AnnounceCommit();

  // Applies a committed configuration change to the state machine and returns
  // the resulting configuration (to be saved with the next snapshot).
  //   ADD_NODE          adds a voter; promotes a learner (keeping its
  //                     progress); a no-op for an existing voter.
  //   ADD_LEARNER_NODE  adds a learner; a no-op for an existing learner; an
  //                     existing voter is demoted (etcd 3.4 allows it too).
  //   REMOVE_NODE       removes a voter or learner; a no-op if absent.
  //   UPDATE_NODE       a no-op for Raft (only the application's view changes).
  // node_id 0 (etcd's "change not applied" marker) changes nothing.
  // A leader that is no longer a voter afterwards (removed or demoted) keeps
  // leading as in etcd 3.4, refusing proposals, but at once starts a
  // leadership transfer to the most caught-up remaining voter (retried every
  // election timeout), so a new leader is elected without waiting for an
  // election timeout. It is not deposed by CheckQuorum (a remaining voter may
  // need its log to get elected); it becomes a follower when it hears of the
  // new leader's term. The application may stop it then (etcd's server stops
  // a removed member shortly after applying its removal).
  // A leadership transfer to a member that is no longer a voter is aborted.
  raftpb::ConfState ApplyConfChange(const raftpb::ConfChange& cc);
  // The current configuration (as the last ApplyConfChange returned it, or
  // from the snapshot installed last).
  raftpb::ConfState GetConfState() const;

  // Whether GetReady() would return something to do.
  bool HasReady() const;
  // Collects the pending work (see ready.h for what to do with it). Call
  // Advance() with it before the next GetReady().
  Ready GetReady();
  // Reports `rd` handled: its entries persisted, its committed entries applied.
  void Advance(const Ready& rd);

  // Reports that the last message sent to `id` could not be delivered; the
  // leader stops streaming to it and probes instead.
  void ReportUnreachable(uint64_t id);

  // Reports the outcome of sending a snapshot (a Ready message of type
  // MSG_SNAP) to `id` (etcd's ReportSnapshot). Either way the leader goes back
  // to probing `id`; after a failure it sends the snapshot again when needed.
  // Ignored unless this member leads and `id` is waiting for a snapshot.
  void ReportSnapshot(uint64_t id, SnapshotStatus status);

  // Asks this member, which should be the leader, to hand leadership to
  // `transferee` (etcd's TransferLeader, Raft thesis §3.10). The leader stops
  // taking proposals (they fail with "raft proposal dropped"), brings the
  // transferee's log up to date, then sends it MsgTimeoutNow; the transferee
  // campaigns at once, skipping the pre-vote and the others' leader lease. If
  // no new leader emerges within an election timeout the transfer is aborted
  // and the leader takes proposals again. Ignored if `transferee` is this
  // member, a learner or not in the configuration. On a follower the request
  // is forwarded to the leader as etcd does, which makes the follower itself
  // the transferee. Watch GetStatus().lead to see the outcome.
  void TransferLeader(uint64_t transferee);

  // The leader's progress of every member, itself included (etcd's
  // Status().Progress); empty unless this member is the leader. For
  // "is the learner in sync" and strict-reconfig checks: compare match with
  // GetStatus().commit.
  std::map<uint64_t, ProgressInfo> Progress() const;

  BasicStatus GetStatus() const;

  // Checks applied <= committed <= last index, the unstable log's consistency,
  // role/leader/vote consistency, no log term above the current term, and
  // match < next for every tracked member. CheckInvariants() aborts with the
  // description of the broken invariant; VerifyInvariants() returns it as an
  // Internal Status instead. Meant for debug builds and tests.
  void CheckInvariants() const;
  Status VerifyInvariants() const;

 private:
  explicit RawNode(std::unique_ptr<Raft> raft);

  std::unique_ptr<Raft> raft_;
  SoftState prev_soft_;
  raftpb::HardState prev_hard_;
};

}  // namespace etcdd::raft
