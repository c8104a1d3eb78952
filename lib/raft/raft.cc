#include "raft/raft.h"

#include <string>
#include <utility>

#include "raft/storage.h"

namespace etcdd::raft {

Status ErrProposalDropped() { return Status::Unavailable("raft proposal dropped"); }

std::string_view ProgressStateName(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe:
      return "StateProbe";
    case ProgressState::kReplicate:
      return "StateReplicate";
    case ProgressState::kSnapshot:
      return "StateSnapshot";
  }
  return "StateUnknown";
}

std::string_view StateTypeName(StateType state) {
  switch (state) {
    case StateType::kFollower:
      return "StateFollower";
    case StateType::kCandidate:
      return "StateCandidate";
    case StateType::kLeader:
      return "StateLeader";
    case StateType::kPreCandidate:
      return "StatePreCandidate";
  }
  return "StateUnknown";
}

Status ValidateConfig(const Config& c) {
  if (c.id == kNone) return Status::InvalidArgument("cannot use none as id");
  if (c.heartbeat_tick <= 0) {
    return Status::InvalidArgument("heartbeat tick must be greater than 0");
  }
  if (c.election_tick <= c.heartbeat_tick) {
    return Status::InvalidArgument("election tick must be greater than heartbeat tick");
  }
  if (c.storage == nullptr) return Status::InvalidArgument("storage cannot be nil");
  if (c.max_inflight_msgs <= 0) {
    return Status::InvalidArgument("max inflight messages must be greater than 0");
  }
  return Status::Ok();
}

namespace {

uint64_t CommittedSizePerReady(const Config& c) {
  return c.max_committed_size_per_ready == 0 ? c.max_size_per_msg : c.max_committed_size_per_ready;
}

std::seed_seq SeedFor(const Config& c) {
  return std::seed_seq{static_cast<uint32_t>(c.random_seed),
                       static_cast<uint32_t>(c.random_seed >> 32), static_cast<uint32_t>(c.id),
                       static_cast<uint32_t>(c.id >> 32)};
}

}  // namespace

Raft::Raft(const Config& c)
    : id_(c.id),
      log_(c.storage, CommittedSizePerReady(c)),
      tracker_(c.max_inflight_msgs),
      max_msg_size_(c.max_size_per_msg),
      election_timeout_(c.election_tick),
      heartbeat_timeout_(c.heartbeat_tick),
      check_quorum_(c.check_quorum),
      pre_vote_(c.pre_vote),
      defer_commit_announcement_(c.defer_commit_announcement),
      logger_(c.logger) {
  std::seed_seq seed = SeedFor(c);
  rng_.seed(seed);
}

Result<std::unique_ptr<Raft>> Raft::Create(const Config& c) {
  RETURN_IF_ERROR(ValidateConfig(c));
  std::unique_ptr<Raft> r(new Raft(c));
  ASSIGN_OR_RETURN(auto initial, c.storage->InitialState());
  const raftpb::HardState& hs = initial.first;
  const raftpb::ConfState& cs = initial.second;
  r->LoadConfState(cs);
  if (hs.term() != 0 || hs.vote() != 0 || hs.commit() != 0) {
    if (hs.commit() < r->log_.committed() || hs.commit() > r->log_.LastIndex()) {
      return Status::InvalidArgument("state.commit " + std::to_string(hs.commit()) +
                                     " is out of range [" + std::to_string(r->log_.committed()) +
                                     ", " + std::to_string(r->log_.LastIndex()) + "]");
    }
    r->log_.CommitTo(hs.commit());
    r->term_ = hs.term();
    r->vote_ = hs.vote();
  }
  if (c.applied > 0) {
    if (c.applied > r->log_.committed() || c.applied < r->log_.applied()) {
      return Status::InvalidArgument("applied(" + std::to_string(c.applied) +
                                     ") is out of range [prevApplied(" +
                                     std::to_string(r->log_.applied()) + "), committed(" +
                                     std::to_string(r->log_.committed()) + ")]");
    }
    r->log_.AppliedTo(c.applied);
  }
  r->BecomeFollower(r->term_, kNone);
  r->Logf(LogLevel::kInfo, [&] {
    return "newRaft " + FormatId(r->id_) + " [term: " + std::to_string(r->term_) +
           ", commit: " + std::to_string(r->log_.committed()) +
           ", applied: " + std::to_string(r->log_.applied()) +
           ", lastindex: " + std::to_string(r->log_.LastIndex()) +
           ", lastterm: " + std::to_string(r->log_.LastTerm()) + "]";
  });
  return r;
}

raftpb::HardState Raft::GetHardState() const {
  raftpb::HardState hs;
  hs.set_term(term_);
  hs.set_vote(vote_);
  hs.set_commit(log_.committed());
  return hs;
}

std::vector<raftpb::Message> Raft::TakeMessages() { return std::exchange(msgs_, {}); }

std::vector<ReadState> Raft::TakeReadStates() { return std::exchange(read_states_, {}); }

void Raft::Advance(uint64_t applied_index, uint64_t stable_index, uint64_t stable_term,
                   uint64_t stable_snap_index) {
  if (applied_index > 0) log_.AppliedTo(applied_index);
  if (stable_index > 0) log_.StableTo(stable_index, stable_term);
  if (stable_snap_index > 0) log_.StableSnapTo(stable_snap_index);
}

Status Raft::Step(const raftpb::Message& m) {
  if (!StepTerm(m)) return Status::Ok();
  switch (m.type()) {
    case raftpb::MSG_HUP:
      Hup();
      return Status::Ok();
    case raftpb::MSG_VOTE:
    case raftpb::MSG_PRE_VOTE:
      HandleVoteRequest(m);
      return Status::Ok();
    default:
      break;
  }
  switch (state_) {
    case StateType::kLeader:
      return StepLeader(m);
    case StateType::kCandidate:
    case StateType::kPreCandidate:
      return StepCandidate(m);
    case StateType::kFollower:
      return StepFollower(m);
  }
  return Status::Ok();
}

void Raft::Tick() {
  if (state_ == StateType::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  if (Promotable() && PastElectionTimeout()) {
    election_elapsed_ = 0;
    raftpb::Message m;
    m.set_type(raftpb::MSG_HUP);
    m.set_from(id_);
    static_cast<void>(Step(m));
  }
}

void Raft::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= election_timeout_) {
    election_elapsed_ = 0;
    if (check_quorum_) {
      raftpb::Message m;
      m.set_type(raftpb::MSG_CHECK_QUORUM);
      m.set_from(id_);
      static_cast<void>(Step(m));
    }
    // A transfer that did not complete within an election timeout is given
    // up: the leader takes proposals again.
    if (state_ == StateType::kLeader && lead_transferee_ != kNone) AbortLeaderTransfer();
    HandOverIfRemoved();  // a removed leader tries again
  }
  if (state_ != StateType::kLeader) return;  // CheckQuorum may have deposed us
  if (heartbeat_elapsed_ >= heartbeat_timeout_) {
    heartbeat_elapsed_ = 0;
    raftpb::Message m;
    m.set_type(raftpb::MSG_BEAT);
    m.set_from(id_);
    static_cast<void>(Step(m));
  }
}

void Raft::ResetRandomizedElectionTimeout() {
  randomized_election_timeout_ =
      election_timeout_ + static_cast<int>(rng_() % static_cast<uint64_t>(election_timeout_));
}

void Raft::Reset(uint64_t term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNone;
  }
  lead_ = kNone;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  tracker_.ResetVotes();
  tracker_.ResetProgress(id_, log_.LastIndex());
  pending_conf_index_ = 0;
  self_removal_pending_ = false;
  handover_attempts_ = 0;
  AbortLeaderTransfer();
  read_only_ = ReadOnly();
  pending_read_index_.clear();
  commit_unannounced_ = false;
  forwarded_.clear();
}

void Raft::BecomeFollower(uint64_t term, uint64_t lead) {
  Reset(term);
  lead_ = lead;
  state_ = StateType::kFollower;
  Logf(LogLevel::kInfo,
       [&] { return FormatId(id_) + " became follower at term " + std::to_string(term_); });
}

void Raft::BecomePreCandidate() {
  if (state_ == StateType::kLeader) Panic("invalid transition [leader -> pre-candidate]");
  // A pre-candidate keeps its term and vote: a pre-election changes nothing
  // that must be persisted.
  tracker_.ResetVotes();
  lead_ = kNone;
  state_ = StateType::kPreCandidate;
  Logf(LogLevel::kInfo,
       [&] { return FormatId(id_) + " became pre-candidate at term " + std::to_string(term_); });
}

void Raft::BecomeCandidate() {
  if (state_ == StateType::kLeader) Panic("invalid transition [leader -> candidate]");
  Reset(term_ + 1);
  vote_ = id_;
  state_ = StateType::kCandidate;
  Logf(LogLevel::kInfo,
       [&] { return FormatId(id_) + " became candidate at term " + std::to_string(term_); });
}

void Raft::BecomeLeader() {
  if (state_ == StateType::kFollower) Panic("invalid transition [follower -> leader]");
  Reset(term_);
  lead_ = id_;
  state_ = StateType::kLeader;
  // The leader's own log is trivially replicated.
  if (Progress* self = tracker_.Find(id_)) self->BecomeReplicate();
  // There may be an unapplied configuration change in the log; rather than
  // scanning for it, refuse new ones until everything up to here is applied.
  pending_conf_index_ = log_.LastIndex();
  self_removal_pending_ = ScanForSelfRemoval();
  // An empty entry of the new term: committing it commits every earlier entry
  // (Raft paper §5.4.2) and lets ReadIndex proceed.
  raftpb::Entry empty;
  AppendEntries({empty});
  Logf(LogLevel::kInfo,
       [&] { return FormatId(id_) + " became leader at term " + std::to_string(term_); });
}

void Raft::Send(raftpb::Message m) {
  m.set_from(id_);
  const raftpb::MessageType t = m.type();
  if (t == raftpb::MSG_VOTE || t == raftpb::MSG_VOTE_RESP || t == raftpb::MSG_PRE_VOTE ||
      t == raftpb::MSG_PRE_VOTE_RESP) {
    // (Pre-)vote messages carry the term campaigned for, set by the caller.
    if (m.term() == 0) Panic("term should be set when sending " + raftpb::MessageType_Name(t));
  } else {
    if (m.term() != 0) Panic("term should not be set when sending " + raftpb::MessageType_Name(t));
    // Proposals and read requests forwarded to the leader travel without a
    // term, like local messages.
    if (t != raftpb::MSG_PROP && t != raftpb::MSG_READ_INDEX) m.set_term(term_);
  }
  msgs_.push_back(std::move(m));
}

Status Raft::CheckInvariants() const {
  RETURN_IF_ERROR(log_.CheckInvariants());
  auto fail = [this](const std::string& what) {
    return Status::Internal("raft " + FormatId(id_) + " invariant: " + what);
  };
  if (log_.LastTerm() > term_) {
    return fail("last log term " + std::to_string(log_.LastTerm()) + " > term " +
                std::to_string(term_));
  }
  if ((state_ == StateType::kLeader) != (lead_ == id_)) return fail("leader/lead mismatch");
  if (state_ == StateType::kCandidate && vote_ != id_) return fail("candidate not voting for self");
  if (state_ == StateType::kLeader) {
    const Progress* self = tracker_.Find(id_);
    if (self != nullptr && self->match != log_.LastIndex()) {
      return fail("leader's own match " + std::to_string(self->match) + " != last index " +
                  std::to_string(log_.LastIndex()));
    }
  }
  if (state_ == StateType::kLeader && lead_transferee_ != kNone &&
      tracker_.Find(lead_transferee_) == nullptr) {
    return fail("transferring leadership to a non-member");
  }
  for (const auto& [id, pr] : tracker_.progress()) {
    if (pr.is_learner != tracker_.IsLearner(id)) return fail("learner flag of " + FormatId(id));
    if (pr.match >= pr.next) {
      return fail("progress of " + FormatId(id) + ": match " + std::to_string(pr.match) +
                  " >= next " + std::to_string(pr.next));
    }
  }
  return Status::Ok();
}

}  // namespace etcdd::raft
