// Followers and candidates: appends and heartbeats from the leader, vote
// responses, and forwarding of proposals and reads to the leader.
#include <algorithm>
#include <string>

#include "raft/raft.h"

namespace etcdd::raft {

Status Raft::StepFollower(const raftpb::Message& m) {
  switch (m.type()) {
    case raftpb::MSG_PROP: {
      if (lead_ == kNone) {
        Logf(LogLevel::kInfo, [&] {
          return FormatId(id_) + " no leader at term " + std::to_string(term_) +
                 "; dropping proposal";
        });
        return ErrProposalDropped();
      }
      raftpb::Message fwd = m;
      fwd.set_to(lead_);
      Send(std::move(fwd));
      return Status::Ok();
    }
    case raftpb::MSG_APP:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleAppendEntries(m);
      return Status::Ok();
    case raftpb::MSG_HEARTBEAT:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleHeartbeat(m);
      return Status::Ok();
    case raftpb::MSG_SNAP:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleSnapshot(m);
      return Status::Ok();
    case raftpb::MSG_TRANSFER_LEADER:
      // As etcd, the forwarded request names this member (Send sets `from`):
      // call RawNode::TransferLeader on the leader to pick another transferee.
      if (lead_ == kNone) return Status::Ok();
      {
        raftpb::Message fwd = m;
        fwd.set_to(lead_);
        fwd.set_term(0);
        Send(std::move(fwd));
      }
      return Status::Ok();
    case raftpb::MSG_TIMEOUT_NOW:
      // The leader hands over: campaign at once, with no pre-vote, and past
      // the other members' leader lease (thesis §3.10).
      if (Promotable()) {
        Logf(LogLevel::kInfo, [&] {
          return FormatId(id_) + " [term " + std::to_string(term_) +
                 "] received MsgTimeoutNow from " + FormatId(m.from()) +
                 " and starts an election to get leadership.";
        });
        Campaign(CampaignType::kTransfer);
      }
      return Status::Ok();
    case raftpb::MSG_READ_INDEX: {
      // Without a leader the request is dropped; the application retries.
      if (lead_ == kNone) return Status::Ok();
      raftpb::Message fwd = m;
      fwd.set_to(lead_);
      Send(std::move(fwd));
      return Status::Ok();
    }
    case raftpb::MSG_READ_INDEX_RESP:
      if (m.entries_size() != 1) return Status::Ok();  // malformed
      read_states_.push_back(ReadState{m.index(), m.entries(0).data()});
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

// Shared by candidates and pre-candidates; each counts only the responses to
// its own kind of election (a candidate may still receive stale pre-vote
// responses of the same term).
Status Raft::StepCandidate(const raftpb::Message& m) {
  const raftpb::MessageType my_response =
      state_ == StateType::kPreCandidate ? raftpb::MSG_PRE_VOTE_RESP : raftpb::MSG_VOTE_RESP;
  switch (m.type()) {
    case raftpb::MSG_PROP:
      Logf(LogLevel::kInfo, [&] {
        return FormatId(id_) + " no leader at term " + std::to_string(term_) +
               "; dropping proposal";
      });
      return ErrProposalDropped();
    case raftpb::MSG_APP:
      // A leader exists in our term (m.term() == term_ here): it won.
      BecomeFollower(m.term(), m.from());
      HandleAppendEntries(m);
      return Status::Ok();
    case raftpb::MSG_HEARTBEAT:
      BecomeFollower(m.term(), m.from());
      HandleHeartbeat(m);
      return Status::Ok();
    case raftpb::MSG_SNAP:
      BecomeFollower(m.term(), m.from());
      HandleSnapshot(m);
      return Status::Ok();
    default:
      break;
  }
  if (m.type() != my_response) return Status::Ok();
  const ProgressTracker::Tally tally = Poll(m.from(), m.type(), !m.reject());
  if (tally.result == VoteResult::kWon) {
    if (state_ == StateType::kPreCandidate) {
      Campaign(CampaignType::kElection);
    } else {
      BecomeLeader();
      BcastAppend();
    }
  } else if (tally.result == VoteResult::kLost) {
    // A rejected pre-vote carries a future term of ours; keep our own.
    BecomeFollower(term_, kNone);
  }
  return Status::Ok();
}

// AppendEntries receiver (paper §5.3, Figure 2).
void Raft::HandleAppendEntries(const raftpb::Message& m) {
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(raftpb::MSG_APP_RESP);
  if (m.index() < log_.committed()) {
    // Everything up to our commit index matches the leader's log already.
    resp.set_index(log_.committed());
    Send(std::move(resp));
    return;
  }
  std::vector<raftpb::Entry> ents(m.entries().begin(), m.entries().end());
  if (std::optional<uint64_t> last_new =
          log_.MaybeAppend(m.index(), m.log_term(), m.commit(), ents)) {
    resp.set_index(*last_new);
    Send(std::move(resp));
    return;
  }
  // Reject, with a hint for fast backtracking: the largest index that could
  // still match, i.e. the last one whose term is not above the leader's term
  // at m.index(). The leader skips all entries between it and m.index().
  uint64_t hint_index = std::min(m.index(), log_.LastIndex());
  hint_index = log_.FindConflictByTerm(hint_index, m.log_term());
  // 0 if compacted meanwhile: the leader then backs off by index alone.
  const uint64_t hint_term = log_.TermOrZero(hint_index);
  Logf(LogLevel::kDebug, [&] {
    return FormatId(id_) + " rejected MsgApp [logterm: " + std::to_string(m.log_term()) +
           ", index: " + std::to_string(m.index()) + "] from " + FormatId(m.from());
  });
  resp.set_index(m.index());
  resp.set_reject(true);
  resp.set_reject_hint(hint_index);
  resp.set_log_term(hint_term);
  Send(std::move(resp));
}

void Raft::HandleHeartbeat(const raftpb::Message& m) {
  log_.CommitTo(m.commit());
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(raftpb::MSG_HEARTBEAT_RESP);
  resp.set_context(m.context());
  Send(std::move(resp));
}

}  // namespace etcdd::raft
