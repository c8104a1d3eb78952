#include "snap/snapshot_dir.h"

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string_view>

#include "base/file.h"
#include "base/go_text.h"

namespace etcdd::snap {

Status SnapshotDir::Create() const { return CreateDirs(dir_); }

std::string SnapshotDir::ReceivedPath(uint64_t index) const {
  char name[40];
  std::snprintf(name, sizeof(name), "%016" PRIx64 ".snap.db", index);
  return dir_ + "/" + name;
}

std::string SnapshotDir::SendPath(uint64_t peer_id, uint64_t seq) const {
  return dir_ + "/send-" + IdToHex(peer_id) + "-" + std::to_string(seq) + ".snap.db";
}

std::string SnapshotDir::ExportPath(uint64_t seq) const {
  return dir_ + "/export-" + std::to_string(seq) + ".snap.db";
}

namespace {

// The index of "<16 hex digits><suffix>", or nullopt for any other name.
std::optional<uint64_t> IndexOf(const std::string& name, std::string_view suffix) {
  constexpr size_t kDigits = 16;
  if (name.size() != kDigits + suffix.size() || name.compare(kDigits, suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  uint64_t index = 0;
  for (size_t i = 0; i < kDigits; ++i) {
    const char c = name[i];
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    index = index << 4 | static_cast<uint64_t>(digit);
  }
  return index;
}

}  // namespace

void SnapshotDir::RemoveStale(uint64_t backend_index, Logger& logger) const {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    const auto received = IndexOf(name, ".snap.db");
    const bool stale = name.rfind("send-", 0) == 0 ||    // a copy being sent when we stopped
                       name.rfind("export-", 0) == 0 ||  // a client's Maintenance.Snapshot
                       IndexOf(name, ".snap.db.part").has_value() ||  // an unfinished reception
                       (received && *received <= backend_index);      // installed or superseded
    if (!stale) continue;
    std::error_code rm;
    if (std::filesystem::remove(e.path(), rm)) {
      logger.Info("removed stale snapshot file", {{"path", e.path().string()}});
    } else if (rm) {
      logger.Warn("cannot remove stale snapshot file",
                  {{"path", e.path().string()}, {"error", rm.message()}});
    }
  }
}

}  // namespace etcdd::snap
