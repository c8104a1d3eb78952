// Maintenance.Snapshot and Maintenance.Hash over etcd's representation of
// the backend (etcd_snapshot.h), and Maintenance.Defragment.
#include "base/go_text.h"
#include "server/etcd_snapshot.h"
#include "server/server.h"

namespace etcdd::server {

Result<std::unique_ptr<ExportedEtcdSnapshot>> EtcdServer::ExportEtcdSnapshot(
    const std::function<bool()>& cancelled) {
  RETURN_IF_ERROR(snap_dir_.Create());
  const std::string path = snap_dir_.ExportPath(next_export_.fetch_add(1));
  // Owns the file from here on, so that any error below removes it.
  auto file = std::make_unique<ExportedEtcdSnapshot>(path);
  {
    ASSIGN_OR_RETURN(auto view, store_->OpenRawView());
    // The LMDB snapshot is released before the (long) streaming.
    ASSIGN_OR_RETURN(file->info(), WriteEtcdSnapshot(*view, path, cfg_.FileEnv(), cancelled));
  }
  const EtcdSnapshotInfo& info = file->info();
  logger_.Info("sending database snapshot to client",
               {{"path", path},
                {"total-bytes", std::to_string(info.db_bytes)},
                {"revision", std::to_string(info.revision)}});
  return file;
}

Result<etcdserverpb::HashResponse> EtcdServer::BackendHash() const {
  ASSIGN_OR_RETURN(auto view, store_->OpenRawView());
  ASSIGN_OR_RETURN(uint32_t hash, EtcdBackendHash(*view));
  etcdserverpb::HashResponse resp;
  FillHeader(resp.mutable_header());
  resp.mutable_header()->set_revision(view->revision());
  resp.set_hash(hash);
  return resp;
}

Result<etcdserverpb::DefragmentResponse> EtcdServer::Defragment() {
  // etcd 3.4's lines (mvcc/backend/backend.go defrag), sizes in bytes.
  const std::string path = cfg_.BackendDir() + "/data.mdb";
  const auto size1 = static_cast<int64_t>(store_->DbSizeBytes());
  const auto in_use1 = static_cast<int64_t>(store_->DbSizeInUseBytes());
  logger_.Info("starting defragment");
  logger_.Info("defragmenting",
               {{"path", path},
                {"current-db-size-bytes", size1},
                {"current-db-size", HumanizeBytes(size1)},
                {"current-db-size-in-use-bytes", in_use1},
                {"current-db-size-in-use", HumanizeBytes(in_use1)}});
  auto stats = store_->Defragment();
  if (!stats.ok()) {
    logger_.Warn("failed to defragment", {{"error", stats.status().message()}});
    return stats.status();
  }
  const auto size2 = static_cast<int64_t>(store_->DbSizeBytes());
  const auto in_use2 = static_cast<int64_t>(store_->DbSizeInUseBytes());
  logger_.Info("defragmented",
               {{"path", path},
                {"current-db-size-bytes-diff", size2 - size1},
                {"current-db-size-bytes", size2},
                {"current-db-size", HumanizeBytes(size2)},
                {"current-db-size-in-use-bytes-diff", in_use2 - in_use1},
                {"current-db-size-in-use-bytes", in_use2},
                {"current-db-size-in-use", HumanizeBytes(in_use2)},
                {"took", GoDuration(stats->took)},
                // etcdd's: how long writes waited for the swap, and how many
                // writes made during the copy were replayed onto it.
                {"writes-paused", GoDuration(stats->pause)},
                {"writes-replayed", stats->replayed_writes}});
  logger_.Info("finished defragment");
  return etcdserverpb::DefragmentResponse();
}

}  // namespace etcdd::server
