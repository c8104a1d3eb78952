#include "raft/inflights.h"

#include <algorithm>

#include "raft/util.h"

namespace etcdd::raft {

void Inflights::Add(uint64_t index) {
  if (Full()) Panic("cannot add into a full inflights window");
  int next = start_ + count_;
  if (next >= size_) next -= size_;
  if (next >= static_cast<int>(buffer_.size())) {
    // Grow by doubling rather than preallocating the whole window.
    size_t grown = std::max<size_t>(1, buffer_.size() * 2);
    buffer_.resize(std::min<size_t>(grown, size_));
  }
  buffer_[next] = index;
  ++count_;
}

void Inflights::FreeLE(uint64_t to) {
  if (count_ == 0 || to < buffer_[start_]) return;
  int idx = start_;
  int freed = 0;
  for (; freed < count_; ++freed) {
    if (to < buffer_[idx]) break;
    if (++idx >= size_) idx -= size_;
  }
  count_ -= freed;
  start_ = count_ == 0 ? 0 : idx;
}

void Inflights::FreeFirstOne() {
  if (count_ > 0) FreeLE(buffer_[start_]);
}

}  // namespace etcdd::raft
