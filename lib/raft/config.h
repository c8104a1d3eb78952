// Config of one Raft member, and the member's role (StateType).
//
// Part of the public API of lib/raft (included by raw_node.h). Mirrors etcd's
// raft.Config with the options etcdd uses: ReadOnlySafe reads only, proposal
// forwarding always on, no uncommitted-size limit.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace etcdd {
class Logger;
}

namespace etcdd::raft {

class Storage;

enum class StateType { kFollower, kCandidate, kLeader, kPreCandidate };

// "StateFollower", "StateCandidate", "StateLeader", "StatePreCandidate", as
// etcd prints them.
std::string_view StateTypeName(StateType state);

struct Config {
  // This member's id; nonzero.
  uint64_t id = 0;
  // Election timeout in ticks. A follower that hears nothing from a leader for
  // a randomized timeout in [election_tick, 2*election_tick) ticks starts an
  // election. Must be greater than heartbeat_tick (etcd suggests 10x).
  int election_tick = 10;
  // Heartbeat interval in ticks (leader only); > 0.
  int heartbeat_tick = 1;
  // The persisted log; not owned, must outlive the RawNode.
  Storage* storage = nullptr;
  // Last index applied by the application, when restarting. Entries up to it
  // are not delivered again in Ready::committed_entries. 0 redelivers every
  // committed entry in storage (after the snapshot, if any).
  uint64_t applied = 0;
  // Bytes of entries per MsgApp (at least one entry is always sent).
  uint64_t max_size_per_msg = 1 << 20;
  // Bytes of committed entries per Ready (at least one). 0 means
  // max_size_per_msg, as in etcd.
  uint64_t max_committed_size_per_ready = 64 << 20;
  // MsgApp messages in flight to one follower in replicate state; > 0.
  int max_inflight_msgs = 256;
  // The leader steps down when it has not heard from a quorum within an
  // election timeout, and followers that heard from a leader within the
  // election timeout ignore (pre-)vote requests (leader lease).
  bool check_quorum = true;
  // Raft thesis §9.6: run a pre-election that does not bump terms before a
  // real one, so a rejoining partitioned member cannot disrupt the leader.
  bool pre_vote = true;
  // Seeds the election-timeout randomness. The generator is seeded with
  // (random_seed, id), so members sharing a seed still draw different timeouts
  // while a fixed seed gives a reproducible run.
  uint64_t random_seed = 0;
  // Leader: when an acknowledgement advances the commit index, leave the news
  // to the next append (a new proposal's) or to RawNode::AnnounceCommit,
  // instead of sending every follower an append of no entries at once
  // (etcd's bcastAppend after maybeCommit). When writes come one at a time,
  // that saves a message and its response per follower and write. A commit
  // that covers a proposal forwarded by a follower is still announced at once,
  // since that follower answers its client only once it applies the entry.
  // etcdd extension; off, the leader announces every commit at once, as etcd.
  bool defer_commit_announcement = false;
  // Where to log role changes and elections (etcd's raft messages, e.g.
  // "<id> became leader at term 2"); not owned, may be null (silent).
  Logger* logger = nullptr;
};

// InvalidArgument with etcd's message if the config cannot be used ("cannot
// use none as id", "heartbeat tick must be greater than 0", "election tick
// must be greater than heartbeat tick", "storage cannot be nil", "max inflight
// messages must be greater than 0").
Status ValidateConfig(const Config& c);

}  // namespace etcdd::raft
