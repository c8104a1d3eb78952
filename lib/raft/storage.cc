#include "raft/storage.h"

namespace etcdd::raft {

Status ErrCompacted() {
  return Status::OutOfRange("requested index is unavailable due to compaction");
}

Status ErrUnavailable() { return Status::Unavailable("requested entry at index is unavailable"); }

Status ErrSnapOutOfDate() {
  return Status::FailedPrecondition("requested index is older than the existing snapshot");
}

}  // namespace etcdd::raft
