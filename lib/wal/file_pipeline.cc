#include "wal/file_pipeline.h"

#include "wal/segment.h"

namespace etcdd::wal::internal {

FilePipeline::FilePipeline(Env& env, std::string dir, uint64_t bytes)
    : env_(env), dir_(std::move(dir)), bytes_(bytes), thread_([this] { Run(); }) {}

FilePipeline::~FilePipeline() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (ready_ && ready_->ok()) {
    (*ready_)->file.reset();
    (void)env_.RemoveFile((*ready_)->path);
  }
}

void FilePipeline::Run() {
  // Two names in turn, so the spare being prepared never takes the name of
  // the one a cut is still renaming.
  for (uint64_t count = 0;; ++count) {
    std::string path = dir_ + "/" + std::to_string(count % 2) + ".spare.wal.tmp";
    auto file = CreateSpareFile(env_, path, bytes_);
    std::unique_lock lock(mu_);
    if (file.ok()) {
      ready_.emplace(Spare{std::move(file).value(), std::move(path)});
    } else {
      ready_.emplace(file.status());
    }
    cv_.notify_all();
    cv_.wait(lock, [&] { return stop_ || !ready_; });
    if (stop_) return;
  }
}

Result<FilePipeline::Spare> FilePipeline::Take() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return ready_.has_value(); });
  Result<Spare> spare = std::move(*ready_);
  ready_.reset();
  cv_.notify_all();
  return spare;
}

}  // namespace etcdd::wal::internal
