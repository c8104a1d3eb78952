// Inflights: the flow-control window of MsgApp messages sent to one follower
// and not yet acknowledged. Mirrors etcd's tracker/inflights.go.
//
// Each in-flight message is represented by the index of its last entry. The
// leader checks Full() before sending, Add()s the last index it sends, and
// frees the window with FreeLE() as acknowledgements arrive. The window size
// is Config::max_inflight_msgs.
//
// Internal to lib/raft. Not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace etcdd::raft {

class Inflights {
 public:
  explicit Inflights(int size) : size_(size) {}

  // Records a message whose last entry is `index`. Indexes must be added in
  // increasing order; aborts if Full().
  void Add(uint64_t index);
  // Frees every in-flight message whose last index is <= `to`.
  void FreeLE(uint64_t to);
  // Frees the oldest in-flight message (after a heartbeat response from a
  // follower whose window is full, so that replication can make progress).
  void FreeFirstOne();
  bool Full() const { return count_ == size_; }
  int Count() const { return count_; }
  int Size() const { return size_; }
  void Reset() {
    count_ = 0;
    start_ = 0;
  }

 private:
  int start_ = 0;  // ring-buffer position of the oldest message
  int count_ = 0;
  int size_;
  std::vector<uint64_t> buffer_;  // grows on demand up to size_
};

}  // namespace etcdd::raft
