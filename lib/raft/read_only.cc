#include "raft/read_only.h"

#include "raft/util.h"

namespace etcdd::raft {

void ReadOnly::AddRequest(uint64_t index, const raftpb::Message& req) {
  const std::string& ctx = req.entries(0).data();
  if (pending_.count(ctx) != 0) return;
  pending_.emplace(ctx, ReadIndexStatus{req, index, {}});
  queue_.push_back(ctx);
}

const std::map<uint64_t, bool>* ReadOnly::RecvAck(uint64_t id, const std::string& ctx) {
  auto it = pending_.find(ctx);
  if (it == pending_.end()) return nullptr;
  it->second.acks[id] = true;
  return &it->second.acks;
}

std::vector<ReadIndexStatus> ReadOnly::Advance(const std::string& ctx) {
  std::vector<ReadIndexStatus> out;
  if (pending_.count(ctx) == 0) return out;
  while (!queue_.empty()) {
    std::string front = std::move(queue_.front());
    queue_.pop_front();
    auto it = pending_.find(front);
    if (it == pending_.end()) Panic("cannot find corresponding read state from pending map");
    out.push_back(std::move(it->second));
    pending_.erase(it);
    if (front == ctx) break;
  }
  return out;
}

std::string ReadOnly::LastPendingRequestCtx() const {
  return queue_.empty() ? std::string() : queue_.back();
}

}  // namespace etcdd::raft
