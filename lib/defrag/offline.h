// Offline defragmentation of a stopped member's backend, as etcdctl 3.4's
// `defrag --data-dir` (etcdctl/ctlv3/command/defrag_command.go defragData),
// for etcdd's layout: the backend is DIR/member/db (ServerConfig::BackendDir,
// server/config.h), an LMDB environment, compacted by mvcc::Store::
// Defragment.
//
// The data dir's lock (DirLock, base/file.h, the one etcdd takes at start)
// is held for the whole run, so a member running on the dir is refused and
// cannot start meanwhile.
//
// Thread-safety: one call per data dir at a time (the lock enforces it
// across processes).
#pragma once

#include <string>

#include "base/status.h"
#include "mvcc/store.h"

namespace etcdd::defrag {

// Defragments the backend of the etcdd data dir `data_dir`.
// Errors, each before anything is changed:
//   NotFound "<dir> is not an etcdd data dir: <dir>/member/db/data.mdb does
//     not exist", and for an etcd (bbolt) data dir, whose backend is
//     member/snap/db, "<dir> is an etcd data dir, not etcdd's: defragment it
//     with etcdctl defrag --data-dir, or start etcdd on it to convert it";
//   FailedPrecondition "data dir <dir> is in use by another process" when a
//     running member holds it;
//   the store's errors on opening (IOError, DataLoss) or defragmenting.
Result<mvcc::DefragStats> DefragmentDataDir(const std::string& data_dir);

}  // namespace etcdd::defrag
