// The manifest of a backup archive (manifest.json, see FORMAT.md): what was
// saved, from which cluster, at which point of its history.
//
// A manifest is built from two sources of facts, kept apart so that each can
// be filled from where it is known best:
//   - ClusterFacts: what the server said when the snapshot was taken
//     (Status, MemberList, HashKV);
//   - SnapshotFileFacts: what the saved file itself says (its SHA-256, and,
//     once the bbolt reader exists, its revision and key count).
// BuildManifest combines them; a value read from the file wins over the one
// the server reported.
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backup/naming.h"
#include "base/status.h"

namespace etcdd::backup {

inline constexpr int kManifestFormatVersion = 1;

struct MemberInfo {
  std::string name;
  uint64_t id = 0;
  std::vector<std::string> peer_urls;
  bool is_learner = false;

  bool operator==(const MemberInfo&) const = default;
};

struct Manifest {
  int format_version = kManifestFormatVersion;
  std::string etcdd_version;  // of the kvbackup that wrote it
  Seconds created{};          // UTC, second precision
  uint64_t cluster_id = 0;
  std::vector<MemberInfo> members;
  uint64_t source_member_id = 0;  // the member the snapshot came from
  int64_t revision = 0;
  uint64_t raft_index = 0;
  uint64_t raft_term = 0;
  std::optional<int64_t> compact_revision;  // null when unknown
  std::optional<int64_t> key_count;         // null when unknown
  std::optional<uint32_t> hash_kv;          // HashKV at `revision`; null when unknown
  uint64_t snapshot_size = 0;               // bytes of snapshot.db
  std::string sha256;                       // of snapshot.db, 64 lower-case hex digits

  bool operator==(const Manifest&) const = default;
};

// What the server reported around the snapshot.
struct ClusterFacts {
  uint64_t cluster_id = 0;
  uint64_t source_member_id = 0;
  std::vector<MemberInfo> members;
  int64_t revision = 0;  // header revision of the Status taken before the snapshot
  uint64_t raft_index = 0;
  uint64_t raft_term = 0;
  std::optional<int64_t> compact_revision;
  std::optional<int64_t> key_count;
  std::optional<uint32_t> hash_kv;
};

// What the saved snapshot file says about itself.
struct SnapshotFileFacts {
  uint64_t size = 0;
  std::string sha256;  // of the whole file, hex
  std::optional<int64_t> revision;
  std::optional<int64_t> key_count;
};

// The manifest for a snapshot described by `cluster` and `file`, written by
// version `etcdd_version` at `created`.
Manifest BuildManifest(const ClusterFacts& cluster, const SnapshotFileFacts& file,
                       const std::string& etcdd_version, Seconds created);

// manifest.json's text: a JSON object (FORMAT.md), ids as hex strings,
// unknown values as null, ending in a newline.
std::string ManifestToJson(const Manifest& manifest);

// Parses ManifestToJson's output. `where` names the source in errors.
// Errors: Corruption "bad manifest: <why>" for text that is not such an
// object; FailedPrecondition for a format_version this build cannot read.
Result<Manifest> ManifestFromJson(std::string_view text, const std::string& where);

}  // namespace etcdd::backup
