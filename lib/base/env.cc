#include "base/env.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/file.h"

namespace etcdd {

namespace {

class PosixFile final : public File {
 public:
  PosixFile(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  const std::string& path() const override { return path_; }

  Status WriteAt(uint64_t offset, std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_.get(), data.data(), data.size(), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::IOError("write " + path_, errno);
      }
      if (n == 0) return Status::IOError("write " + path_, ENOSPC);
      data.remove_prefix(static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0) {
      return Status::IOError("ftruncate " + path_, errno);
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (::fdatasync(fd_.get()) != 0) return Status::IOError("fdatasync " + path_, errno);
    return Status::Ok();
  }

  Result<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0) return Status::IOError("stat " + path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  Status Lock() override {
    if (::flock(fd_.get(), LOCK_EX | LOCK_NB) == 0) return Status::Ok();
    if (errno == EWOULDBLOCK) {
      return Status::FailedPrecondition(path_ + " is locked by another process");
    }
    return Status::IOError("flock " + path_, errno);
  }

 private:
  UniqueFd fd_;
  const std::string path_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    int flags = O_RDWR | O_CLOEXEC;
    switch (mode) {
      case OpenMode::kExisting:
        break;
      case OpenMode::kCreate:
        flags |= O_CREAT;
        break;
      case OpenMode::kTruncate:
        flags |= O_CREAT | O_TRUNC;
        break;
      case OpenMode::kExclusive:
        flags |= O_CREAT | O_EXCL;
        break;
    }
    UniqueFd fd(::open(path.c_str(), flags, 0600));
    if (!fd.valid()) {
      if (errno == ENOENT && mode == OpenMode::kExisting) {
        return Status::NotFound(path + ": no such file");
      }
      if (errno == EEXIST) return Status::AlreadyExists(path + ": file exists");
      return Status::IOError(mode == OpenMode::kExisting ? "open " + path : "create " + path,
                             errno);
    }
    return std::unique_ptr<File>(new PosixFile(std::move(fd), path));
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Status::IOError("rename " + from, errno);
    return Status::Ok();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) == 0) return Status::Ok();
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IOError("remove " + path, errno);
  }

  Status SyncDir(const std::string& dir) override { return etcdd::SyncDir(dir); }
};

}  // namespace

Env* Env::Default() {
  static PosixEnv* env = new PosixEnv();  // stateless; never destroyed
  return env;
}

std::string DirName(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status WriteFileAtomic(Env& env, const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  Status s;
  {
    auto file = env.OpenFile(tmp, Env::OpenMode::kTruncate);
    if (!file.ok()) return file.status();
    s = (*file)->WriteAt(0, data);
    if (s.ok()) s = (*file)->Sync();
  }
  if (s.ok()) s = env.RenameFile(tmp, path);
  if (!s.ok()) {
    (void)env.RemoveFile(tmp);
    return s;
  }
  return env.SyncDir(DirName(path));
}

}  // namespace etcdd
