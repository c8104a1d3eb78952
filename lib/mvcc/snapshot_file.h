// Internal: the snapshot file of Store::WriteSnapshot on disk: a compacted
// LMDB copy of the environment followed by a trailer, written atomically.
// LAYOUT.md ("Snapshot files") describes the format.
//
// Thread-safety: free functions; WriteSnapshotFile may run concurrently with
// the store's readers and writer (the copy uses an LMDB read transaction).
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <string>

#include "base/status.h"

namespace etcdd::mvcc::internal {

// Trailer: magic (8 bytes), LMDB part length (8 bytes big-endian), CRC-32C of
// the LMDB part (4 bytes big-endian).
inline constexpr char kSnapshotMagic[8] = {'e', 't', 'c', 'd', 'd', 's', 'n', 'p'};
inline constexpr uint64_t kSnapshotTrailerBytes = 20;

// Copies `env` (MDB_CP_COMPACT, one read transaction) to `path + ".tmp"`,
// appends the trailer, fsyncs, renames over `path` and fsyncs the directory.
// The .tmp file is removed on error. Errors: IOError naming the file,
// Internal for an LMDB failure.
Status WriteSnapshotFile(MDB_env* env, const std::string& path);

// Checks that `path` is a complete snapshot file: a regular file ending in a
// trailer whose length and CRC-32C match the bytes before it. Returns the
// length of the LMDB part in bytes. Errors: NotFound if `path` does not
// exist; Corruption naming `path` otherwise; IOError.
Result<uint64_t> VerifySnapshotFile(const std::string& path);

}  // namespace etcdd::mvcc::internal
