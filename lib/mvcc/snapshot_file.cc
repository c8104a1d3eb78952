#include "mvcc/snapshot_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "base/crc32c.h"
#include "base/env.h"
#include "base/file.h"
#include "mvcc/revision.h"

namespace etcdd::mvcc::internal {

namespace {

constexpr size_t kReadChunk = 1 << 20;

// Reads exactly `n` bytes at `off`. Errors: IOError; Corruption if the file
// ends first.
Status ReadAt(int fd, char* buf, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    const ssize_t got = ::pread(fd, buf, n, static_cast<off_t>(off));
    if (got < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("read " + path, errno);
    }
    if (got == 0) {
      return Status::Corruption("file ends at offset " + std::to_string(off), path);
    }
    buf += got;
    n -= static_cast<size_t>(got);
    off += static_cast<uint64_t>(got);
  }
  return Status::Ok();
}

// The CRC-32C of the first `len` bytes of `fd`.
Result<uint32_t> CrcOfPrefix(int fd, uint64_t len, const std::string& path) {
  std::string buf(static_cast<size_t>(std::min<uint64_t>(kReadChunk, len)), '\0');
  uint32_t crc = 0;
  for (uint64_t off = 0; off < len;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), len - off));
    RETURN_IF_ERROR(ReadAt(fd, buf.data(), n, off, path));
    crc = Crc32c(crc, std::string_view(buf.data(), n));
    off += n;
  }
  return crc;
}

// Removes a temporary file unless disarmed.
class TmpFile {
 public:
  explicit TmpFile(std::string path) : path_(std::move(path)) {}
  ~TmpFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TmpFile(const TmpFile&) = delete;
  TmpFile& operator=(const TmpFile&) = delete;
  void Keep() { path_.clear(); }

 private:
  std::string path_;
};

}  // namespace

Status WriteSnapshotFile(MDB_env* env, const std::string& path) {
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return Status::IOError("create snapshot " + tmp, errno);
  TmpFile remove_on_error(tmp);
  // One read transaction: a consistent copy; writers keep going meanwhile.
  const int rc = mdb_env_copyfd2(env, fd.get(), MDB_CP_COMPACT);
  if (rc > 0) return Status::IOError("copy backend to snapshot " + tmp, rc);
  if (rc != MDB_SUCCESS) {
    return Status::Internal("copy backend to snapshot " + tmp + ": " + mdb_strerror(rc));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::IOError("stat " + tmp, errno);
  const uint64_t len = static_cast<uint64_t>(st.st_size);
  ASSIGN_OR_RETURN(uint32_t crc, CrcOfPrefix(fd.get(), len, tmp));
  char trailer[kSnapshotTrailerBytes];
  std::memcpy(trailer, kSnapshotMagic, sizeof(kSnapshotMagic));
  PutBigEndian64(len, trailer + 8);
  char crc_be[8];
  PutBigEndian64(crc, crc_be);
  std::memcpy(trailer + 16, crc_be + 4, 4);
  if (::lseek(fd.get(), static_cast<off_t>(len), SEEK_SET) < 0) {
    return Status::IOError("seek " + tmp, errno);
  }
  RETURN_IF_ERROR(WriteAll(fd.get(), std::string_view(trailer, sizeof(trailer)), tmp));
  if (::fsync(fd.get()) != 0) return Status::IOError("fsync " + tmp, errno);
  if (::close(fd.release()) != 0) return Status::IOError("close " + tmp, errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IOError("rename " + tmp + " to " + path, errno);
  }
  remove_on_error.Keep();
  return SyncDir(DirName(path));
}

Result<uint64_t> VerifySnapshotFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::NotFound("snapshot " + path + ": no such file");
    return Status::IOError("open snapshot " + path, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::IOError("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return Status::Corruption("snapshot is not a regular file", path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size <= kSnapshotTrailerBytes) {
    return Status::Corruption(
        "snapshot file too short (" + std::to_string(size) + " bytes): empty or truncated", path);
  }
  const uint64_t len = size - kSnapshotTrailerBytes;
  char trailer[kSnapshotTrailerBytes];
  RETURN_IF_ERROR(ReadAt(fd.get(), trailer, sizeof(trailer), len, path));
  if (std::memcmp(trailer, kSnapshotMagic, sizeof(kSnapshotMagic)) != 0) {
    return Status::Corruption(
        "no snapshot trailer at offset " + std::to_string(len) +
            ": truncated, or not a snapshot written by etcdd (Store::WriteSnapshot)",
        path);
  }
  const uint64_t recorded = GetBigEndian64(trailer + 8);
  if (recorded != len) {
    return Status::Corruption("trailer records " + std::to_string(recorded) +
                                  " bytes of backend, the file holds " + std::to_string(len),
                              path);
  }
  char crc_be[8] = {0, 0, 0, 0};
  std::memcpy(crc_be + 4, trailer + 16, 4);
  const uint32_t want = static_cast<uint32_t>(GetBigEndian64(crc_be));
  ASSIGN_OR_RETURN(uint32_t got, CrcOfPrefix(fd.get(), len, path));
  if (got != want) {
    return Status::Corruption("snapshot checksum mismatch (CRC-32C " + std::to_string(got) +
                                  ", trailer says " + std::to_string(want) + ")",
                              path);
  }
  return len;
}

}  // namespace etcdd::mvcc::internal
