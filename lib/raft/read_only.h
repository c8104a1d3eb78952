// ReadOnly: the leader's queue of ReadIndex requests waiting for a heartbeat
// quorum (etcd's read_only.go, ReadOnlySafe mode).
//
// A request records the leader's commit index when it arrived. The leader
// attaches the request context to a heartbeat round; once a quorum has
// answered a heartbeat carrying that context, the leader is known to have
// still been leader after the request arrived, so that request and every one
// queued before it can be answered with their recorded index.
//
// Request contexts identify requests: they must be non-empty and unique; a
// context already pending is ignored.
//
// Internal to lib/raft. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "raftpb/raft.pb.h"

namespace etcdd::raft {

struct ReadIndexStatus {
  raftpb::Message req;  // MsgReadIndex; entries[0].data is the context
  uint64_t index = 0;   // the leader's commit index when the request arrived
  std::map<uint64_t, bool> acks;
};

class ReadOnly {
 public:
  // Queues `req` with read index `index`.
  void AddRequest(uint64_t index, const raftpb::Message& req);
  // Records that `id` answered the heartbeat carrying `ctx`; returns the acks
  // collected for it, or null if no such request is pending.
  const std::map<uint64_t, bool>* RecvAck(uint64_t id, const std::string& ctx);
  // Dequeues the request with `ctx` and every request queued before it.
  std::vector<ReadIndexStatus> Advance(const std::string& ctx);
  // The context of the newest pending request ("" if none): heartbeats carry
  // it so that their responses confirm every pending request.
  std::string LastPendingRequestCtx() const;
  bool empty() const { return queue_.empty(); }

 private:
  std::map<std::string, ReadIndexStatus> pending_;
  std::deque<std::string> queue_;
};

}  // namespace etcdd::raft
