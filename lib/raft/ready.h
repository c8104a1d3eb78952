// Ready: everything the application must do after the state machine moved, and
// the status types RawNode reports.
//
// Part of the public API of lib/raft (included by raw_node.h). Mirrors etcd's
// raft.Ready.
//
// THE CONTRACT, for each Ready, in this order:
//   1. Persist hard_state (if set) and entries, durably when must_sync, in one
//      atomic write (the WAL's group commit), and append the entries to the
//      Storage the RawNode reads. Entries may overwrite a suffix of entries
//      written earlier (a follower's conflicting tail): later writes win.
//   2. Only then send messages. A message may promise a vote, or acknowledge
//      entries, that must survive a crash ("persist before send").
//   3. Apply committed_entries in order. They may include entries of this very
//      Ready's `entries` (a one-member group commits as soon as its own log
//      has them), hence step 1 first. ConfChange entries go to
//      RawNode::ApplyConfChange.
//   4. Serve read_states once the applied index reaches their index.
//   5. Call RawNode::Advance(ready) before asking for the next Ready.
// soft_state is informational and need not be persisted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raft/config.h"
#include "raftpb/raft.pb.h"

namespace etcdd::raft {

// Volatile state, useful for logging and for knowing the leader.
struct SoftState {
  uint64_t lead = 0;  // 0: no known leader
  StateType state = StateType::kFollower;
  bool operator==(const SoftState&) const = default;
};

// The answer to a ReadIndex request: once the applied index reaches `index`,
// a read issued before the request may be served locally and is linearizable.
struct ReadState {
  uint64_t index = 0;
  std::string request_ctx;  // the context given to RawNode::ReadIndex
};

struct Ready {
  // Set when the soft state changed since the previous Ready.
  std::optional<SoftState> soft_state;
  // Set when term, vote or commit changed; persist before sending messages.
  std::optional<raftpb::HardState> hard_state;
  // Answers to ReadIndex requests made on this member.
  std::vector<ReadState> read_states;
  // New log entries; persist (and append to Storage) before sending messages.
  std::vector<raftpb::Entry> entries;
  // Snapshot sent by the leader because this member's log is too far behind:
  // persist it (MemoryStorage::ApplySnapshot; with the entries, in step 1) and
  // restore the state machine from its data before applying
  // committed_entries, which then all follow it. The configuration is the
  // snapshot's metadata.conf_state (the state machine already took it).
  std::optional<raftpb::Snapshot> snapshot;
  // Committed entries to apply, in order, after `entries` are persisted.
  std::vector<raftpb::Entry> committed_entries;
  // Messages to send after persisting. Delivery may fail, be reordered or
  // duplicated: Raft tolerates it. Report failed sends with ReportUnreachable.
  std::vector<raftpb::Message> messages;
  // True if the term or vote changed or there are entries or a snapshot: then
  // the write in step 1 must be fsynced before step 2.
  bool must_sync = false;
};

// The leader's view of one follower's log (etcd's tracker.StateType):
//   kProbe      where the follower's log diverges is unknown; one append at a
//               time until it accepts one.
//   kReplicate  appends are streamed optimistically.
//   kSnapshot   the follower needs a snapshot; one is being sent.
enum class ProgressState { kProbe, kReplicate, kSnapshot };

// "StateProbe", "StateReplicate", "StateSnapshot", as etcd prints them.
std::string_view ProgressStateName(ProgressState state);

// One member's replication progress as the leader tracks it (etcd's
// Status().Progress entries).
struct ProgressInfo {
  uint64_t match = 0;  // highest log index known to be on the member
  uint64_t next = 0;   // next log index the leader will send
  ProgressState state = ProgressState::kProbe;
  uint64_t pending_snapshot = 0;  // in kSnapshot: index of the snapshot sent
  bool recent_active = false;     // heard from within the current CheckQuorum round
  bool is_learner = false;
};

struct BasicStatus {
  uint64_t id = 0;
  uint64_t term = 0;
  uint64_t vote = 0;
  uint64_t commit = 0;   // highest index known committed
  uint64_t applied = 0;  // highest index acknowledged applied via Advance
  uint64_t lead = 0;
  StateType state = StateType::kFollower;
  // Leader only: the member leadership is being transferred to (0: none).
  uint64_t lead_transferee = 0;
};

}  // namespace etcdd::raft
