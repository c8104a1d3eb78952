// Maintenance.Snapshot and Maintenance.Hash over etcd's representation of
// the backend (etcd_snapshot.h).
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

}  // namespace etcdd::server
