#include "raft/log_unstable.h"

#include <string>

#include "raft/util.h"

namespace etcdd::raft {

std::optional<uint64_t> Unstable::MaybeFirstIndex() const {
  if (!snapshot_) return std::nullopt;
  return snapshot_->metadata().index() + 1;
}

std::optional<uint64_t> Unstable::MaybeLastIndex() const {
  if (!entries_.empty()) return offset_ + entries_.size() - 1;
  if (snapshot_) return snapshot_->metadata().index();
  return std::nullopt;
}

std::optional<uint64_t> Unstable::MaybeTerm(uint64_t index) const {
  if (index < offset_) {
    if (snapshot_ && snapshot_->metadata().index() == index) return snapshot_->metadata().term();
    return std::nullopt;
  }
  if (index - offset_ >= entries_.size()) return std::nullopt;
  return entries_[index - offset_].term();
}

void Unstable::StableTo(uint64_t index, uint64_t term) {
  std::optional<uint64_t> t = MaybeTerm(index);
  if (!t || *t != term || index < offset_) return;
  entries_.erase(entries_.begin(), entries_.begin() + (index + 1 - offset_));
  offset_ = index + 1;
}

void Unstable::StableSnapTo(uint64_t index) {
  if (snapshot_ && snapshot_->metadata().index() == index) snapshot_.reset();
}

void Unstable::Restore(const raftpb::Snapshot& snap) {
  offset_ = snap.metadata().index() + 1;
  entries_.clear();
  snapshot_ = snap;
}

void Unstable::TruncateAndAppend(const std::vector<raftpb::Entry>& ents) {
  const uint64_t after = ents.front().index();
  if (after == offset_ + entries_.size()) {
    // The new entries directly follow the unstable ones.
  } else if (after <= offset_) {
    // The log is truncated below everything unstable: replace it all.
    offset_ = after;
    entries_.clear();
  } else if (after < offset_ + entries_.size()) {
    // Keep the unstable entries before `after`, drop the rest.
    entries_.resize(after - offset_);
  } else {
    Panic("unstable append at " + std::to_string(after) + " leaves a gap after " +
          std::to_string(offset_ + entries_.size() - 1));
  }
  entries_.insert(entries_.end(), ents.begin(), ents.end());
}

std::vector<raftpb::Entry> Unstable::Slice(uint64_t lo, uint64_t hi) const {
  const uint64_t upper = offset_ + entries_.size();
  if (lo > hi || lo < offset_ || hi > upper) {
    Panic("unstable.slice[" + std::to_string(lo) + "," + std::to_string(hi) + ") out of bound [" +
          std::to_string(offset_) + "," + std::to_string(upper) + "]");
  }
  return std::vector<raftpb::Entry>(entries_.begin() + (lo - offset_),
                                    entries_.begin() + (hi - offset_));
}

}  // namespace etcdd::raft
