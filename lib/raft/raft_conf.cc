// Bootstrap and configuration changes: one voter or learner added, promoted
// or removed at a time (etcd 3.4's ConfChange v1; no joint consensus).
#include <algorithm>
#include <set>
#include <string>

#include "raft/raft.h"

namespace etcdd::raft {

Status Raft::Bootstrap(const std::vector<uint64_t>& voters,
                       const std::vector<std::string>& contexts) {
  if (!contexts.empty() && contexts.size() != voters.size()) {
    return Status::InvalidArgument("Bootstrap needs one context per peer");
  }
  if (voters.empty()) return Status::InvalidArgument("must provide at least one peer to Bootstrap");
  std::set<uint64_t> unique;
  for (uint64_t v : voters) {
    if (v == kNone) return Status::InvalidArgument("cannot bootstrap with none as a peer id");
    if (!unique.insert(v).second) {
      return Status::InvalidArgument("duplicate peer " + FormatId(v) + " in Bootstrap");
    }
  }
  if (log_.LastIndex() != 0)
    return Status::FailedPrecondition("can't bootstrap a nonempty Storage");

  BecomeFollower(1, kNone);
  std::vector<raftpb::Entry> ents;
  std::vector<raftpb::ConfChange> changes;
  for (size_t i = 0; i < voters.size(); ++i) {
    raftpb::ConfChange cc;
    cc.set_type(raftpb::CONF_CHANGE_ADD_NODE);
    cc.set_node_id(voters[i]);
    if (!contexts.empty()) cc.set_context(contexts[i]);
    raftpb::Entry e;
    e.set_type(raftpb::ENTRY_CONF_CHANGE);
    e.set_term(1);
    e.set_index(ents.size() + 1);
    e.set_data(cc.SerializeAsString());
    ents.push_back(std::move(e));
    changes.push_back(std::move(cc));
  }
  log_.Append(ents);
  // Every member bootstraps the same entries, so they are committed by fiat.
  // They are applied here so that the member can campaign at once, and not
  // marked applied, so that the application also sees (and applies) them in
  // Ready::committed_entries; adding a voter twice is a no-op.
  log_.CommitTo(ents.size());
  for (const raftpb::ConfChange& cc : changes) ApplyConfChange(cc);
  bootstrap_index_ = ents.size();
  return Status::Ok();
}

raftpb::ConfState Raft::ApplyConfChange(const raftpb::ConfChange& cc) {
  // Node id 0 marks a change the application decided not to apply (etcd
  // zeroes it); it changes nothing.
  if (cc.node_id() != kNone) {
    switch (cc.type()) {
      case raftpb::CONF_CHANGE_ADD_NODE:
        tracker_.AddVoter(cc.node_id(), log_.LastIndex());
        break;
      case raftpb::CONF_CHANGE_ADD_LEARNER_NODE:
        tracker_.AddLearner(cc.node_id(), log_.LastIndex());
        break;
      case raftpb::CONF_CHANGE_REMOVE_NODE:
        tracker_.Remove(cc.node_id());
        break;
      case raftpb::CONF_CHANGE_UPDATE_NODE:
        break;  // only the application's view of the member changes
      default:
        Logf(LogLevel::kWarn, [&] {
          return FormatId(id_) + " ignoring unsupported conf change " +
                 raftpb::ConfChangeType_Name(cc.type()) + " for " + FormatId(cc.node_id());
        });
        break;
    }
  }
  // A transfer to a member that is no longer a voter cannot complete.
  if (lead_transferee_ != kNone && !tracker_.voters().Contains(lead_transferee_)) {
    AbortLeaderTransfer();
  }
  OnConfigChanged();
  HandOverIfRemoved();
  return tracker_.GetConfState();
}

// A leader removed from the voters (or demoted to learner) keeps leading, as
// in etcd 3.4 (it refuses proposals), and hands leadership over to the most
// caught-up remaining voter with a leadership transfer: it keeps replicating
// to that voter until its log is complete, then sends MsgTimeoutNow. Were it
// to step down at once, the remaining voters could be stuck: one that has not
// learned that the removal committed still needs its vote, which it refuses
// while its log holds entries theirs lacks. Called when the change is applied
// and again every election timeout until a new leader takes over.
void Raft::HandOverIfRemoved() {
  if (state_ != StateType::kLeader || tracker_.voters().Contains(id_)) return;
  if (lead_transferee_ != kNone) return;
  // Most caught-up first; each retry moves on to the next voter, in case the
  // previous one is down.
  std::vector<std::pair<uint64_t, uint64_t>> candidates;  // (match, id)
  for (uint64_t id : tracker_.voters().ids()) {
    if (const Progress* pr = tracker_.Find(id)) candidates.emplace_back(pr->match, id);
  }
  if (candidates.empty()) return;
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  const auto [best_match, successor] = candidates[handover_attempts_++ % candidates.size()];
  Logf(LogLevel::kInfo, [&] {
    return FormatId(id_) + " is no longer a voter; handing leadership over to " +
           FormatId(successor);
  });
  election_elapsed_ = 0;
  lead_transferee_ = successor;
  if (best_match == log_.LastIndex()) {
    SendTimeoutNow(successor);
  } else {
    SendAppend(successor);
  }
}

// Whether `e` is a configuration change removing this member from the voters
// (REMOVE_NODE, or ADD_LEARNER_NODE demoting it).
bool Raft::RemovesSelf(const raftpb::Entry& e) const {
  if (e.type() != raftpb::ENTRY_CONF_CHANGE) return false;
  raftpb::ConfChange cc;
  if (!cc.ParseFromString(e.data()) || cc.node_id() != id_) return false;
  return cc.type() == raftpb::CONF_CHANGE_REMOVE_NODE ||
         cc.type() == raftpb::CONF_CHANGE_ADD_LEARNER_NODE;
}

// Whether an entry after the applied index removes this member (a new leader
// may inherit such a pending change). Scans in bounded chunks.
bool Raft::ScanForSelfRemoval() const {
  constexpr uint64_t kScanBytes = 1 << 20;
  uint64_t lo = std::max(log_.applied() + 1, log_.FirstIndex());
  const uint64_t hi = log_.LastIndex() + 1;
  while (lo < hi) {
    Result<std::vector<raftpb::Entry>> ents = log_.Slice(lo, hi, kScanBytes);
    if (!ents.ok())
      Panic("unexpected error scanning unapplied entries: " + ents.status().ToString());
    for (const raftpb::Entry& e : *ents) {
      if (RemovesSelf(e)) return true;
    }
    lo = ents->back().index() + 1;
  }
  return false;
}

// Replaces the configuration with `cs` (at creation and when a snapshot is
// installed); every Progress probes from the last index.
void Raft::LoadConfState(const raftpb::ConfState& cs) {
  tracker_.Clear();
  for (uint64_t voter : cs.voters()) tracker_.AddVoter(voter, log_.LastIndex());
  for (uint64_t learner : cs.learners()) tracker_.AddLearner(learner, log_.LastIndex());
}

void Raft::OnConfigChanged() {
  if (state_ != StateType::kLeader) return;
  if (MaybeCommit()) {
    // A smaller quorum may commit more at once: tell everyone.
    BcastAppend();
    return;
  }
  // Probe new members now rather than at the next heartbeat or proposal.
  for (const auto& [id, pr] : tracker_.progress()) {
    if (id != id_) MaybeSendAppend(id, false);
  }
}

}  // namespace etcdd::raft
