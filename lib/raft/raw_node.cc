#include "raft/raw_node.h"

#include <utility>

#include "raft/raft.h"
#include "raft/util.h"

namespace etcdd::raft {

namespace {

bool SameHardState(const raftpb::HardState& a, const raftpb::HardState& b) {
  return a.term() == b.term() && a.vote() == b.vote() && a.commit() == b.commit();
}

bool IsEmptyHardState(const raftpb::HardState& hs) {
  return SameHardState(hs, raftpb::HardState());
}

}  // namespace

RawNode::RawNode(std::unique_ptr<Raft> raft) : raft_(std::move(raft)) {
  prev_soft_ = raft_->GetSoftState();
  prev_hard_ = raft_->GetHardState();
}

RawNode::~RawNode() = default;

Result<std::unique_ptr<RawNode>> RawNode::Create(const Config& config) {
  ASSIGN_OR_RETURN(std::unique_ptr<Raft> raft, Raft::Create(config));
  return std::unique_ptr<RawNode>(new RawNode(std::move(raft)));
}

Status RawNode::Bootstrap(const std::vector<uint64_t>& voters,
                          const std::vector<std::string>& contexts) {
  RETURN_IF_ERROR(raft_->Bootstrap(voters, contexts));
  // Nothing of the bootstrap is persisted yet: the first Ready must carry the
  // HardState as well as the entries.
  prev_hard_ = raftpb::HardState();
  return Status::Ok();
}

void RawNode::Tick() { raft_->Tick(); }

Status RawNode::Campaign() {
  raftpb::Message m;
  m.set_type(raftpb::MSG_HUP);
  return raft_->Step(m);
}

Status RawNode::Propose(std::string data) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_PROP);
  m.set_from(raft_->id());
  m.add_entries()->set_data(std::move(data));
  return raft_->Step(m);
}

bool RawNode::CommitUnannounced() const { return raft_->commit_unannounced(); }

void RawNode::AnnounceCommit() { raft_->AnnounceCommit(); }

Status RawNode::ProposeConfChange(const raftpb::ConfChange& cc) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_PROP);
  m.set_from(raft_->id());
  raftpb::Entry* e = m.add_entries();
  e->set_type(raftpb::ENTRY_CONF_CHANGE);
  e->set_data(cc.SerializeAsString());
  return raft_->Step(m);
}

Status RawNode::Step(const raftpb::Message& m) {
  if (IsLocalMsg(m.type())) return Status::InvalidArgument("raft: cannot step raft local message");
  if (IsResponseMsg(m.type()) && raft_->tracker().Find(m.from()) == nullptr) {
    return Status::NotFound("raft: cannot step as peer not found");
  }
  return raft_->Step(m);
}

void RawNode::ReadIndex(std::string request_ctx) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_READ_INDEX);
  m.add_entries()->set_data(std::move(request_ctx));
  static_cast<void>(raft_->Step(m));
}

raftpb::ConfState RawNode::ApplyConfChange(const raftpb::ConfChange& cc) {
  return raft_->ApplyConfChange(cc);
}

bool RawNode::HasReady() const {
  if (!(raft_->GetSoftState() == prev_soft_)) return true;
  const raftpb::HardState hs = raft_->GetHardState();
  if (!IsEmptyHardState(hs) && !SameHardState(hs, prev_hard_)) return true;
  if (raft_->log().unstable().snapshot()) return true;
  return !raft_->messages().empty() || !raft_->log().unstable().entries().empty() ||
         raft_->log().HasNextEntries() || !raft_->read_states().empty();
}

Ready RawNode::GetReady() {
  Ready rd;
  rd.entries = raft_->log().unstable().entries();
  rd.snapshot = raft_->log().unstable().snapshot();
  rd.committed_entries = raft_->log().NextEntries();
  rd.messages = raft_->TakeMessages();
  rd.read_states = raft_->TakeReadStates();
  const SoftState soft = raft_->GetSoftState();
  if (!(soft == prev_soft_)) {
    rd.soft_state = soft;
    prev_soft_ = soft;
  }
  const raftpb::HardState hs = raft_->GetHardState();
  if (!SameHardState(hs, prev_hard_)) rd.hard_state = hs;
  // Term, vote and log entries must be on disk before anyone hears of them;
  // a commit index alone may be written lazily (it can be re-learned).
  rd.must_sync = !rd.entries.empty() || rd.snapshot.has_value() || hs.term() != prev_hard_.term() ||
                 hs.vote() != prev_hard_.vote();
  return rd;
}

void RawNode::Advance(const Ready& rd) {
  if (rd.hard_state) prev_hard_ = *rd.hard_state;
  // Applied: the last committed entry, else the snapshot (etcd's
  // Ready.appliedCursor).
  uint64_t applied = rd.committed_entries.empty() ? 0 : rd.committed_entries.back().index();
  if (applied == 0 && rd.snapshot) applied = rd.snapshot->metadata().index();
  uint64_t stable_index = 0;
  uint64_t stable_term = 0;
  if (!rd.entries.empty()) {
    stable_index = rd.entries.back().index();
    stable_term = rd.entries.back().term();
  }
  raft_->Advance(applied, stable_index, stable_term,
                 rd.snapshot ? rd.snapshot->metadata().index() : 0);
}

void RawNode::ReportSnapshot(uint64_t id, SnapshotStatus status) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_SNAP_STATUS);
  m.set_from(id);
  m.set_reject(status == SnapshotStatus::kFailure);
  static_cast<void>(raft_->Step(m));
}

void RawNode::TransferLeader(uint64_t transferee) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_TRANSFER_LEADER);
  m.set_from(transferee);
  static_cast<void>(raft_->Step(m));
}

std::map<uint64_t, ProgressInfo> RawNode::Progress() const {
  std::map<uint64_t, ProgressInfo> out;
  if (raft_->state() != StateType::kLeader) return out;
  for (const auto& [id, pr] : raft_->tracker().progress()) {
    ProgressInfo& info = out[id];
    info.match = pr.match;
    info.next = pr.next;
    info.state = pr.state;
    info.pending_snapshot = pr.pending_snapshot;
    info.recent_active = pr.recent_active;
    info.is_learner = pr.is_learner;
  }
  return out;
}

raftpb::ConfState RawNode::GetConfState() const { return raft_->tracker().GetConfState(); }

void RawNode::ReportUnreachable(uint64_t id) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_UNREACHABLE);
  m.set_from(id);
  static_cast<void>(raft_->Step(m));
}

BasicStatus RawNode::GetStatus() const {
  BasicStatus s;
  s.id = raft_->id();
  s.term = raft_->term();
  s.vote = raft_->vote();
  s.commit = raft_->log().committed();
  s.applied = raft_->log().applied();
  s.lead = raft_->lead();
  s.state = raft_->state();
  s.lead_transferee = raft_->lead_transferee();
  return s;
}

Status RawNode::VerifyInvariants() const { return raft_->CheckInvariants(); }

void RawNode::CheckInvariants() const {
  Status s = VerifyInvariants();
  if (!s.ok()) Panic(s.message());
}

}  // namespace etcdd::raft
