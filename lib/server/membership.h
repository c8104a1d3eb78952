// The member list as configuration changes modify it, with etcd's rules
// (etcd: etcdserver/api/membership/cluster.go, ValidateConfigurationChange
// and Add/Remove/Update/PromoteMember).
//
// Every configuration change travels through Raft as a raftpb::ConfChange
// whose context is the serialized serverpb::Member it concerns (for
// bootstrap, add, promote and update). Each member applies it to its own
// list with ApplyConfChange, which is deterministic, so all members agree on
// the list and on which changes were refused.
//
// These are pure functions on values; the caller owns locking.
#pragma once

#include <cstdint>
#include <optional>

#include "base/status.h"
#include "raftpb/raft.pb.h"
#include "serverpb/internal.pb.h"

namespace etcdd::server {

// etcd's errors for configuration changes, as the gRPC layer returns them.
Status ErrMemberNotFound();    // NotFound "etcdserver: member not found"
Status ErrMemberExists();      // FailedPrecondition "etcdserver: member ID already exist"
Status ErrPeerUrlExists();     // FailedPrecondition "etcdserver: Peer URLs already exists"
Status ErrTooManyLearners();   // FailedPrecondition "etcdserver: too many learner members..."
Status ErrMemberNotLearner();  // FailedPrecondition "etcdserver: can only promote a learner member"
Status ErrLearnerNotReady();   // FailedPrecondition "... which is in sync with leader"
Status ErrNotEnoughStarted();  // FailedPrecondition "etcdserver: re-configuration failed ..."

// The member with `id`, or nullptr.
const serverpb::Member* FindMember(const serverpb::Members& members, uint64_t id);

// Checks `cc` (with its decoded context `ctx`) against `members`, as etcd's
// ValidateConfigurationChange does when the change is applied:
//   a removed id: member not found;
//   add / add learner: the id must be new (member exists), its peer URLs
//     unused (Peer URLs already exists), and a learner must not exceed
//     `max_learners` (too many learners);
//   promote (ctx.is_promote): the member must exist and be a learner;
//   remove: the member must exist (member not found);
//   update: the member must exist and the new peer URLs be unused by others.
Status ValidateConfChange(const serverpb::Members& members, const raftpb::ConfChange& cc,
                          const serverpb::ConfChangeContext& ctx, int max_learners);

// Applies a validated change to `members`: adds the member (as a learner for
// ADD_LEARNER_NODE), promotes a learner, removes the member (remembering its
// id as removed), or replaces its peer URLs.
void ApplyToMembers(serverpb::Members& members, const raftpb::ConfChange& cc,
                    const serverpb::ConfChangeContext& ctx);

// Counts used by the strict reconfiguration checks (etcd's
// IsReadyToAddVotingMember and friends): a voting member counts as started
// once it has published its client URLs.
struct VoterCounts {
  int voters = 0;
  int started = 0;
};
VoterCounts CountVoters(const serverpb::Members& members);

// The quorum of `n` voters: n / 2 + 1.
inline int Quorum(int n) { return n / 2 + 1; }

}  // namespace etcdd::server
