#include "backup/inspect.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backup/key_space.h"
#include "backup/snapshot_digest.h"
#include "base/crc32c.h"
#include "base/file.h"
#include "snap/bbolt_reader.h"

namespace etcdd::backup {

namespace {

using internal::KeySpace;
using internal::MetaInfo;
using Outcome = VerifyCheck::Outcome;

constexpr uint64_t kDigestAlign = 512;
constexpr size_t kReadChunk = 1 << 20;

const std::string& NameOr(const std::string& name, const std::string& path) {
  return name.empty() ? path : name;
}

// Reader errors name the file they opened; when that is a temporary file
// extracted from an archive, say which backup it came from.
Status Named(const Status& st, const std::string& path, const std::string& name) {
  if (st.ok() || name == path) return st;
  return st.Annotate(name);
}

// Reads `fd` to the end in one pass, feeding `sha` every byte; `body` gets
// the digest of all but the last 32 bytes when `trailer` is set (else of
// everything). Returns the bytes after the body (the trailer, or nothing).
Result<std::string> HashFile(int fd, const std::string& path, uint64_t size, bool trailer,
                             Sha256* sha, std::array<uint8_t, kSha256Size>* body) {
  std::string buf(kReadChunk, '\0');
  const uint64_t body_end = trailer ? size - kSha256Size : size;
  for (uint64_t off = 0; off < body_end;) {
    ssize_t n = pread(fd, buf.data(), std::min<uint64_t>(buf.size(), body_end - off), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError("read " + path, errno);
    if (n == 0) return Status::Corruption("file shrank while it was read", path, off);
    sha->Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    off += static_cast<uint64_t>(n);
  }
  *body = sha->Peek();
  std::string tail(size - body_end, '\0');
  for (uint64_t got = 0; got < tail.size();) {
    ssize_t n = pread(fd, tail.data() + got, tail.size() - got, body_end + got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError("read " + path, errno);
    if (n == 0) return Status::Corruption("file shrank while it was read", path, body_end + got);
    got += static_cast<uint64_t>(n);
  }
  sha->Update(tail);
  return tail;
}

// Status's walk over the buckets, once the structure is known to be sound.
Status AddBucketHashes(const snap::BboltReader& reader, SnapshotStatusInfo* out) {
  ASSIGN_OR_RETURN(std::vector<std::string> buckets, reader.Buckets());
  uint32_t crc = 0;
  for (const std::string& bucket : buckets) {
    crc = Crc32c(crc, bucket);
    const bool is_key = bucket == internal::kKeyBucket;
    RETURN_IF_ERROR(reader.ForEach(bucket, [&](std::string_view k, std::string_view v) {
      crc = Crc32c(crc, k);
      crc = Crc32c(crc, v);
      // bytesToRev reads the first 8 bytes whatever the key's length.
      if (is_key && k.size() >= 8) {
        uint64_t main = 0;
        for (size_t i = 0; i < 8; ++i) main = (main << 8) | static_cast<uint8_t>(k[i]);
        out->revision = static_cast<int64_t>(main);
      }
      ++out->total_key;
      return Status::Ok();
    }));
  }
  out->hash = crc;
  out->total_size = static_cast<int64_t>(reader.high_water_pgid() * reader.page_size());
  return Status::Ok();
}

Result<SnapshotStatusInfo> StatusOf(const snap::BboltReader& reader) {
  RETURN_IF_ERROR(reader.Check());
  SnapshotStatusInfo out;
  RETURN_IF_ERROR(AddBucketHashes(reader, &out));
  return out;
}

void Add(VerifyReport* r, const char* name, Outcome outcome, std::string detail) {
  r->checks.push_back({name, outcome, std::move(detail)});
}

void AddFailure(VerifyReport* r, const char* name, const Status& st) {
  Add(r, name, Outcome::kFailed, st.message());
}

// Reads the file's size and SHA-256 and checks its trailer, if any.
Result<SnapshotDigest> ReadDigest(const std::string& path, const std::string& where) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::NotFound("stat " + where + ": no such file or directory");
    return Status::IOError("open " + path, errno);
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Status::IOError("stat " + path, errno);
  SnapshotDigest d;
  d.file_size = static_cast<uint64_t>(st.st_size);
  d.present = d.file_size % kDigestAlign == kSha256Size;
  d.data_bytes = d.present ? d.file_size - kSha256Size : d.file_size;
  Sha256 whole;
  std::array<uint8_t, kSha256Size> want{};
  ASSIGN_OR_RETURN(std::string tail,
                   HashFile(fd.get(), path, d.file_size, d.present, &whole, &want));
  d.sha256 = HexDigest(whole.Final());
  if (d.present) {
    d.matches =
        tail.size() == kSha256Size && std::memcmp(want.data(), tail.data(), kSha256Size) == 0;
  }
  return d;
}

Status DigestMismatch(const std::string& where) {
  return Status::Corruption("sha256 mismatch: the snapshot's digest does not match its contents",
                            where);
}

// The "digest" check; errors only when the file cannot be read.
Status CheckDigest(const std::string& path, VerifyReport* r) {
  ASSIGN_OR_RETURN(r->digest, ReadDigest(path, r->file));
  const SnapshotDigest* d = &r->digest;
  if (d->present && !d->matches) {
    AddFailure(r, "digest", DigestMismatch(r->file));
    return Status::Ok();
  }
  if (!d->present) {
    Add(r, "digest", Outcome::kSkipped,
        "no sha256 trailer (size " + std::to_string(d->file_size) +
            " % 512 != 32): a copy of a data dir, restorable only with --skip-hash-check");
    return Status::Ok();
  }
  Add(r, "digest", Outcome::kOk,
      "sha256 trailer matches the " + std::to_string(d->data_bytes) + " bytes of the bbolt file");
  return Status::Ok();
}

std::string Plural(int64_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

void CheckHash(const snap::BboltReader& reader, const std::optional<Manifest>& manifest,
               const KeySpace& space, VerifyReport* r) {
  auto hash = internal::HashKV(reader, space, r->revision, r->compact_revision, r->file);
  if (!hash.ok()) return AddFailure(r, "hash_kv", hash.status());
  r->hash_kv = *hash;
  const std::string at = std::to_string(*hash) + " at revision " + std::to_string(r->revision) +
                         " (compact revision " + std::to_string(r->compact_revision) + ")";
  if (!manifest || !manifest->hash_kv) {
    return Add(r, "hash_kv", Outcome::kOk, at + "; no manifest value to compare with");
  }
  if (manifest->revision != r->revision ||
      (manifest->compact_revision && *manifest->compact_revision != r->compact_revision)) {
    return Add(
        r, "hash_kv", Outcome::kOk,
        at + "; not compared: the manifest's hash_kv is at revision " +
            std::to_string(manifest->revision) + ", compact revision " +
            (manifest->compact_revision ? std::to_string(*manifest->compact_revision) : "unknown"));
  }
  if (*manifest->hash_kv != *hash) {
    return Add(r, "hash_kv", Outcome::kFailed,
               "HashKV " + at + " is not the manifest's " + std::to_string(*manifest->hash_kv) +
                   " (" + r->file + ")");
  }
  Add(r, "hash_kv", Outcome::kOk, at + " equals the manifest's");
}

void CheckDatabase(const std::string& path, const std::optional<Manifest>& manifest,
                   VerifyReport* r, KeySpace* space) {
  auto reader = snap::BboltReader::Open(path, r->digest.data_bytes);
  Status st = reader.ok() ? reader->Check() : reader.status();
  if (st.ok()) st = AddBucketHashes(*reader, &r->status);
  if (!st.ok()) return AddFailure(r, "bbolt", Named(st, path, r->file));
  Add(r, "bbolt", Outcome::kOk,
      Plural(static_cast<int64_t>(reader->high_water_pgid()), "page") + " of " +
          std::to_string(reader->page_size()) + " bytes, " + Plural(r->status.total_key, "key"));
  auto meta = internal::ReadMeta(*reader, r->file);
  if (!meta.ok()) return AddFailure(r, "meta", meta.status());
  r->compact_revision = meta->CompactRevision();
  Add(r, "meta", Outcome::kOk,
      "compact revision " + std::to_string(r->compact_revision) + ", finished " +
          (meta->finished_compact ? std::to_string(*meta->finished_compact) : "none") +
          ", consistent index " +
          (meta->consistent_index ? std::to_string(*meta->consistent_index) : "none"));
  auto scanned = internal::ScanKeyBucket(*reader, meta->finished_compact, r->file);
  if (!scanned.ok()) return AddFailure(r, "key", scanned.status());
  *space = std::move(scanned).value();
  r->revision = std::max(
      {space->last_main, meta->finished_compact.value_or(0), meta->scheduled_compact.value_or(0)});
  r->live_keys = space->LiveKeys();
  Add(r, "key", Outcome::kOk,
      Plural(space->entries, "revision") + " (" + Plural(space->tombstones, "tombstone") + "), " +
          Plural(r->live_keys, "live key") + " at revision " + std::to_string(r->revision));
  CheckHash(*reader, manifest, *space, r);
}

// Compares the manifest's facts with the file's; returns what differs.
std::vector<std::string> ManifestDifferences(const Manifest& m, const VerifyReport& r,
                                             bool key_scanned) {
  std::vector<std::string> diffs;
  auto differ = [&diffs](const std::string& field, const std::string& says, const std::string& is) {
    if (says != is) diffs.push_back(field + " " + says + " but the file has " + is);
  };
  differ("snapshot_size", std::to_string(m.snapshot_size), std::to_string(r.digest.file_size));
  differ("sha256", m.sha256, r.digest.sha256);
  // A manifest's revision may be the Status taken just before the snapshot:
  // earlier than the file's when writes came in between, never later.
  if (key_scanned && m.revision > r.revision) {
    differ("revision", std::to_string(m.revision), std::to_string(r.revision));
  }
  if (key_scanned && m.revision == r.revision && m.key_count) {
    differ("key_count", std::to_string(*m.key_count), std::to_string(r.live_keys));
  }
  return diffs;
}

void CheckManifest(const std::optional<Manifest>& m, VerifyReport* r) {
  if (!m) return Add(r, "manifest", Outcome::kSkipped, "no manifest (a bare snapshot)");
  bool key_scanned = false;
  for (const auto& c : r->checks) key_scanned |= c.name == "key" && c.outcome == Outcome::kOk;
  std::vector<std::string> diffs = ManifestDifferences(*m, *r, key_scanned);
  if (diffs.empty()) {
    if (!key_scanned) {
      return Add(r, "manifest", Outcome::kOk,
                 "size and sha256 match the file (revision not checked)");
    }
    if (m->revision < r->revision) {
      return Add(r, "manifest", Outcome::kOk,
                 "size and sha256 match the file; revision " + std::to_string(m->revision) +
                     " was taken before the snapshot (file: " + std::to_string(r->revision) +
                     "), so key_count was not compared");
    }
    return Add(r, "manifest", Outcome::kOk, "size, sha256, revision and key_count match the file");
  }
  std::string detail;
  for (const auto& d : diffs) detail += (detail.empty() ? "manifest says " : "; ") + d;
  Add(r, "manifest", Outcome::kFailed, detail + " (" + r->file + ")");
}

}  // namespace

Result<SnapshotDigest> CheckSnapshotDigest(const std::string& path, const std::string& name) {
  const std::string& where = NameOr(name, path);
  ASSIGN_OR_RETURN(SnapshotDigest d, ReadDigest(path, where));
  if (d.present && !d.matches) return DigestMismatch(where);
  return d;
}

Result<SnapshotStatusInfo> SnapshotStatus(const std::string& path, const std::string& name) {
  const std::string& where = NameOr(name, path);
  ASSIGN_OR_RETURN(SnapshotDigest digest, CheckSnapshotDigest(path, where));
  auto reader = snap::BboltReader::Open(path, digest.data_bytes);
  if (!reader.ok()) return Named(reader.status(), path, where);
  auto status = StatusOf(*reader);
  if (!status.ok()) return Named(status.status(), path, where);
  return status;
}

Result<VerifyReport> VerifySnapshot(const std::string& path,
                                    const std::optional<Manifest>& manifest,
                                    const std::string& name) {
  VerifyReport r;
  r.file = NameOr(name, path);
  RETURN_IF_ERROR(CheckDigest(path, &r));
  KeySpace space;
  CheckDatabase(path, manifest, &r, &space);
  CheckManifest(manifest, &r);
  return r;
}

bool VerifyReport::ok() const {
  for (const auto& c : checks) {
    if (c.outcome == Outcome::kFailed) return false;
  }
  return true;
}

Status VerifyReport::FirstFailure() const {
  for (const auto& c : checks) {
    if (c.outcome == Outcome::kFailed) return Status(Code::kDataLoss, c.name + ": " + c.detail);
  }
  return Status::Ok();
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kSkipped:
      return "skipped";
    case Outcome::kFailed:
      return "FAILED";
  }
  return "";
}

}  // namespace etcdd::backup
