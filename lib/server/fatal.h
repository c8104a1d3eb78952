// Fatal errors of a member: what etcd answers with lg.Fatal or lg.Panic
// (a WAL append that did not reach the disk, a backend that cannot commit
// an applied batch, a snapshot that cannot be installed). The library never
// ends the process: the first such error becomes a sticky Status, the
// member stops persisting, applying and accepting writes, and the
// FatalHandler the embedding program injected decides what happens next
// (cmd/etcdd logs etcd's message and exits with status 1, as etcd does).
//
// Thread-safety: FatalLatch may be used from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "base/log.h"
#include "base/status.h"

namespace etcdd::server {

// Called once per member, on the thread that met the error, after the error
// was logged at level "fatal" with etcd's message (`what`, e.g. "failed to
// save Raft hard state and entries") and field "error" (the cause's text),
// as etcd's lg.Fatal logs it. `cause` keeps its code and errno
// (cause.sys_errno()). It must not block on the member (no Stop() from
// inside it); it may end the process.
using FatalHandler = std::function<void(std::string_view what, const Status& cause)>;

class FatalLatch {
 public:
  // `handler` may be empty: the member then stays up, refusing writes.
  FatalLatch(FatalHandler handler, Logger& logger)
      : handler_(std::move(handler)), logger_(logger) {}

  // Records the first fatal error as `cause` annotated with `what` (code,
  // errno, file and offset kept), logs it and calls the handler. Returns
  // true for the first call only; later ones change nothing.
  bool Raise(std::string_view what, const Status& cause);

  // The sticky error: Ok until Raise. Checked on every proposal, so the Ok
  // case takes no lock.
  Status status() const;

 private:
  const FatalHandler handler_;
  Logger& logger_;
  mutable std::mutex mu_;
  Status status_;                    // guarded by mu_
  std::atomic<bool> raised_{false};  // set once status_ holds the error
};

}  // namespace etcdd::server
