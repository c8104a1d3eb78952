// EtcdServer's Raft snapshots. The backend is the snapshot: taking one syncs
// the backend and records its applied index in the WAL (after which older WAL
// segments may go); sending one streams a consistent copy of the backend to a
// follower that is too far behind; receiving one replaces the backend
// (etcd: etcdserver/snapshot_merge.go, server.go applySnapshot).
#include <pthread.h>
#include <unistd.h>

#include "base/file.h"
#include "base/go_text.h"
#include "server/ids.h"
#include "server/server.h"

namespace etcdd::server {

namespace {
// In-memory Raft log entries kept behind a snapshot for followers that lag
// (etcd: SnapshotCatchUpEntries).
constexpr uint64_t kCatchUpEntries = 5000;
}  // namespace

void EtcdServer::MaybeSnapshot(uint64_t applied) {
  const uint64_t every = cfg_.snapshot_count == 0 ? 10000 : cfg_.snapshot_count;
  if (applied < last_snapshot_index_ + every) return;
  // The WAL may forget entries up to `applied` only once the backend holds
  // them durably (it is written without fsync, see mvcc::Options).
  Status s = store_->Sync();
  if (s.ok())
    s = raft_->CreateSnapshot(applied, applier_->ConfState(), kCatchUpEntries, cfg_.max_wals);
  if (!s.ok()) {
    logger_.Warn("failed to save snapshot", {{"snapshot-index", applied}, {"error", s.message()}});
    return;
  }
  last_snapshot_index_ = applied;
}

void EtcdServer::SendMessages(std::vector<raftpb::Message> msgs) {
  if (!transport_) return;
  auto snap = std::stable_partition(msgs.begin(), msgs.end(), [](const raftpb::Message& m) {
    return m.type() != raftpb::MSG_SNAP;
  });
  if (snap != msgs.end()) {
    {
      std::lock_guard lock(snap_mu_);
      snap_queue_.insert(snap_queue_.end(), std::make_move_iterator(snap),
                         std::make_move_iterator(msgs.end()));
    }
    snap_cv_.notify_one();
    msgs.erase(snap, msgs.end());
  }
  transport_->Send(std::move(msgs));
}

void EtcdServer::RunSnapshotSender() {
  pthread_setname_np(pthread_self(), "etcdd-snapsend");
  for (;;) {
    raftpb::Message msg;
    {
      std::unique_lock lock(snap_mu_);
      snap_cv_.wait(lock, [&] { return snap_stop_ || !snap_queue_.empty(); });
      if (snap_stop_) return;
      msg = std::move(snap_queue_.front());
      snap_queue_.erase(snap_queue_.begin());
    }
    const uint64_t to = msg.to();
    Status s = SendSnapshot(std::move(msg));
    if (!s.ok()) {
      logger_.Warn("failed to send database snapshot",
                   {{"remote-peer-id", IdToHex(to)}, {"error", s.message()}});
      raft_->ReportSnapshot(to, false);
    }
  }
}

Status EtcdServer::SendSnapshot(raftpb::Message msg) {
  // A consistent copy of the backend as of now: it is at least as recent as
  // the snapshot Raft chose (which is at an applied index), so the message
  // describes the copy itself: its index, term and ConfState.
  // The copy is streamed from its file and deleted once sent.
  const std::string path = snap_dir_.SendPath(msg.to(), ++snapshots_sent_);
  RETURN_IF_ERROR(snap_dir_.Create());
  RETURN_IF_ERROR(store_->WriteSnapshot(path));
  auto info = mvcc::Store::InspectSnapshot(path);
  if (!info.ok()) {
    ::unlink(path.c_str());
    return info.status();
  }
  auto* meta = msg.mutable_snapshot()->mutable_metadata();
  meta->set_index(info->consistent_index);
  meta->set_term(info->consistent_term);
  auto cs = info->meta.find(kConfStateMetaKey);
  if (cs == info->meta.end() || !meta->mutable_conf_state()->ParseFromString(cs->second)) {
    ::unlink(path.c_str());
    return Status::Corruption("backend copy without a conf state", path);
  }
  const uint64_t to = msg.to();
  transport_->SendSnapshot(std::move(msg), path, [this, to, path](bool ok) {
    ::unlink(path.c_str());
    raft_->ReportSnapshot(to, ok);
  });
  return Status::Ok();
}

Status EtcdServer::ReceiveSnapshot(const raftpb::Message& msg, const std::string& path) {
  const uint64_t index = msg.snapshot().metadata().index();
  auto info = mvcc::Store::InspectSnapshot(path);
  if (info.ok() && info->consistent_index != index) {
    info =
        Status::Corruption("snapshot data is at index " + std::to_string(info->consistent_index) +
                               ", message says " + std::to_string(index),
                           path);
  }
  if (!info.ok()) {
    ::unlink(path.c_str());
    return info.status();
  }
  raftpb::Message step = msg;
  step.mutable_snapshot()->clear_data();
  raft_->Step(std::move(step));
  return Status::Ok();
}

Result<wal::SnapshotMarker> EtcdServer::PrepareRestart() {
  ASSIGN_OR_RETURN(auto markers, wal::Wal::ValidSnapshotMarkers(cfg_.WalDir(), logger_));
  // A snapshot from the leader is recorded in the WAL before the backend is
  // replaced; a crash in between leaves its file to install now.
  if (!markers.empty() && markers.back().index > store_->ConsistentIndex()) {
    const std::string path = snap_dir_.ReceivedPath(markers.back().index);
    if (!PathExists(path)) {
      return Status::Corruption("the WAL records a snapshot at index " +
                                    std::to_string(markers.back().index) +
                                    " that neither the backend nor a snapshot file holds",
                                path);
    }
    RETURN_IF_ERROR(store_->RestoreFrom(path));
    RETURN_IF_ERROR(store_->Sync());
    ::unlink(path.c_str());
    logger_.Info("restored the backend from a received snapshot", {{"path", path}});
  }
  snap_dir_.RemoveStale(store_->ConsistentIndex(), logger_);
  // Replay from the newest marker the backend covers.
  wal::SnapshotMarker from;
  for (const auto& m : markers) {
    if (m.index <= store_->ConsistentIndex()) from = m;
  }
  return from;
}

}  // namespace etcdd::server
