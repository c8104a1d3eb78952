#include "raft/memory_storage.h"

#include <string>

#include "raft/util.h"

namespace etcdd::raft {

MemoryStorage::MemoryStorage() : ents_(1) {}

Status MemoryStorage::SetHardState(const raftpb::HardState& hs) {
  std::lock_guard<std::mutex> lock(mu_);
  hard_state_ = hs;
  return Status::Ok();
}

Result<std::pair<raftpb::HardState, raftpb::ConfState>> MemoryStorage::InitialState() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::make_pair(hard_state_, snapshot_.metadata().conf_state());
}

Result<std::vector<raftpb::Entry>> MemoryStorage::Entries(uint64_t lo, uint64_t hi,
                                                          uint64_t max_bytes) const {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t offset = ents_[0].index();
  if (lo <= offset) return ErrCompacted();
  if (lo > hi || hi > LastIndexLocked() + 1) {
    return Status::InvalidArgument("entries [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                   ") out of bound lastindex(" + std::to_string(LastIndexLocked()) +
                                   ")");
  }
  if (ents_.size() == 1) return ErrUnavailable();
  std::vector<raftpb::Entry> out(ents_.begin() + (lo - offset), ents_.begin() + (hi - offset));
  LimitSize(&out, max_bytes);
  return out;
}

Result<uint64_t> MemoryStorage::Term(uint64_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t offset = ents_[0].index();
  if (index < offset) return ErrCompacted();
  if (index - offset >= ents_.size()) return ErrUnavailable();
  return ents_[index - offset].term();
}

uint64_t MemoryStorage::FirstIndex() const {
  std::lock_guard<std::mutex> lock(mu_);
  return FirstIndexLocked();
}

uint64_t MemoryStorage::LastIndex() const {
  std::lock_guard<std::mutex> lock(mu_);
  return LastIndexLocked();
}

Result<raftpb::Snapshot> MemoryStorage::GetSnapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

Status MemoryStorage::ApplySnapshot(const raftpb::Snapshot& snap) {
  std::lock_guard<std::mutex> lock(mu_);
  if (snapshot_.metadata().index() >= snap.metadata().index()) return ErrSnapOutOfDate();
  snapshot_ = snap;
  ents_.assign(1, raftpb::Entry());
  ents_[0].set_index(snap.metadata().index());
  ents_[0].set_term(snap.metadata().term());
  return Status::Ok();
}

Result<raftpb::Snapshot> MemoryStorage::CreateSnapshot(uint64_t index,
                                                       const raftpb::ConfState* conf_state,
                                                       std::string data) {
  std::lock_guard<std::mutex> lock(mu_);
  if (index <= snapshot_.metadata().index()) return ErrSnapOutOfDate();
  if (index > LastIndexLocked()) {
    return Status::InvalidArgument("snapshot " + std::to_string(index) +
                                   " is out of bound lastindex(" +
                                   std::to_string(LastIndexLocked()) + ")");
  }
  const uint64_t offset = ents_[0].index();
  auto* meta = snapshot_.mutable_metadata();
  meta->set_index(index);
  meta->set_term(ents_[index - offset].term());
  if (conf_state != nullptr) *meta->mutable_conf_state() = *conf_state;
  snapshot_.set_data(std::move(data));
  return snapshot_;
}

Status MemoryStorage::Compact(uint64_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t offset = ents_[0].index();
  if (index <= offset) return ErrCompacted();
  if (index > LastIndexLocked()) {
    return Status::InvalidArgument("compact " + std::to_string(index) +
                                   " is out of bound lastindex(" +
                                   std::to_string(LastIndexLocked()) + ")");
  }
  const uint64_t i = index - offset;
  std::vector<raftpb::Entry> ents;
  ents.reserve(ents_.size() - i);
  ents.emplace_back();
  ents[0].set_index(ents_[i].index());
  ents[0].set_term(ents_[i].term());
  ents.insert(ents.end(), ents_.begin() + i + 1, ents_.end());
  ents_ = std::move(ents);
  return Status::Ok();
}

Status MemoryStorage::Append(const std::vector<raftpb::Entry>& entries) {
  if (entries.empty()) return Status::Ok();
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].index() != entries[i - 1].index() + 1) {
      return Status::InvalidArgument("appended entries are not consecutive at index " +
                                     std::to_string(entries[i].index()));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t first = FirstIndexLocked();
  const uint64_t last = entries.back().index();
  if (last < first) return Status::Ok();  // everything is already compacted
  // Skip the entries that fall into the compacted prefix.
  size_t skip = first > entries[0].index() ? first - entries[0].index() : 0;
  const uint64_t offset = entries[skip].index() - ents_[0].index();
  if (offset > ents_.size()) {
    return Status::InvalidArgument("missing log entry [last: " + std::to_string(LastIndexLocked()) +
                                   ", append at: " + std::to_string(entries[skip].index()) + "]");
  }
  ents_.resize(offset);  // truncate any conflicting suffix
  ents_.insert(ents_.end(), entries.begin() + skip, entries.end());
  return Status::Ok();
}

}  // namespace etcdd::raft
