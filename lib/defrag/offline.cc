#include "defrag/offline.h"

#include "base/file.h"
#include "server/config.h"

namespace etcdd::defrag {

Result<mvcc::DefragStats> DefragmentDataDir(const std::string& data_dir) {
  server::ServerConfig layout;
  layout.data_dir = data_dir;
  const std::string backend = layout.BackendDir();
  if (!PathExists(backend + "/data.mdb")) {
    if (PathExists(layout.MemberDir() + "/snap/db")) {
      return Status::NotFound(data_dir +
                              " is an etcd data dir, not etcdd's: defragment it with etcdctl "
                              "defrag --data-dir, or start etcdd on it to convert it");
    }
    return Status::NotFound(data_dir + " is not an etcdd data dir: " + backend +
                            "/data.mdb does not exist");
  }
  ASSIGN_OR_RETURN(DirLock lock, DirLock::Acquire(data_dir));
  // LMDB grows the map to the file's size when the file is larger than the
  // default 2 GiB.
  mvcc::Options options;
  options.sync_on_commit = true;
  ASSIGN_OR_RETURN(auto store, mvcc::Store::Open(backend, options));
  return store->Defragment();
}

}  // namespace etcdd::defrag
