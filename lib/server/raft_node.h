// RaftNode drives a raft::RawNode on its own thread: the clock (one Tick per
// heartbeat interval), proposals, ReadIndex rounds and the Ready loop.
//
// For each Ready it persists HardState and entries to the WAL with one fsync
// (group commit: every proposal queued since the last Ready shares it), then
// sends messages, resolves ReadIndex rounds, and hands committed entries to
// the apply sink, in that order ("persist before send", DESIGN.md §3). The
// leader alone sends first, so that its fsync overlaps the followers' (see
// HandleReady for why that cannot commit an entry the leader has not synced).
//
// Thread-safety: Propose, ReadIndex and the accessors may be called from any
// thread; the RawNode itself is touched only by the loop thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/status.h"
#include "raft/memory_storage.h"
#include "raft/raw_node.h"
#include "raftpb/raft.pb.h"
#include "wal/wal.h"

namespace etcdd::server {

class RaftNode {
 public:
  // Receives committed entries in log order, on the loop thread; must not block
  // for long (it queues them for the apply thread).
  using CommitSink = std::function<void(std::vector<raftpb::Entry>)>;

  struct Options {
    int heartbeat_ms = 100;  // the tick interval
    int election_ticks = 10;
    int read_timeout_ms = 7000;  // a ReadIndex round fails after this long
    // Called on the loop thread when the WAL or the Raft storage cannot take
    // a Ready (etcd's lg.Fatal "failed to save Raft hard state and
    // entries", "failed to save Raft snapshot", "failed to apply Raft
    // snapshot"); the loop then stops for good: nothing more is persisted,
    // sent, committed or applied, and pending ReadIndex rounds fail. Unset:
    // the loop just stops.
    std::function<void(std::string_view what, const Status& cause)> on_fatal;
    // With raft::Config::defer_commit_announcement: how long the leader waits
    // for a proposal to carry a new commit index to the followers before it
    // sends them an append for it alone. Bounds how far a follower's applied
    // index trails the leader's when writes stop.
    std::chrono::microseconds commit_announce_delay{1000};
  };

  // Receives messages for other members, on the loop thread, after the
  // state they depend on is persisted; must not block.
  using MessageSink = std::function<void(std::vector<raftpb::Message>)>;

  // Receives a snapshot from the leader once it is persisted (WAL marker) and
  // installed in the Raft storage, on the loop thread, before any entry
  // committed after it reaches the CommitSink. The backend data is in the
  // file the snapshot handler saved for its index.
  using SnapshotSink = std::function<void(const raftpb::Snapshot&)>;

  // Receives the new leader's id (0: none) on the loop thread when it
  // changes, before Lead() reports it, so whoever sees this member lead also
  // sees what the sink did (the lessor's promotion); must not block for long.
  using LeaderSink = std::function<void(uint64_t lead)>;

  RaftNode(std::unique_ptr<raft::RawNode> node, std::shared_ptr<raft::MemoryStorage> storage,
           std::unique_ptr<wal::Wal> wal, Options options, MessageSink send, CommitSink sink,
           SnapshotSink snapshot_sink, LeaderSink leader_sink, Logger& logger);
  ~RaftNode();  // Stop()s

  void Start();
  // Stops the loop thread; pending ReadIndex callers get Unavailable.
  void Stop();

  // Queues `data` (a serialized serverpb::InternalRequest) for proposal. It is
  // proposed once a leader is known; the proposer learns the outcome from the
  // apply loop, or times out.
  void Propose(std::string data);

  // Starts (or joins) a ReadIndex round. The future yields the commit index the
  // leader confirmed (etcd's ReadIndex, ReadOnlySafe), or Unavailable
  // "etcdserver: request timed out" if the round found no quorum within
  // Options::read_timeout_ms (it is re-sent every 500 ms until then, as etcd
  // retries its ReadIndex), or Unavailable "etcdserver: leader changed" if the
  // leader it was sent to lost leadership first (etcd's ErrLeaderChanged).
  std::future<Result<uint64_t>> ReadIndex();

  // Queues a configuration change for proposal, like Propose. The apply loop
  // decides whether it takes effect and reports that with ConfChangeApplied.
  void ProposeConfChange(raftpb::ConfChange cc);

  // The apply loop's decision for the next committed ConfChange entry, in log
  // order: `cc` as committed, or with node_id 0 if it was refused (etcd
  // zeroes it). The loop thread waits for these before it acknowledges a
  // Ready holding ConfChange entries (as etcd's raftNode waits for apply),
  // so the Raft configuration and the member list change together.
  void ConfChangeApplied(raftpb::ConfChange cc);

  // Runs `fn` on the loop thread, with the RawNode, and returns its result.
  // Returns nullopt if the loop is stopped. For leadership transfer and the
  // leader's view of progress (RawNode::TransferLeader, Progress).
  template <typename Fn>
  auto Call(Fn fn) -> std::optional<decltype(fn(std::declval<raft::RawNode&>()))>;
  // Queues `fn` for the loop thread without waiting; false if stopped.
  bool Post(std::function<void(raft::RawNode&)> fn);

  // Blocks until the leader is `lead` (0: any leader) or `deadline` passes;
  // returns whether it is.
  bool WaitLeader(uint64_t lead, std::chrono::steady_clock::time_point deadline);

  // Blocks until the leader is no longer `lead` or `deadline` passes;
  // returns whether it changed.
  bool WaitLeaderChange(uint64_t lead, std::chrono::steady_clock::time_point deadline);

  // Queues a message received from a peer for the Raft state machine.
  void Step(raftpb::Message msg);

  uint64_t Term() const { return term_.load(); }
  uint64_t Lead() const { return lead_.load(); }
  uint64_t CommitIndex() const { return commit_.load(); }
  // The log's last index (etcd Status's raft_index counts appended entries).
  uint64_t LastIndex() const { return storage_->LastIndex(); }

  // Records a Raft snapshot at `index` (applied, with its ConfState) whose
  // data is the backend, which the caller has synced: the snapshot marker
  // goes to the WAL, WAL segments before it are released and the oldest
  // beyond `max_wals` (0: none) deleted, and the in-memory log is compacted
  // to `index - keep` (etcd: SnapshotCatchUpEntries). Called from the apply
  // thread. Errors: those of the WAL and the Raft storage (logged by the
  // caller; the next snapshot retries).
  Status CreateSnapshot(uint64_t index, const raftpb::ConfState& conf_state, uint64_t keep,
                        size_t max_wals);

  // Tells Raft how sending a snapshot to `id` went (etcd's ReportSnapshot).
  // Does not wait for the loop.
  void ReportSnapshot(uint64_t id, bool ok);

 private:
  struct ReadRound {
    std::vector<std::promise<Result<uint64_t>>> waiters;
    int started_tick = 0;
  };

  void Run();
  // Called with mu_ held and proposals queued; may wait on cv_ for more.
  void LingerForBatch(std::unique_lock<std::mutex>& lock);
  // What the loop takes from the other threads in one round.
  struct Inputs {
    std::vector<std::string> proposals;
    std::vector<std::promise<Result<uint64_t>>> reads;
    std::vector<raftpb::Message> received;
    std::vector<raftpb::ConfChange> conf_proposals;
    std::vector<std::function<void(raft::RawNode&)>> tasks;
  };
  // Waits until there is work or `until`, then takes the inputs (after
  // LingerForBatch); nullopt once stopped.
  std::optional<Inputs> WaitForInputs(std::chrono::steady_clock::time_point until);
  // Announces a commit index left unannounced for commit_announce_delay, or
  // sets announce_at_ for it.
  void MaybeAnnounceCommit();
  // Puts the proposals held for lack of a leader back in front of `in`'s.
  void RetryHeldProposals(Inputs* in);
  // Proposes `in`'s entries and conf changes; holds those Raft refuses.
  void ProposeAll(Inputs* in);
  // HandleReady for every Ready there is; false once the loop failed.
  bool HandleAllReady();
  // One Ready: leader change, persist (WAL, then the in-memory log), send,
  // answer ReadIndex rounds, hand committed entries to the apply loop and
  // Advance. False after a fatal error (FailLoop ran).
  bool HandleReady(raft::Ready rd);
  // A new leader (or none): tells the server, fails or re-asks read rounds.
  void OnSoftState(const raft::SoftState& ss);
  // Saves the snapshot marker and the HardState and entries to the WAL, then
  // to the in-memory log; a received snapshot goes to the apply loop. False
  // after a fatal WAL error.
  bool Persist(raft::Ready& rd);
  // Hands the committed entries to the apply loop and advances Raft; with
  // conf changes, only once they are applied.
  void HandOverCommitted(raft::Ready& rd);
  // After a fatal error on the loop thread: reports it, refuses further
  // work and fails whoever waits on the loop.
  void FailLoop(std::string_view what, const Status& cause);
  // Runs the tasks left queued and fails pending ReadIndex rounds.
  void Drain();
  // Waits for the apply loop's decision on `n` ConfChange entries and applies
  // them to the RawNode. Returns false if stopped meanwhile.
  bool ApplyConfChanges(size_t n);
  void StartReadRound(std::vector<std::promise<Result<uint64_t>>> waiters);
  void ExpireReadRounds();

  std::unique_ptr<raft::RawNode> node_;
  std::shared_ptr<raft::MemoryStorage> storage_;
  std::unique_ptr<wal::Wal> wal_;
  const Options options_;
  MessageSink send_;
  CommitSink sink_;
  SnapshotSink snapshot_sink_;
  LeaderSink leader_sink_;
  Logger& logger_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                                          // guarded by mu_
  std::vector<std::string> proposals_;                         // guarded by mu_
  std::vector<std::promise<Result<uint64_t>>> pending_reads_;  // guarded by mu_
  std::vector<raftpb::Message> received_;                      // guarded by mu_
  std::vector<raftpb::ConfChange> conf_proposals_;             // guarded by mu_
  std::vector<raftpb::ConfChange> applied_conf_changes_;       // guarded by mu_
  std::vector<std::function<void(raft::RawNode&)>> tasks_;     // guarded by mu_
  std::condition_variable lead_cv_;                            // lead_ changed (waits hold mu_)

  // Loop-thread state.
  std::vector<std::string> held_proposals_;  // waiting for a leader
  std::vector<raftpb::ConfChange> held_conf_proposals_;
  std::map<std::string, ReadRound> read_rounds_;
  uint64_t read_seq_ = 0;
  bool reissue_reads_ = false;  // a leader appeared: re-ask for pending rounds
  int ticks_ = 0;
  // When the commit index the followers have not been told must go out (max:
  // nothing pending).
  std::chrono::steady_clock::time_point announce_at_ = std::chrono::steady_clock::time_point::max();

  std::atomic<uint64_t> term_{0};
  std::atomic<uint64_t> lead_{0};
  std::atomic<uint64_t> commit_{0};
  std::thread thread_;
};

template <typename Fn>
auto RaftNode::Call(Fn fn) -> std::optional<decltype(fn(std::declval<raft::RawNode&>()))> {
  using R = decltype(fn(std::declval<raft::RawNode&>()));
  auto p = std::make_shared<std::promise<R>>();
  auto f = p->get_future();
  if (!Post([p, fn = std::move(fn)](raft::RawNode& n) { p->set_value(fn(n)); })) {
    return std::nullopt;
  }
  // The loop runs every queued task before it exits, so the future is ready.
  return f.get();
}

}  // namespace etcdd::server
