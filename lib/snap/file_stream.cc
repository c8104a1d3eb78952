#include "snap/file_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace etcdd::snap {

Result<FileSource> FileSource::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::NotFound("snapshot file " + path + " does not exist");
    return Status::IOError("open " + path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Status::IOError("stat " + path, errno);
  return FileSource(std::move(fd), path, static_cast<uint64_t>(st.st_size));
}

Status FileSource::Next(size_t max_bytes, std::string* chunk) {
  const uint64_t n = std::min<uint64_t>(max_bytes, size_ - offset_);
  chunk->resize(n);
  size_t done = 0;
  while (done < n) {
    const ssize_t got =
        ::pread(fd_.get(), chunk->data() + done, n - done, static_cast<off_t>(offset_ + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      return Status::IOError("read " + path_ + " at offset " + std::to_string(offset_ + done),
                             errno);
    }
    if (got == 0) {
      return Status::Corruption("snapshot file ended at " + std::to_string(offset_ + done) +
                                    " bytes of " + std::to_string(size_),
                                path_);
    }
    done += static_cast<size_t>(got);
  }
  offset_ += n;
  return Status::Ok();
}

Result<FileSink> FileSink::Create(Env& env, const std::string& path, uint64_t total_bytes) {
  ASSIGN_OR_RETURN(auto file, env.OpenFile(path + ".part", Env::OpenMode::kTruncate));
  return FileSink(env, std::move(file), path, total_bytes);
}

FileSink::~FileSink() {
  if (committed_ || path_.empty()) return;
  file_.reset();
  (void)env_->RemoveFile(PartPath());  // best effort: RemoveStale finds it otherwise
}

Status FileSink::Append(std::string_view data) {
  if (data.size() > total_ - written_) {
    return Status::Corruption(
        "snapshot data is longer than the announced " + std::to_string(total_) + " bytes",
        PartPath());
  }
  RETURN_IF_ERROR(file_->WriteAt(written_, data));
  written_ += data.size();
  return Status::Ok();
}

Status FileSink::Commit() {
  if (written_ != total_) {
    return Status::Corruption("snapshot data is " + std::to_string(written_) + " bytes, expected " +
                                  std::to_string(total_),
                              PartPath());
  }
  RETURN_IF_ERROR(file_->Sync());
  file_.reset();
  RETURN_IF_ERROR(env_->RenameFile(PartPath(), path_));
  committed_ = true;
  return env_->SyncDir(DirName(path_));
}

}  // namespace etcdd::snap
