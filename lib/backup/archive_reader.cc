// The reading side of archive.h: OpenBackup and ReadManifest.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <random>

#include "backup/archive.h"
#include "backup/output_file.h"
#include "backup/snapshot_digest.h"
#include "base/file.h"

namespace etcdd::backup {

namespace {

constexpr size_t kReadBuffer = 1 << 20;
constexpr size_t kMaxManifestBytes = 1 << 20;

struct ReadArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

// A backup file opened for libarchive, decrypting on the way when it is
// encrypted. The first failure of the read callback is kept so that it (a
// wrong key, an I/O error) is reported rather than libarchive's own message.
struct ArchiveSource {
  std::string path;
  UniqueFd fd;
  std::unique_ptr<Decryptor> decryptor;
  std::unique_ptr<archive, ReadArchiveFree> handle;
  std::string buffer;
  Status error;

  // The error of a failed libarchive call.
  Status Failure(const std::string& what) const {
    if (!error.ok()) return error;
    const char* msg = archive_error_string(handle.get());
    return Status::Corruption("damaged archive: " + what + ": " + (msg ? msg : "unknown error"),
                              path);
  }
};

la_ssize_t ReadCallback(archive* a, void* data, const void** buf) {
  auto* s = static_cast<ArchiveSource*>(data);
  if (s->decryptor) {
    auto chunk = s->decryptor->Next();
    if (!chunk.ok()) {
      s->error = chunk.status();
      archive_set_error(a, EIO, "%s", s->error.message().c_str());
      return -1;
    }
    *buf = chunk->data();
    return static_cast<la_ssize_t>(chunk->size());
  }
  ssize_t n;
  do {
    n = read(s->fd.get(), s->buffer.data(), s->buffer.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    s->error = Status::IOError("read " + s->path, errno);
    archive_set_error(a, EIO, "%s", s->error.message().c_str());
    return -1;
  }
  *buf = s->buffer.data();
  return n;
}

Result<std::unique_ptr<ArchiveSource>> OpenSource(const std::string& path, BackupFormat format,
                                                  const std::optional<EncryptionKey>& key) {
  auto s = std::make_unique<ArchiveSource>();
  s->path = path;
  s->fd = UniqueFd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!s->fd.valid()) return Status::IOError("open " + path, errno);
  s->buffer.resize(kReadBuffer);
  if (format == BackupFormat::kEncryptedArchive) {
    if (!key) {
      return Status::InvalidArgument(path + " is encrypted; give its key with --encrypt-key-file");
    }
    int fd = s->fd.get();
    ByteSource source = [fd, path](char* buf, size_t n) -> Result<size_t> {
      ssize_t got;
      do {
        got = read(fd, buf, n);
      } while (got < 0 && errno == EINTR);
      if (got < 0) return Status::IOError("read " + path, errno);
      return static_cast<size_t>(got);
    };
    ASSIGN_OR_RETURN(s->decryptor, Decryptor::Open(*key, std::move(source), path));
  }
  s->handle.reset(archive_read_new());
  archive* a = s->handle.get();
  if (archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
      archive_read_support_format_tar(a) != ARCHIVE_OK ||
      archive_read_open(a, s.get(), nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
    return s->Failure("opening");
  }
  return s;
}

// The next entry's path; nullopt after the last entry.
Result<std::optional<std::string>> NextEntry(ArchiveSource& s) {
  archive_entry* entry = nullptr;
  int r = archive_read_next_header(s.handle.get(), &entry);
  if (r == ARCHIVE_EOF) return std::optional<std::string>();
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return s.Failure("reading an entry header");
  const char* name = archive_entry_pathname(entry);
  return std::optional<std::string>(name ? name : "");
}

Result<std::string> ReadSmallEntry(ArchiveSource& s) {
  std::string out;
  std::string buf(64 * 1024, '\0');
  for (;;) {
    la_ssize_t n = archive_read_data(s.handle.get(), buf.data(), buf.size());
    if (n < 0) return s.Failure("reading manifest.json");
    if (n == 0) return out;
    out.append(buf.data(), static_cast<size_t>(n));
    if (out.size() > kMaxManifestBytes) {
      return Status::Corruption("damaged archive: manifest.json larger than 1 MiB", s.path);
    }
  }
}

// Copies the current entry's data to `file`; returns its size and SHA-256.
Result<SnapshotFileFacts> ExtractEntry(ArchiveSource& s, File* file) {
  SnapshotFileFacts facts;
  Sha256 sha;
  const void* block = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  for (;;) {
    int r = archive_read_data_block(s.handle.get(), &block, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return s.Failure("reading snapshot.db");
    std::string_view data(static_cast<const char*>(block), size);
    RETURN_IF_ERROR(file->WriteAt(static_cast<uint64_t>(offset), data));
    sha.Update(data);
    facts.size = static_cast<uint64_t>(offset) + size;
  }
  facts.sha256 = HexDigest(sha.Final());
  return facts;
}

std::string ExtractName() {
  std::random_device rd;
  return ".kvbackup-extract-" + std::to_string(getpid()) + "-" + std::to_string(rd()) + ".db";
}

Status CheckAgainstManifest(const Manifest& m, const SnapshotFileFacts& f,
                            const std::string& path) {
  if (m.snapshot_size != f.size || m.sha256 != f.sha256) {
    return Status::Corruption(
        "snapshot.db does not match the manifest (size " + std::to_string(f.size) + ", sha256 " +
            f.sha256 + "; manifest says " + std::to_string(m.snapshot_size) + ", " + m.sha256 + ")",
        path);
  }
  return Status::Ok();
}

// Reads every entry of `s`, extracting snapshot.db into `file`.
Status ExtractAll(ArchiveSource& s, File* file, std::optional<Manifest>* manifest) {
  std::optional<SnapshotFileFacts> facts;
  for (;;) {
    ASSIGN_OR_RETURN(auto name, NextEntry(s));
    if (!name) break;
    if (*name == kManifestEntry && !*manifest) {
      ASSIGN_OR_RETURN(std::string text, ReadSmallEntry(s));
      ASSIGN_OR_RETURN(*manifest, ManifestFromJson(text, s.path + ":" + kManifestEntry));
    } else if (*name == kSnapshotEntry && !facts) {
      ASSIGN_OR_RETURN(facts, ExtractEntry(s, file));
    } else if (archive_read_data_skip(s.handle.get()) != ARCHIVE_OK) {
      return s.Failure("skipping " + *name);
    }
  }
  if (!*manifest) return Status::Corruption("archive has no manifest.json", s.path);
  if (!facts) return Status::Corruption("archive has no snapshot.db", s.path);
  RETURN_IF_ERROR(CheckAgainstManifest(**manifest, *facts, s.path));
  return file->Sync();
}

}  // namespace

OpenedBackup::OpenedBackup(OpenedBackup&& o) noexcept
    : format(o.format),
      manifest(std::move(o.manifest)),
      snapshot_path(std::move(o.snapshot_path)),
      owns_snapshot(o.owns_snapshot) {
  o.owns_snapshot = false;
}

OpenedBackup::~OpenedBackup() {
  if (owns_snapshot) unlink(snapshot_path.c_str());
}

Result<OpenedBackup> OpenBackup(Env* env, const std::string& path,
                                const std::optional<EncryptionKey>& key,
                                const std::string& temp_dir) {
  OpenedBackup out;
  ASSIGN_OR_RETURN(out.format, DetectFormat(path));
  if (out.format == BackupFormat::kBareSnapshot) {
    out.snapshot_path = path;
    return out;
  }
  ASSIGN_OR_RETURN(auto source, OpenSource(path, out.format, key));
  std::string extract = JoinPath(temp_dir, ExtractName());
  ASSIGN_OR_RETURN(auto file, env->OpenFile(extract, Env::OpenMode::kExclusive));
  out.snapshot_path = extract;
  out.owns_snapshot = true;  // removed by out's destructor on any error below
  RETURN_IF_ERROR(ExtractAll(*source, file.get(), &out.manifest));
  return out;
}

Result<std::optional<Manifest>> ReadManifest(const std::string& path,
                                             const std::optional<EncryptionKey>& key) {
  ASSIGN_OR_RETURN(BackupFormat format, DetectFormat(path));
  if (format == BackupFormat::kBareSnapshot) return std::optional<Manifest>();
  if (format == BackupFormat::kEncryptedArchive && !key) return std::optional<Manifest>();
  ASSIGN_OR_RETURN(auto source, OpenSource(path, format, key));
  for (;;) {
    ASSIGN_OR_RETURN(auto name, NextEntry(*source));
    if (!name) return Status::Corruption("archive has no manifest.json", path);
    if (*name == kManifestEntry) {
      ASSIGN_OR_RETURN(std::string text, ReadSmallEntry(*source));
      ASSIGN_OR_RETURN(Manifest m, ManifestFromJson(text, path + ":" + kManifestEntry));
      return std::optional<Manifest>(std::move(m));
    }
    if (archive_read_data_skip(source->handle.get()) != ARCHIVE_OK) {
      return source->Failure("skipping " + *name);
    }
  }
}

}  // namespace etcdd::backup
