// Bootstrap and configuration changes (single voter add/remove).
#include <set>
#include <string>

#include "raft/raft.h"

namespace etcdd::raft {

Status Raft::Bootstrap(const std::vector<uint64_t>& voters) {
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
  for (uint64_t v : voters) {
    raftpb::ConfChange cc;
    cc.set_type(raftpb::CONF_CHANGE_ADD_NODE);
    cc.set_node_id(v);
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
  OnConfigChanged();
  return tracker_.GetConfState();
}

void Raft::OnConfigChanged() {
  // Only a leader that is still a voter has anything to do.
  if (state_ != StateType::kLeader || tracker_.Find(id_) == nullptr) return;
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
