// Backup archives: a zstd-compressed tar holding manifest.json then
// snapshot.db (FORMAT.md), optionally wrapped in the encrypted envelope of
// encryption.h; and the reading side, which accepts any of the three things
// a backup file can be (archive, encrypted archive, bare etcd snapshot).
//
// Writing streams through a ByteSink and reading through a ByteSource or a
// file, so neither holds the snapshot in memory.
//
// Thread-safety: none; functions use only their arguments.
#pragma once

#include <optional>
#include <string>

#include "backup/encryption.h"
#include "backup/manifest.h"
#include "base/env.h"
#include "base/status.h"

namespace etcdd::backup {

inline constexpr char kManifestEntry[] = "manifest.json";
inline constexpr char kSnapshotEntry[] = "snapshot.db";

// Writes the archive of `manifest` and the snapshot file at `snapshot_path`
// to `sink`, encrypted with `key` when one is given. The entries' times are
// manifest.created. Errors: the sink's; IOError reading the snapshot;
// Internal when libarchive fails.
Status WriteArchive(const Manifest& manifest, const std::string& snapshot_path,
                    const std::optional<EncryptionKey>& key, const ByteSink& sink);

enum class BackupFormat {
  kArchive,           // starts with zstd's magic number
  kEncryptedArchive,  // starts with "KVBKENC1"
  kBareSnapshot,      // anything else: an etcd snapshot file as etcdctl saves it
};

// What the first bytes of `path` say it is. Errors: NotFound, IOError.
Result<BackupFormat> DetectFormat(const std::string& path);

// A backup opened for restoring or checking.
struct OpenedBackup {
  BackupFormat format = BackupFormat::kBareSnapshot;
  std::optional<Manifest> manifest;  // none for a bare snapshot
  // The etcd-format snapshot: a temporary file extracted from an archive
  // (removed when the OpenedBackup is destroyed unless released), or the
  // backup file itself for a bare snapshot.
  std::string snapshot_path;
  bool owns_snapshot = false;

  OpenedBackup() = default;
  OpenedBackup(OpenedBackup&& o) noexcept;
  OpenedBackup& operator=(OpenedBackup&&) = delete;
  OpenedBackup(const OpenedBackup&) = delete;
  ~OpenedBackup();
  // Keeps the extracted file: the caller now owns snapshot_path.
  void Release() { owns_snapshot = false; }
};

// Opens the backup at `path`: for an archive (encrypted ones need `key`),
// extracts snapshot.db into a new file in `temp_dir` (written through
// `env`) and parses manifest.json, checking that the extracted file's size
// and SHA-256 match the manifest. Errors: InvalidArgument "<path> is
// encrypted; give its key with --encrypt-key-file" without a key; DataLoss
// "wrong key or corrupt file (<path>)" when decryption fails; Corruption for
// a damaged archive, a missing entry or a mismatching snapshot; IOError.
// Nothing is left in `temp_dir` on error.
Result<OpenedBackup> OpenBackup(Env* env, const std::string& path,
                                const std::optional<EncryptionKey>& key,
                                const std::string& temp_dir);

// The manifest of the archive at `path` without extracting the snapshot
// (manifest.json is the first entry, so this reads only the start of the
// file); nullopt for a bare snapshot, or for an encrypted archive when `key`
// is not given. Errors: as OpenBackup.
Result<std::optional<Manifest>> ReadManifest(const std::string& path,
                                             const std::optional<EncryptionKey>& key);

}  // namespace etcdd::backup
