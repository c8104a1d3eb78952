// Internal to lib/wal: prepares the next segment file in the background
// (etcd: wal/file_pipeline.go). Zero-filling and syncing a 64 MiB segment
// takes ~165 ms here; done at cut time it would stall every write behind it.
// With the pipeline a cut only writes the segment's first records into a
// spare that is already allocated and synced, then renames it.
//
// Thread-safety: Take is called by one thread at a time (the Wal, under its
// mutex); the pipeline's own thread prepares spares.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/env.h"
#include "base/status.h"

namespace etcdd::wal::internal {

class FilePipeline {
 public:
  struct Spare {
    std::unique_ptr<File> file;  // locked, zero-filled to the segment size, synced
    std::string path;            // "<dir>/<n>.spare.wal.tmp"
  };

  // Starts preparing the first spare of `bytes` bytes in `dir`, through
  // `env` (which must outlive the pipeline).
  FilePipeline(Env& env, std::string dir, uint64_t bytes);
  // Stops the thread and removes a spare nobody took.
  ~FilePipeline();
  FilePipeline(const FilePipeline&) = delete;
  FilePipeline& operator=(const FilePipeline&) = delete;

  // Waits for the prepared spare, hands it over and starts preparing the
  // next. Errors: what preparing it met (see CreateSpareFile); the pipeline
  // then prepares a new one for the next Take.
  Result<Spare> Take();

 private:
  void Run();

  Env& env_;
  const std::string dir_;
  const uint64_t bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Result<Spare>> ready_;  // guarded by mu_
  bool stop_ = false;                   // guarded by mu_
  std::thread thread_;
};

}  // namespace etcdd::wal::internal
