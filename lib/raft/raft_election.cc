// Term rules for incoming messages, (pre-)elections and voting.
#include <algorithm>
#include <string>

#include "raft/raft.h"

namespace etcdd::raft {

namespace {

// Context of the votes of a campaign started by MsgTimeoutNow (etcd's
// campaignTransfer).
constexpr std::string_view kCampaignTransfer = "CampaignTransfer";

std::string Describe(const raftpb::Message& m) {
  return raftpb::MessageType_Name(m.type()) + " from " + FormatId(m.from()) +
         " [logterm: " + std::to_string(m.log_term()) + ", index: " + std::to_string(m.index()) +
         "] at term " + std::to_string(m.term());
}

}  // namespace

// Applies the Raft rules that depend only on the message's term (paper §5.1:
// a higher term makes us a follower, a lower one is stale). Returns false if
// the message is fully handled (ignored or answered).
bool Raft::StepTerm(const raftpb::Message& m) {
  if (m.term() == 0) return true;  // local, or forwarded MsgProp/MsgReadIndex
  if (m.term() > term_) {
    if (m.type() == raftpb::MSG_VOTE || m.type() == raftpb::MSG_PRE_VOTE) {
      // Leader lease (with CheckQuorum): a member that heard from a leader
      // within the minimum election timeout neither grants the vote nor
      // updates its term, so a partitioned member cannot depose a healthy
      // leader (Raft thesis §4.2.3).
      const bool in_lease =
          check_quorum_ && lead_ != kNone && election_elapsed_ < election_timeout_;
      // A transferee campaigns at the leader's request: the lease does not
      // hold it back.
      const bool forced = m.context() == kCampaignTransfer;
      if (in_lease && !forced) {
        Logf(LogLevel::kInfo, [&] {
          return FormatId(id_) + " ignored " + Describe(m) +
                 ": lease is not expired (remaining ticks: " +
                 std::to_string(election_timeout_ - election_elapsed_) + ")";
        });
        return false;
      }
    }
    StepHigherTerm(m);
    return true;
  }
  if (m.term() < term_) {
    StepLowerTerm(m);
    return false;
  }
  return true;
}

void Raft::StepHigherTerm(const raftpb::Message& m) {
  if (m.type() == raftpb::MSG_PRE_VOTE) return;  // never change the term for a pre-vote
  // A granted pre-vote carries the term we will campaign for; a rejected one
  // carries the rejecter's term, which we must adopt.
  if (m.type() == raftpb::MSG_PRE_VOTE_RESP && !m.reject()) return;
  Logf(LogLevel::kInfo, [&] {
    return FormatId(id_) + " [term: " + std::to_string(term_) + "] received a " +
           raftpb::MessageType_Name(m.type()) + " message with higher term from " +
           FormatId(m.from()) + " [term: " + std::to_string(m.term()) + "]";
  });
  const bool from_leader = m.type() == raftpb::MSG_APP || m.type() == raftpb::MSG_HEARTBEAT ||
                           m.type() == raftpb::MSG_SNAP;
  BecomeFollower(m.term(), from_leader ? m.from() : kNone);
}

void Raft::StepLowerTerm(const raftpb::Message& m) {
  if ((check_quorum_ || pre_vote_) &&
      (m.type() == raftpb::MSG_HEARTBEAT || m.type() == raftpb::MSG_APP)) {
    // A stale leader is talking to us. With CheckQuorum or PreVote we may have
    // a higher term only because we campaigned while partitioned, and our
    // votes are ignored by members in a leader's lease, so tell the stale
    // leader our term: it steps down and a fresh election frees us.
    raftpb::Message resp;
    resp.set_to(m.from());
    resp.set_type(raftpb::MSG_APP_RESP);
    Send(std::move(resp));
  } else if (m.type() == raftpb::MSG_PRE_VOTE) {
    // Reject explicitly so that a pre-candidate with a stale term learns ours
    // instead of waiting forever.
    raftpb::Message resp;
    resp.set_to(m.from());
    resp.set_term(term_);
    resp.set_type(raftpb::MSG_PRE_VOTE_RESP);
    resp.set_reject(true);
    Send(std::move(resp));
  }
  // Anything else with a lower term is stale: ignore it.
}

void Raft::Hup() {
  if (state_ == StateType::kLeader) return;
  if (!Promotable()) {
    Logf(LogLevel::kWarn, [&] { return FormatId(id_) + " is unpromotable and can not campaign"; });
    return;
  }
  // Campaigning before applying a committed configuration change could count
  // votes against a stale configuration.
  if (HasUnappliedConfChanges()) {
    Logf(LogLevel::kWarn, [&] {
      return FormatId(id_) + " cannot campaign at term " + std::to_string(term_) +
             " since there are still pending configuration changes to apply";
    });
    return;
  }
  Logf(LogLevel::kInfo, [&] {
    return FormatId(id_) + " is starting a new election at term " + std::to_string(term_);
  });
  Campaign(pre_vote_ ? CampaignType::kPreElection : CampaignType::kElection);
}

bool Raft::HasUnappliedConfChanges() const {
  // Scan in bounded chunks: after a restart the unapplied range can be the
  // whole log.
  constexpr uint64_t kScanBytes = 1 << 20;
  // Entries covered by a snapshot being installed count as applied.
  uint64_t lo = std::max({log_.applied() + 1, bootstrap_index_ + 1, log_.FirstIndex()});
  const uint64_t hi = log_.committed() + 1;
  while (lo < hi) {
    Result<std::vector<raftpb::Entry>> ents = log_.Slice(lo, hi, kScanBytes);
    if (!ents.ok()) {
      Panic("unexpected error getting unapplied entries: " + ents.status().ToString());
    }
    for (const raftpb::Entry& e : *ents) {
      if (e.type() == raftpb::ENTRY_CONF_CHANGE) return true;
    }
    lo = ents->back().index() + 1;
  }
  return false;
}

void Raft::Campaign(CampaignType type) {
  uint64_t term;
  raftpb::MessageType vote_type;
  if (type == CampaignType::kPreElection) {
    BecomePreCandidate();
    vote_type = raftpb::MSG_PRE_VOTE;
    term = term_ + 1;  // pre-votes ask about the next term without entering it
  } else {
    BecomeCandidate();
    vote_type = raftpb::MSG_VOTE;
    term = term_;
  }
  if (Poll(id_, VoteResponseType(vote_type), true).result == VoteResult::kWon) {
    // A single-voter group: our own vote is a quorum.
    if (type == CampaignType::kPreElection) {
      Campaign(CampaignType::kElection);
    } else {
      BecomeLeader();
    }
    return;
  }
  for (uint64_t voter : tracker_.voters().ids()) {
    if (voter == id_) continue;
    raftpb::Message m;
    m.set_term(term);
    m.set_to(voter);
    m.set_type(vote_type);
    m.set_index(log_.LastIndex());
    m.set_log_term(log_.LastTerm());
    if (type == CampaignType::kTransfer) m.set_context(std::string(kCampaignTransfer));
    Send(std::move(m));
  }
}

ProgressTracker::Tally Raft::Poll(uint64_t id, raftpb::MessageType type, bool granted) {
  Logf(LogLevel::kInfo, [&] {
    return FormatId(id_) + " received " + raftpb::MessageType_Name(type) +
           (granted ? "" : " rejection") + " from " + FormatId(id) + " at term " +
           std::to_string(term_);
  });
  tracker_.RecordVote(id, granted);
  return tracker_.TallyVotes();
}

// RequestVote receiver (paper §5.2, §5.4.1), for votes and pre-votes.
void Raft::HandleVoteRequest(const raftpb::Message& m) {
  // We can vote if this repeats a vote we already cast, if we have not voted
  // and know no leader in this term, or if it is a pre-vote for a later term.
  const bool can_vote = vote_ == m.from() || (vote_ == kNone && lead_ == kNone) ||
                        (m.type() == raftpb::MSG_PRE_VOTE && m.term() > term_);
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(VoteResponseType(m.type()));
  if (can_vote && log_.IsUpToDate(m.index(), m.log_term())) {
    Logf(LogLevel::kInfo, [&] {
      return FormatId(id_) + " [logterm: " + std::to_string(log_.LastTerm()) +
             ", index: " + std::to_string(log_.LastIndex()) + ", vote: " + FormatId(vote_) +
             "] cast " + Describe(m);
    });
    // Answer with the message's term, not ours: for a pre-vote ours may be
    // older, and the pre-candidate would ignore an answer from its past.
    resp.set_term(m.term());
    Send(std::move(resp));
    if (m.type() == raftpb::MSG_VOTE) {
      election_elapsed_ = 0;
      vote_ = m.from();
    }
  } else {
    Logf(LogLevel::kInfo, [&] {
      return FormatId(id_) + " [logterm: " + std::to_string(log_.LastTerm()) +
             ", index: " + std::to_string(log_.LastIndex()) + ", vote: " + FormatId(vote_) +
             "] rejected " + Describe(m);
    });
    resp.set_term(term_);
    resp.set_reject(true);
    Send(std::move(resp));
  }
}

}  // namespace etcdd::raft
