#include "backup/key_space.h"

#include "base/crc32c.h"
#include "base/go_text.h"
#include "mvccpb/kv.pb.h"

namespace etcdd::backup::internal {

namespace {

constexpr size_t kRevLen = 17;
constexpr size_t kMarkedRevLen = 18;
constexpr std::string_view kConsistentIndex = "consistent_index";
constexpr std::string_view kScheduledCompact = "scheduledCompactRev";
constexpr std::string_view kFinishedCompact = "finishedCompactRev";

uint64_t BigEndian64(std::string_view b) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

std::string Hex(std::string_view bytes) { return HexBytes(bytes); }

// "bucket key, revision 5/0 (tombstone)".
std::string Where(const RevisionKey& r) {
  return "bucket key, revision " + std::to_string(r.main) + "/" + std::to_string(r.sub) +
         (r.tombstone ? " (tombstone)" : "");
}

Status Bad(const std::string& what, const std::string& name) {
  return Status::Corruption(what, name);
}

// The per-key rules of a put that follows `prev` (nullptr for the first
// entry of the key seen in the file).
Status CheckPutHistory(const RevisionKey& r, const mvccpb::KeyValue& kv, const KeyLatest* prev,
                       const std::string& name) {
  const std::string where = Where(r) + ", key " + Hex(kv.key()) + ": ";
  if (prev != nullptr && !prev->tombstone) {
    if (kv.version() != prev->version + 1) {
      return Bad(where + "version " + std::to_string(kv.version()) + " follows version " +
                     std::to_string(prev->version) + " at revision " + std::to_string(prev->main),
                 name);
    }
    if (kv.create_revision() != prev->create_revision) {
      return Bad(where + "create_revision " + std::to_string(kv.create_revision()) +
                     " differs from " + std::to_string(prev->create_revision) +
                     " of the same generation at revision " + std::to_string(prev->main),
                 name);
    }
    return Status::Ok();
  }
  if (prev != nullptr && kv.version() != 1) {
    return Bad(where + "first put after a tombstone has version " + std::to_string(kv.version()),
               name);
  }
  if ((kv.version() == 1) != (kv.create_revision() == kv.mod_revision())) {
    return Bad(where + "version " + std::to_string(kv.version()) + " with create_revision " +
                   std::to_string(kv.create_revision()) + " and mod_revision " +
                   std::to_string(kv.mod_revision()) +
                   " (a key is created exactly by its version-1 put)",
               name);
  }
  return Status::Ok();
}

// The rules of one put's value on its own.
Status CheckPut(const RevisionKey& r, const mvccpb::KeyValue& kv, const std::string& name) {
  const std::string where = Where(r) + ", key " + Hex(kv.key()) + ": ";
  if (kv.mod_revision() != r.main) {
    return Bad(where + "mod_revision " + std::to_string(kv.mod_revision()) +
                   " is not the entry's revision",
               name);
  }
  if (kv.create_revision() < 1 || kv.create_revision() > kv.mod_revision()) {
    return Bad(where + "create_revision " + std::to_string(kv.create_revision()) +
                   " not in 1..mod_revision",
               name);
  }
  if (kv.version() < 1) {
    return Bad(where + "version " + std::to_string(kv.version()) + " below 1", name);
  }
  return Status::Ok();
}

// A finished compaction at `compact` leaves, per key, at most its latest
// entry at or below `compact`, and only when that entry is a put.
Status CheckCompacted(const RevisionKey& r, const std::string& key, KeyLatest* latest,
                      std::optional<int64_t> compact, const std::string& name) {
  if (!compact || r.main > *compact) return Status::Ok();
  const std::string where = Where(r) + ", key " + Hex(key) + ": ";
  if (r.tombstone) {
    return Bad(where + "tombstone at or below the finished compaction revision " +
                   std::to_string(*compact) + " was not removed",
               name);
  }
  if (++latest->below_compact > 1) {
    return Bad(where + "the key's older revision " + std::to_string(latest->main) +
                   " at or below the finished compaction revision " + std::to_string(*compact) +
                   " was not removed",
               name);
  }
  return Status::Ok();
}

// Checks one entry of bucket "key" and records it in `space`.
Status ScanEntry(std::string_view k, std::string_view v, std::optional<RevisionKey>* prev_rev,
                 std::optional<int64_t> compact, KeySpace* space, const std::string& name) {
  auto r = ParseRevisionKey(k);
  if (!r) {
    return Bad(
        "bucket key: key " + Hex(k) + " (" + std::to_string(k.size()) + " bytes) is not a revision",
        name);
  }
  if (*prev_rev && (*prev_rev)->main == r->main && (*prev_rev)->sub == r->sub) {
    return Bad(Where(*r) + ": revision stored twice (as a put and a tombstone)", name);
  }
  if (r->main == 0) return Bad(Where(*r) + ": main revision 0", name);
  *prev_rev = r;
  mvccpb::KeyValue kv;
  if (!kv.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
    return Bad(
        Where(*r) + ": value (" + std::to_string(v.size()) + " bytes) is not an mvccpb.KeyValue",
        name);
  }
  if (kv.key().empty()) return Bad(Where(*r) + ": value has no key", name);
  auto [it, fresh] = space->latest.try_emplace(kv.key());
  KeyLatest& latest = it->second;
  if (!r->tombstone) {
    RETURN_IF_ERROR(CheckPut(*r, kv, name));
    RETURN_IF_ERROR(CheckPutHistory(*r, kv, fresh ? nullptr : &latest, name));
  }
  RETURN_IF_ERROR(CheckCompacted(*r, kv.key(), &latest, compact, name));
  latest.main = r->main;
  latest.sub = r->sub;
  latest.tombstone = r->tombstone;
  latest.version = r->tombstone ? 0 : kv.version();
  latest.create_revision = r->tombstone ? 0 : kv.create_revision();
  ++space->entries;
  if (r->tombstone) ++space->tombstones;
  space->last_main = r->main;
  return Status::Ok();
}

Result<std::optional<int64_t>> MetaRevision(std::string_view key, std::string_view value,
                                            const std::string& name) {
  auto r = ParseRevisionKey(value);
  if (value.size() != kRevLen || !r) {
    return Bad(
        "bucket meta: " + std::string(key) + " value " + Hex(value) + " is not a 17-byte revision",
        name);
  }
  return std::optional<int64_t>(r->main);
}

}  // namespace

std::optional<RevisionKey> ParseRevisionKey(std::string_view key) {
  if (key.size() != kRevLen && key.size() != kMarkedRevLen) return std::nullopt;
  if (key[8] != '_') return std::nullopt;
  if (key.size() == kMarkedRevLen && key[17] != 't') return std::nullopt;
  uint64_t main = BigEndian64(key.substr(0, 8));
  uint64_t sub = BigEndian64(key.substr(9, 8));
  if (main > INT64_MAX || sub > INT64_MAX) return std::nullopt;
  return RevisionKey{static_cast<int64_t>(main), static_cast<int64_t>(sub),
                     key.size() == kMarkedRevLen};
}

int64_t MetaInfo::CompactRevision() const {
  if (scheduled_compact) return *scheduled_compact;
  if (finished_compact) return *finished_compact;
  return -1;
}

Result<MetaInfo> ReadMeta(const snap::BboltReader& reader, const std::string& name) {
  MetaInfo meta;
  Status st = reader.ForEach(kMetaBucket, [&](std::string_view k, std::string_view v) -> Status {
    if (k == kScheduledCompact) {
      ASSIGN_OR_RETURN(meta.scheduled_compact, MetaRevision(k, v, name));
    } else if (k == kFinishedCompact) {
      ASSIGN_OR_RETURN(meta.finished_compact, MetaRevision(k, v, name));
    } else if (k == kConsistentIndex) {
      if (v.size() != 8) {
        return Bad(
            "bucket meta: consistent_index value is " + std::to_string(v.size()) + " bytes, not 8",
            name);
      }
      meta.consistent_index = BigEndian64(v);
    }
    return Status::Ok();
  });
  if (st.code() == Code::kNotFound) return Bad("no bucket meta", name);
  RETURN_IF_ERROR(st);
  if (meta.finished_compact && meta.scheduled_compact &&
      *meta.finished_compact > *meta.scheduled_compact) {
    return Bad("bucket meta: finishedCompactRev " + std::to_string(*meta.finished_compact) +
                   " is past scheduledCompactRev " + std::to_string(*meta.scheduled_compact),
               name);
  }
  return meta;
}

int64_t KeySpace::LiveKeys() const {
  int64_t n = 0;
  for (const auto& [key, l] : latest) n += l.tombstone ? 0 : 1;
  return n;
}

Result<KeySpace> ScanKeyBucket(const snap::BboltReader& reader,
                               std::optional<int64_t> finished_compact, const std::string& name) {
  KeySpace space;
  std::optional<RevisionKey> prev;
  Status st = reader.ForEach(kKeyBucket, [&](std::string_view k, std::string_view v) {
    return ScanEntry(k, v, &prev, finished_compact, &space, name);
  });
  if (st.code() == Code::kNotFound) return Bad("no bucket key", name);
  RETURN_IF_ERROR(st);
  return space;
}

Result<uint32_t> HashKV(const snap::BboltReader& reader, const KeySpace& space, int64_t at,
                        int64_t compact, const std::string& name) {
  const bool any_live = space.LiveKeys() > 0;
  uint32_t crc = Crc32c(0, kKeyBucket);
  Status st = reader.ForEach(kKeyBucket, [&](std::string_view k, std::string_view v) -> Status {
    auto r = ParseRevisionKey(k);
    if (!r) return Bad("bucket key changed while it was read", name);
    if (r->main > at) return Status::Ok();
    if (r->main <= compact && any_live) {
      mvccpb::KeyValue kv;
      if (!kv.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
        return Bad("bucket key changed while it was read", name);
      }
      auto it = space.latest.find(kv.key());
      const bool keep = it != space.latest.end() && !it->second.tombstone &&
                        it->second.main == r->main && it->second.sub == r->sub;
      if (!keep) return Status::Ok();
    }
    crc = Crc32c(crc, k);
    crc = Crc32c(crc, v);
    return Status::Ok();
  });
  RETURN_IF_ERROR(st);
  return crc;
}

}  // namespace etcdd::backup::internal
