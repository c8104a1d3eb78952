#include "backup/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "base/file.h"

namespace etcdd::backup {

namespace {

constexpr size_t kCopyBuffer = 1 << 20;
constexpr unsigned char kZstdMagic[4] = {0x28, 0xb5, 0x2f, 0xfd};

struct WriteArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using WriteHandle = std::unique_ptr<archive, WriteArchiveFree>;
using EntryHandle = std::unique_ptr<archive_entry, EntryFree>;

// Where libarchive's output goes: the sink, through the encryptor if any.
// The first failure is kept so that it, not libarchive's generic message,
// is reported.
struct WriteTarget {
  const ByteSink* sink = nullptr;
  Encryptor* encryptor = nullptr;
  Status error;
};

la_ssize_t WriteCallback(archive* a, void* data, const void* buf, size_t n) {
  auto* t = static_cast<WriteTarget*>(data);
  std::string_view bytes(static_cast<const char*>(buf), n);
  Status st = t->encryptor ? t->encryptor->Write(bytes) : (*t->sink)(bytes);
  if (!st.ok()) {
    if (t->error.ok()) t->error = st;
    archive_set_error(a, EIO, "%s", st.message().c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

// The error of a failed libarchive call: the callback's own if it had one.
Status ArchiveError(archive* a, const Status& callback_error, const std::string& what) {
  if (!callback_error.ok()) return callback_error;
  const char* msg = archive_error_string(a);
  return Status::Internal(what + ": " + (msg ? msg : "libarchive error"));
}

EntryHandle NewEntry(const char* name, int64_t size, Seconds mtime) {
  EntryHandle e(archive_entry_new());
  archive_entry_set_pathname(e.get(), name);
  archive_entry_set_size(e.get(), size);
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0600);
  archive_entry_set_mtime(e.get(), mtime.time_since_epoch().count(), 0);
  return e;
}

Status WriteManifestEntry(archive* a, const Manifest& m, const WriteTarget& t) {
  std::string text = ManifestToJson(m);
  EntryHandle e = NewEntry(kManifestEntry, static_cast<int64_t>(text.size()), m.created);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK ||
      archive_write_data(a, text.data(), text.size()) != static_cast<la_ssize_t>(text.size())) {
    return ArchiveError(a, t.error, "writing manifest.json");
  }
  return Status::Ok();
}

Status WriteSnapshotEntry(archive* a, const Manifest& m, const std::string& path,
                          const WriteTarget& t) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::IOError("open " + path, errno);
  EntryHandle e = NewEntry(kSnapshotEntry, static_cast<int64_t>(m.snapshot_size), m.created);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) {
    return ArchiveError(a, t.error, "writing snapshot.db");
  }
  std::string buf(kCopyBuffer, '\0');
  uint64_t copied = 0;
  for (;;) {
    ssize_t n = read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError("read " + path, errno);
    if (n == 0) break;
    if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) != n) {
      return ArchiveError(a, t.error, "writing snapshot.db");
    }
    copied += static_cast<uint64_t>(n);
  }
  if (copied != m.snapshot_size) {
    return Status::Internal(path + " changed size while archiving");
  }
  return Status::Ok();
}

Status WriteTar(archive* a, const Manifest& m, const std::string& path, WriteTarget* t) {
  if (archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
      archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
      archive_write_open(a, t, nullptr, WriteCallback, nullptr) != ARCHIVE_OK) {
    return ArchiveError(a, t->error, "starting the archive");
  }
  RETURN_IF_ERROR(WriteManifestEntry(a, m, *t));
  RETURN_IF_ERROR(WriteSnapshotEntry(a, m, path, *t));
  if (archive_write_close(a) != ARCHIVE_OK) return ArchiveError(a, t->error, "closing the archive");
  return Status::Ok();
}

}  // namespace

Status WriteArchive(const Manifest& manifest, const std::string& snapshot_path,
                    const std::optional<EncryptionKey>& key, const ByteSink& sink) {
  WriteTarget target{&sink, nullptr, Status::Ok()};
  std::unique_ptr<Encryptor> encryptor;
  if (key) {
    ASSIGN_OR_RETURN(encryptor, Encryptor::Start(*key, sink));
    target.encryptor = encryptor.get();
  }
  WriteHandle a(archive_write_new());
  if (!a) return Status::Internal("libarchive: out of memory");
  RETURN_IF_ERROR(WriteTar(a.get(), manifest, snapshot_path, &target));
  a.reset();
  if (encryptor) RETURN_IF_ERROR(encryptor->Finish());
  return Status::Ok();
}

Result<BackupFormat> DetectFormat(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IOError("open " + path, errno);
  }
  char head[8] = {};
  ssize_t n = pread(fd.get(), head, sizeof head, 0);
  if (n < 0) return Status::IOError("read " + path, errno);
  std::string_view got(head, static_cast<size_t>(n));
  if (got == kEncryptedMagic) return BackupFormat::kEncryptedArchive;
  if (got.size() >= 4 && std::memcmp(head, kZstdMagic, 4) == 0) return BackupFormat::kArchive;
  return BackupFormat::kBareSnapshot;
}

}  // namespace etcdd::backup
