// Streaming a snapshot file in chunks, so that a backend of any size crosses
// between members with memory bounded by one chunk (FORMAT.md, "Transfer").
//
//   FileSource  reads a file front to back, one chunk at a time (the sender);
//   FileSink    appends chunks to "<path>.part", then, once the announced
//               number of bytes has arrived, fsyncs it, renames it to <path>
//               and fsyncs the directory (the receiver), all through an Env
//               (base/env.h) so that fault tests can fail or power-cut it. A
//               sink destroyed before Commit removes its part file, so an
//               interrupted transfer leaves nothing that looks complete.
//
// Thread-safety: one thread at a time per object.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "base/env.h"
#include "base/file.h"
#include "base/status.h"

namespace etcdd::snap {

class FileSource {
 public:
  // Opens `path` for reading. Errors: NotFound, IOError.
  static Result<FileSource> Open(const std::string& path);

  // The file's size in bytes, as of Open.
  uint64_t size() const { return size_; }
  // Reads the next chunk of at most `max_bytes` (> 0) into `*chunk`
  // (replacing its contents, reusing its capacity); an empty chunk means the
  // end of the file. Errors: IOError naming the file and offset; DataLoss if
  // the file ends before the size Open saw (it shrank meanwhile).
  Status Next(size_t max_bytes, std::string* chunk);

 private:
  FileSource(UniqueFd fd, std::string path, uint64_t size)
      : fd_(std::move(fd)), path_(std::move(path)), size_(size) {}
  UniqueFd fd_;
  std::string path_;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;
};

class FileSink {
 public:
  // Creates "<path>.part" through `env` (truncating a leftover one) to
  // receive `total_bytes`. `env` must outlive the sink. Errors: IOError.
  static Result<FileSink> Create(Env& env, const std::string& path, uint64_t total_bytes);
  FileSink(FileSink&& o) noexcept
      : env_(o.env_),
        file_(std::move(o.file_)),
        path_(std::exchange(o.path_, {})),
        total_(o.total_),
        written_(o.written_),
        committed_(o.committed_) {}
  FileSink& operator=(FileSink&&) = delete;
  ~FileSink();  // removes the part file unless committed

  // Appends `data`. Errors: DataLoss when it would exceed total_bytes (the
  // sender sent more than it announced); IOError.
  Status Append(std::string_view data);
  uint64_t written() const { return written_; }
  // Makes the file durable under its final name. Errors: DataLoss when fewer
  // than total_bytes arrived; IOError. After an error the part file is
  // removed by the destructor.
  Status Commit();

 private:
  FileSink(Env& env, std::unique_ptr<File> file, std::string path, uint64_t total)
      : env_(&env), file_(std::move(file)), path_(std::move(path)), total_(total) {}
  std::string PartPath() const { return path_ + ".part"; }
  Env* env_;
  std::unique_ptr<File> file_;
  std::string path_;
  uint64_t total_ = 0;
  uint64_t written_ = 0;
  bool committed_ = false;
};

}  // namespace etcdd::snap
