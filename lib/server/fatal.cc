#include "server/fatal.h"

namespace etcdd::server {

bool FatalLatch::Raise(std::string_view what, const Status& cause) {
  {
    std::lock_guard lock(mu_);
    if (!status_.ok()) return false;
    status_ = (cause.ok() ? Status::Internal("unknown error") : cause).Annotate(std::string(what));
    raised_.store(true, std::memory_order_release);
  }
  // etcd: lg.Fatal(what, zap.Error(err)); the handler decides whether the
  // process ends.
  logger_.Log(LogLevel::kFatal, what, {{"error", cause.message()}});
  if (handler_) handler_(what, cause);
  return true;
}

Status FatalLatch::status() const {
  if (!raised_.load(std::memory_order_acquire)) return Status::Ok();
  std::lock_guard lock(mu_);
  return status_;
}

}  // namespace etcdd::server
