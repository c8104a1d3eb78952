// Names of backup files and of the temporary files a save writes first.
//
// A backup saved into a directory is named after what it holds, so that a
// directory listing sorts by cluster and then by time, and `list` and `prune`
// need no index:
//
//   <cluster-id>-<YYYYMMDDTHHMMSSZ>-r<revision>.tar.zst       archive
//   <cluster-id>-<YYYYMMDDTHHMMSSZ>-r<revision>.tar.zst.enc   encrypted archive
//   <cluster-id>-<YYYYMMDDTHHMMSSZ>-r<revision>.db            bare etcd snapshot (--raw)
//
// cluster-id is 16 lower-case hex digits, the time is UTC (second precision)
// and the revision decimal. `list` and `prune` only ever look at (and prune
// only ever removes) files whose whole name matches this pattern.
//
// While a save runs, it writes "." + <final name> + ".tmp-<pid>" in the same
// directory and renames it at the end (see output_file.h); a file of that form
// whose process is gone is the leftover of an interrupted save.
//
// Thread-safety: pure functions.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace etcdd::backup {

using Seconds = std::chrono::sys_seconds;

enum class BackupKind {
  kArchive,           // .tar.zst
  kEncryptedArchive,  // .tar.zst.enc
  kRaw,               // .db
};

struct BackupName {
  uint64_t cluster_id = 0;
  Seconds time{};  // UTC
  int64_t revision = 0;
  BackupKind kind = BackupKind::kArchive;

  bool operator==(const BackupName&) const = default;
};

// The file name for `name`, e.g. "0123456789abcdef-20240102T030405Z-r42.tar.zst".
std::string FormatBackupName(const BackupName& name);

// Parses a file name (no directory part) of the pattern above; nullopt for
// anything else, including temporary and hidden files.
std::optional<BackupName> ParseBackupName(std::string_view file_name);

// The file name suffix of `kind`: ".tar.zst", ".tar.zst.enc" or ".db".
std::string_view KindSuffix(BackupKind kind);

// "0123456789abcdef": an etcd id as 16 lower-case hex digits.
std::string IdHex(uint64_t id);

// Parses 1 to 16 hex digits. nullopt for anything else.
std::optional<uint64_t> ParseIdHex(std::string_view text);

// "20240102T030405Z" (UTC).
std::string FormatCompactUtc(Seconds t);

// "2024-01-02T03:04:05Z" (RFC 3339, UTC).
std::string FormatRfc3339(Seconds t);

// Parses FormatRfc3339's output (only the "Z" form). nullopt otherwise.
std::optional<Seconds> ParseRfc3339(std::string_view text);

// "." + final_name + ".tmp-" + pid: where a save of `final_name` writes
// before renaming.
std::string TempName(const std::string& final_name, pid_t pid);

// The pid of a TempName ("." prefix, ".tmp-<digits>" suffix); nullopt for
// any other name.
std::optional<pid_t> ParseTempName(std::string_view file_name);

}  // namespace etcdd::backup
