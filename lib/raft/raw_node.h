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
// Not implemented yet (later issue): snapshots (sending, installing, the
// snapshot progress state), learners, joint consensus, leadership transfer.
//
// Thread-safety: none; one thread drives a RawNode (etcdd's raft loop).
// Ownership: Config::storage and Config::logger are borrowed and must outlive
// the RawNode.
#pragma once

#include <cstdint>
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

class RawNode {
 public:
  // A follower at the stored term, with no leader, loaded from config.storage
  // (HardState, ConfState, log). Errors: InvalidArgument for a bad config
  // (etcd's messages) or a stored commit index beyond the stored log or
  // config.applied beyond it; Unimplemented if the stored ConfState has
  // learners; the storage's errors.
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
  // order. Errors: InvalidArgument if `voters` is empty or has 0 or duplicate
  // ids; FailedPrecondition "can't bootstrap a nonempty Storage".
  Status Bootstrap(const std::vector<uint64_t>& voters);

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
  // the leader replaces it with an empty normal entry, as etcd does. Errors:
  // as Propose; Unimplemented for ADD_LEARNER_NODE (learners come later).
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

  // Applies a committed configuration change to the state machine and returns
  // the resulting configuration (to be saved with the next snapshot).
  // ADD_NODE of an existing voter and REMOVE_NODE of an absent one are no-ops,
  // as is node_id 0 (etcd's "change not applied" marker) and UPDATE_NODE.
  // ADD_LEARNER_NODE is not supported yet and ignored (logged).
  raftpb::ConfState ApplyConfChange(const raftpb::ConfChange& cc);

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
