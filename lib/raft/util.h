// Small helpers shared by the Raft internals: message classification, entry
// sizes, and the fatal-error path.
//
// Internal to lib/raft. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "raftpb/raft.pb.h"

namespace etcdd::raft {

// Placeholder id meaning "no member" (no leader, no vote), as etcd's raft.None.
inline constexpr uint64_t kNone = 0;
// "No size limit" for the byte limits taken by the log and the storage.
inline constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

// Messages that only the local member may step (etcd's IsLocalMsg): MsgHup,
// MsgBeat, MsgUnreachable, MsgSnapStatus, MsgCheckQuorum.
bool IsLocalMsg(raftpb::MessageType type);
// Responses, which are only accepted from members in the configuration
// (etcd's IsResponseMsg).
bool IsResponseMsg(raftpb::MessageType type);
// MsgVote -> MsgVoteResp, MsgPreVote -> MsgPreVoteResp.
raftpb::MessageType VoteResponseType(raftpb::MessageType type);

// The encoded size of an entry in bytes; what max_size_per_msg and
// max_committed_size_per_ready count.
uint64_t EntrySize(const raftpb::Entry& e);

// Truncates `ents` to the longest prefix whose total EntrySize is at most
// `max_bytes`, keeping at least one entry.
void LimitSize(std::vector<raftpb::Entry>* ents, uint64_t max_bytes);

// Reports a broken invariant of the state machine (a bug, or storage that lost
// data it acknowledged) and aborts, as etcd's raft panics. Never used for
// conditions a peer can cause with a well-formed message.
[[noreturn]] void Panic(std::string_view what);

// A member id as etcd's raft prints it in log lines (lowercase hex).
std::string FormatId(uint64_t id);

}  // namespace etcdd::raft
