// The leader: proposals, replication and commit, heartbeats, CheckQuorum and
// ReadIndex.
#include <algorithm>
#include <string>

#include "raft/raft.h"

namespace etcdd::raft {

Status Raft::StepLeader(const raftpb::Message& m) {
  // Message types that need no Progress of the sender.
  switch (m.type()) {
    case raftpb::MSG_BEAT:
      BcastHeartbeat();
      return Status::Ok();
    case raftpb::MSG_CHECK_QUORUM:
      CheckQuorumActive();
      return Status::Ok();
    case raftpb::MSG_PROP:
      return HandleProposal(m);
    case raftpb::MSG_READ_INDEX:
      HandleReadIndexAsLeader(m);
      return Status::Ok();
    default:
      break;
  }
  Progress* pr = tracker_.Find(m.from());
  if (pr == nullptr) return Status::Ok();  // not (or no longer) in the configuration
  switch (m.type()) {
    case raftpb::MSG_APP_RESP:
      pr->recent_active = true;
      HandleAppendResponse(m, pr);
      break;
    case raftpb::MSG_HEARTBEAT_RESP:
      HandleHeartbeatResponse(m, pr);
      break;
    case raftpb::MSG_UNREACHABLE:
      // While streaming, an unreachable follower has most likely lost a
      // MsgApp: fall back to probing.
      if (pr->state == ProgressState::kReplicate) pr->BecomeProbe();
      break;
    case raftpb::MSG_SNAP_STATUS:
      HandleSnapshotStatus(m, pr);
      break;
    case raftpb::MSG_TRANSFER_LEADER:
      HandleTransferLeader(m, *pr);
      break;
    default:
      break;
  }
  return Status::Ok();
}

Status Raft::HandleProposal(const raftpb::Message& m) {
  if (m.entries_size() == 0) return Status::InvalidArgument("raft: empty MsgProp");
  // A leader removed from the configuration takes no new proposals.
  if (!tracker_.voters().Contains(id_)) return ErrProposalDropped();
  if (lead_transferee_ != kNone) {
    Logf(LogLevel::kDebug, [&] {
      return FormatId(id_) + " [term " + std::to_string(term_) + "] transfer leadership to " +
             FormatId(lead_transferee_) + " is in progress; dropping proposal";
    });
    return ErrProposalDropped();
  }
  if (self_removal_pending_) {
    Logf(LogLevel::kDebug, [&] {
      return FormatId(id_) + " is being removed from the configuration; dropping proposal";
    });
    return ErrProposalDropped();
  }
  std::vector<raftpb::Entry> ents(m.entries().begin(), m.entries().end());
  for (size_t i = 0; i < ents.size(); ++i) {
    if (ents[i].type() != raftpb::ENTRY_CONF_CHANGE) continue;
    if (pending_conf_index_ > log_.applied()) {
      // One configuration change at a time: this one is replaced by an empty
      // entry, which the application sees committed and can report.
      Logf(LogLevel::kInfo, [&] {
        return FormatId(id_) + " ignoring conf change: possible unapplied conf change at index " +
               std::to_string(pending_conf_index_) + " (applied to " +
               std::to_string(log_.applied()) + ")";
      });
      ents[i] = raftpb::Entry();
    } else {
      pending_conf_index_ = log_.LastIndex() + i + 1;
      // Entries after it in this same message are still taken: they are
      // replicated together with it.
      if (RemovesSelf(ents[i])) self_removal_pending_ = true;
    }
  }
  AppendEntries(std::move(ents));
  if (defer_commit_announcement_ && m.from() != id_) forwarded_.push_back(log_.LastIndex());
  BcastAppend();
  return Status::Ok();
}

void Raft::AppendEntries(std::vector<raftpb::Entry> ents) {
  const uint64_t last = log_.LastIndex();
  for (size_t i = 0; i < ents.size(); ++i) {
    ents[i].set_term(term_);
    ents[i].set_index(last + 1 + i);
  }
  const uint64_t new_last = log_.Append(ents);
  // The leader's own (unstable) log counts towards the quorum: the Ready that
  // carries these entries is persisted before its messages leave, and before
  // any entry it commits is applied.
  if (Progress* self = tracker_.Find(id_)) self->MaybeUpdate(new_last);
  MaybeCommit();
}

bool Raft::MaybeCommit() {
  // MaybeCommit only commits an index whose entry has the current term: an
  // older entry is committed indirectly (paper §5.4.2, Figure 8).
  if (!log_.MaybeCommit(tracker_.Committed(), term_)) return false;
  if (!pending_read_index_.empty()) ReleasePendingReadIndexMessages();
  return true;
}

bool Raft::MaybeSendAppend(uint64_t to, bool send_if_empty) {
  Progress* pr = tracker_.Find(to);
  if (pr == nullptr || pr->IsPaused()) return false;
  Result<uint64_t> prev_term = log_.Term(pr->next - 1);
  Result<std::vector<raftpb::Entry>> ents = log_.EntriesFrom(pr->next, max_msg_size_);
  if (ents.ok() && ents->empty() && !send_if_empty) return false;
  if (!prev_term.ok() || !ents.ok()) {
    // The follower needs entries that were compacted away; it can only catch
    // up from a snapshot.
    return SendSnapshot(to, pr);
  }
  raftpb::Message m;
  m.set_to(to);
  m.set_type(raftpb::MSG_APP);
  m.set_index(pr->next - 1);
  m.set_log_term(*prev_term);
  m.set_commit(log_.committed());
  if (!ents->empty()) {
    const uint64_t last = ents->back().index();
    if (pr->state == ProgressState::kReplicate) {
      pr->OptimisticUpdate(last);
      pr->inflights.Add(last);
    } else {
      pr->probe_sent = true;
    }
    for (raftpb::Entry& e : *ents) *m.add_entries() = std::move(e);
  }
  Send(std::move(m));
  return true;
}

void Raft::SendHeartbeat(uint64_t to, const std::string& ctx) {
  // Never tell a follower to commit past what it is known to hold: it may not
  // have those entries, or may have different ones.
  const Progress* pr = tracker_.Find(to);
  raftpb::Message m;
  m.set_to(to);
  m.set_type(raftpb::MSG_HEARTBEAT);
  m.set_commit(std::min(pr == nullptr ? 0 : pr->match, log_.committed()));
  m.set_context(ctx);
  Send(std::move(m));
}

void Raft::BcastAppend() {
  for (const auto& [id, pr] : tracker_.progress()) {
    if (id != id_) SendAppend(id);
  }
  commit_unannounced_ = false;
  while (!forwarded_.empty() && forwarded_.front() <= log_.committed()) forwarded_.pop_front();
}

bool Raft::DeferCommitAnnouncement() {
  if (!defer_commit_announcement_) return false;
  // A follower waits for its forwarded proposal to commit before it can
  // answer its client: tell it at once.
  if (!forwarded_.empty() && forwarded_.front() <= log_.committed()) return false;
  commit_unannounced_ = true;
  return true;
}

void Raft::AnnounceCommit() {
  if (state_ == StateType::kLeader && commit_unannounced_) BcastAppend();
}

void Raft::BcastHeartbeat() { BcastHeartbeatWithCtx(read_only_.LastPendingRequestCtx()); }

void Raft::BcastHeartbeatWithCtx(const std::string& ctx) {
  for (const auto& [id, pr] : tracker_.progress()) {
    if (id != id_) SendHeartbeat(id, ctx);
  }
}

void Raft::HandleAppendResponse(const raftpb::Message& m, Progress* pr) {
  if (m.reject()) {
    // Fast backtracking: the follower hinted the last index that may match
    // (and its term there); skip every entry of ours with a larger term.
    uint64_t next_probe = m.reject_hint();
    if (m.log_term() > 0) next_probe = log_.FindConflictByTerm(m.reject_hint(), m.log_term());
    if (pr->MaybeDecrTo(m.index(), next_probe)) {
      if (pr->state == ProgressState::kReplicate) pr->BecomeProbe();
      SendAppend(m.from());
    }
    return;
  }
  const bool was_paused = pr->IsPaused();
  if (!pr->MaybeUpdate(m.index())) return;
  switch (pr->state) {
    case ProgressState::kProbe:
      pr->BecomeReplicate();
      break;
    case ProgressState::kSnapshot:
      // The follower installed the snapshot (or caught up otherwise): probe
      // from after it, as etcd does, before streaming again.
      if (pr->match >= pr->pending_snapshot) pr->BecomeProbe();
      break;
    case ProgressState::kReplicate:
      pr->inflights.FreeLE(m.index());
      break;
  }
  if (MaybeCommit() && !DeferCommitAnnouncement()) {
    BcastAppend();  // tell everyone the new commit index
  } else if (was_paused) {
    SendAppend(m.from());  // it may be missing the latest commit index
  }
  // The window may have room for several messages now.
  while (MaybeSendAppend(m.from(), false)) {
  }
  // A transferee that has caught up takes over at once.
  if (m.from() == lead_transferee_ && pr->match == log_.LastIndex()) {
    SendTimeoutNow(m.from());
  }
}

void Raft::HandleHeartbeatResponse(const raftpb::Message& m, Progress* pr) {
  pr->recent_active = true;
  pr->probe_sent = false;
  // A follower whose window is full may have lost an append: free a slot so
  // replication can make progress.
  if (pr->state == ProgressState::kReplicate && pr->inflights.Full()) pr->inflights.FreeFirstOne();
  if (pr->match < log_.LastIndex()) SendAppend(m.from());

  if (m.context().empty()) return;
  const std::map<uint64_t, bool>* acks = read_only_.RecvAck(m.from(), m.context());
  if (acks == nullptr || tracker_.voters().Vote(*acks) != VoteResult::kWon) return;
  for (const ReadIndexStatus& rs : read_only_.Advance(m.context())) {
    RespondToReadIndex(rs.req, rs.index);
  }
}

void Raft::CheckQuorumActive() {
  // The leader always counts itself as active.
  if (Progress* self = tracker_.Find(id_)) self->recent_active = true;
  // A leader removed from the voters stays until its hand-over completes
  // (HandOverIfRemoved): it cannot be elected again, and a remaining voter
  // may need its log.
  if (!tracker_.QuorumActive() && tracker_.voters().Contains(id_)) {
    Logf(LogLevel::kWarn,
         [&] { return FormatId(id_) + " stepped down to follower since quorum is not active"; });
    BecomeFollower(term_, kNone);
  }
  // Everyone else must prove itself again during the next election timeout.
  for (auto& [id, pr] : tracker_.progress()) {
    if (id != id_) pr.recent_active = false;
  }
}

bool Raft::CommittedEntryInCurrentTerm() const {
  return log_.TermOrZero(log_.committed()) == term_;
}

void Raft::HandleReadIndexAsLeader(const raftpb::Message& m) {
  if (m.entries_size() != 1) return;  // malformed: the context travels as entries[0].data
  if (tracker_.IsSingleton() && tracker_.voters().Contains(id_)) {
    // Our own vote is the quorum: the commit index is as fresh as it gets.
    RespondToReadIndex(m, log_.committed());
    return;
  }
  // Until it commits an entry of its term, a new leader's commit index may lag
  // behind entries its predecessors committed (Raft thesis §6.4).
  if (!CommittedEntryInCurrentTerm()) {
    pending_read_index_.push_back(m);
    return;
  }
  StartReadIndexRound(m);
}

void Raft::StartReadIndexRound(const raftpb::Message& m) {
  const std::string& ctx = m.entries(0).data();
  read_only_.AddRequest(log_.committed(), m);
  read_only_.RecvAck(id_, ctx);  // the leader acknowledges itself
  // A quorum answering this heartbeat round proves we were still the leader
  // after the request arrived.
  BcastHeartbeatWithCtx(ctx);
}

void Raft::ReleasePendingReadIndexMessages() {
  if (!CommittedEntryInCurrentTerm()) return;
  std::vector<raftpb::Message> pending = std::move(pending_read_index_);
  pending_read_index_.clear();
  for (const raftpb::Message& m : pending) StartReadIndexRound(m);
}

void Raft::RespondToReadIndex(const raftpb::Message& req, uint64_t index) {
  if (req.from() == kNone || req.from() == id_) {
    read_states_.push_back(ReadState{index, req.entries(0).data()});
    return;
  }
  raftpb::Message resp;
  resp.set_to(req.from());
  resp.set_type(raftpb::MSG_READ_INDEX_RESP);
  resp.set_index(index);
  *resp.mutable_entries() = req.entries();
  Send(std::move(resp));
}

}  // namespace etcdd::raft
