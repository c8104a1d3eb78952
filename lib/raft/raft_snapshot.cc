// Snapshots (the leader sending one to a follower whose next entries were
// compacted, the follower installing it) and leadership transfer. Mirrors
// etcd 3.4's raft.go (sendAppend's snapshot branch, restore, MsgSnapStatus,
// MsgTransferLeader, MsgTimeoutNow).
#include <string>

#include "raft/raft.h"

namespace etcdd::raft {

// Sends the storage's snapshot to `to`, whose next entries are compacted.
// Returns false if nothing was sent.
bool Raft::SendSnapshot(uint64_t to, Progress* pr) {
  if (!pr->recent_active) {
    // Snapshots are expensive: wait until the follower proves it is alive.
    Logf(LogLevel::kDebug, [&] {
      return FormatId(id_) + " ignore sending snapshot to " + FormatId(to) +
             " since it is not recently active";
    });
    return false;
  }
  Result<raftpb::Snapshot> snap = log_.Snapshot();
  if (!snap.ok()) {
    // etcd's ErrSnapshotTemporarilyUnavailable: try again at the next chance.
    Logf(LogLevel::kDebug, [&] {
      return FormatId(id_) + " failed to send snapshot to " + FormatId(to) +
             " because snapshot is temporarily unavailable: " + snap.status().ToString();
    });
    return false;
  }
  const uint64_t sindex = snap->metadata().index();
  if (sindex == 0 || sindex + 1 < log_.FirstIndex()) {
    // etcd panics ("need non-empty snapshot"). Here the application may have
    // compacted without taking a snapshot that covers the compacted entries
    // (MemoryStorage::Compact without CreateSnapshot): the follower cannot
    // catch up until it does; keep the leader running.
    Logf(LogLevel::kWarn, [&] {
      return FormatId(id_) + " cannot send snapshot to " + FormatId(to) + ": snapshot index " +
             std::to_string(sindex) + " does not cover the compacted log (first index " +
             std::to_string(log_.FirstIndex()) + ")";
    });
    return false;
  }
  Logf(LogLevel::kInfo, [&] {
    return FormatId(id_) + " [firstindex: " + std::to_string(log_.FirstIndex()) +
           ", commit: " + std::to_string(log_.committed()) +
           "] sent snapshot[index: " + std::to_string(sindex) +
           ", term: " + std::to_string(snap->metadata().term()) + "] to " + FormatId(to);
  });
  pr->BecomeSnapshot(sindex);
  raftpb::Message m;
  m.set_to(to);
  m.set_type(raftpb::MSG_SNAP);
  *m.mutable_snapshot() = std::move(snap).value();
  Send(std::move(m));
  return true;
}

// RawNode::ReportSnapshot: the application finished (or failed) sending the
// snapshot to m.from(). Either way the leader probes next, after waiting for
// one MsgAppResp (or heartbeat response).
void Raft::HandleSnapshotStatus(const raftpb::Message& m, Progress* pr) {
  if (pr->state != ProgressState::kSnapshot) return;
  if (m.reject()) pr->pending_snapshot = 0;  // send it again when probing fails
  pr->BecomeProbe();
  pr->probe_sent = true;
}

// InstallSnapshot receiver (Raft paper §7).
void Raft::HandleSnapshot(const raftpb::Message& m) {
  const uint64_t sindex = m.snapshot().metadata().index();
  const uint64_t sterm = m.snapshot().metadata().term();
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(raftpb::MSG_APP_RESP);
  if (Restore(m.snapshot())) {
    Logf(LogLevel::kInfo, [&] {
      return FormatId(id_) + " [commit: " + std::to_string(log_.committed()) +
             "] restored snapshot [index: " + std::to_string(sindex) +
             ", term: " + std::to_string(sterm) + "]";
    });
    resp.set_index(log_.LastIndex());
  } else {
    Logf(LogLevel::kInfo, [&] {
      return FormatId(id_) + " [commit: " + std::to_string(log_.committed()) +
             "] ignored snapshot [index: " + std::to_string(sindex) +
             ", term: " + std::to_string(sterm) + "]";
    });
    resp.set_index(log_.committed());
  }
  Send(std::move(resp));
}

// Installs `snap` unless it tells nothing new. Returns true if the log was
// replaced by it.
bool Raft::Restore(const raftpb::Snapshot& snap) {
  const raftpb::SnapshotMetadata& meta = snap.metadata();
  if (meta.index() <= log_.committed()) return false;
  if (state_ != StateType::kFollower) {
    // Only a leader of this term sends snapshots, and a member sending us
    // one in our term must be that leader; be defensive anyway, as etcd.
    Logf(LogLevel::kWarn, [&] {
      return FormatId(id_) + " attempted to restore snapshot as leader; should never happen";
    });
    BecomeFollower(term_ + 1, kNone);
    return false;
  }
  bool found = false;
  for (uint64_t id : meta.conf_state().voters()) found = found || id == id_;
  for (uint64_t id : meta.conf_state().learners()) found = found || id == id_;
  if (!found) {
    Logf(LogLevel::kWarn, [&] {
      return FormatId(id_) +
             " attempted to restore snapshot but it is not in the ConfState; "
             "should never happen";
    });
    return false;
  }
  if (log_.MatchTerm(meta.index(), meta.term())) {
    // We already have the snapshot's last entry: only the commit moves.
    log_.CommitTo(meta.index());
    return false;
  }
  log_.Restore(snap);
  LoadConfState(meta.conf_state());
  return true;
}

void Raft::HandleTransferLeader(const raftpb::Message& m, const Progress& pr) {
  const uint64_t transferee = m.from();
  if (pr.is_learner) {
    Logf(LogLevel::kDebug,
         [&] { return FormatId(id_) + " is learner. Ignored transferring leadership"; });
    return;
  }
  if (lead_transferee_ != kNone) {
    if (lead_transferee_ == transferee) return;  // already under way
    AbortLeaderTransfer();
  }
  if (transferee == id_) return;  // already leader
  Logf(LogLevel::kInfo, [&] {
    return FormatId(id_) + " [term " + std::to_string(term_) +
           "] starts to transfer leadership to " + FormatId(transferee);
  });
  // The transfer must complete within an election timeout.
  election_elapsed_ = 0;
  lead_transferee_ = transferee;
  if (pr.match == log_.LastIndex()) {
    SendTimeoutNow(transferee);
  } else {
    SendAppend(transferee);  // HandleAppendResponse sends MsgTimeoutNow once caught up
  }
}

void Raft::SendTimeoutNow(uint64_t to) {
  Logf(LogLevel::kInfo, [&] {
    return FormatId(id_) + " sends MsgTimeoutNow to " + FormatId(to) +
           " immediately as it already has up-to-date log";
  });
  raftpb::Message m;
  m.set_to(to);
  m.set_type(raftpb::MSG_TIMEOUT_NOW);
  Send(std::move(m));
}

}  // namespace etcdd::raft
