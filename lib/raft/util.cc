#include "raft/util.h"

#include <cstdio>
#include <cstdlib>

namespace etcdd::raft {

bool IsLocalMsg(raftpb::MessageType type) {
  return type == raftpb::MSG_HUP || type == raftpb::MSG_BEAT || type == raftpb::MSG_UNREACHABLE ||
         type == raftpb::MSG_SNAP_STATUS || type == raftpb::MSG_CHECK_QUORUM;
}

bool IsResponseMsg(raftpb::MessageType type) {
  return type == raftpb::MSG_APP_RESP || type == raftpb::MSG_VOTE_RESP ||
         type == raftpb::MSG_HEARTBEAT_RESP || type == raftpb::MSG_UNREACHABLE ||
         type == raftpb::MSG_PRE_VOTE_RESP;
}

raftpb::MessageType VoteResponseType(raftpb::MessageType type) {
  switch (type) {
    case raftpb::MSG_VOTE:
      return raftpb::MSG_VOTE_RESP;
    case raftpb::MSG_PRE_VOTE:
      return raftpb::MSG_PRE_VOTE_RESP;
    default:
      Panic("not a vote message: " + raftpb::MessageType_Name(type));
  }
}

uint64_t EntrySize(const raftpb::Entry& e) { return e.ByteSizeLong(); }

void LimitSize(std::vector<raftpb::Entry>* ents, uint64_t max_bytes) {
  if (ents->empty()) return;
  uint64_t size = EntrySize((*ents)[0]);
  size_t limit = 1;
  for (; limit < ents->size(); ++limit) {
    size += EntrySize((*ents)[limit]);
    if (size > max_bytes) break;
  }
  ents->resize(limit);
}

void Panic(std::string_view what) {
  std::fprintf(stderr, "raft: fatal: %.*s\n", static_cast<int>(what.size()), what.data());
  std::fflush(stderr);
  std::abort();
}

std::string FormatId(uint64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(id));
  return buf;
}

}  // namespace etcdd::raft
