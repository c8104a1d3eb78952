// RaftNode drives a raft::RawNode on its own thread: the clock (one Tick per
// heartbeat interval), proposals, ReadIndex rounds and the Ready loop.
//
// For each Ready it persists HardState and entries to the WAL with one fsync
// (group commit: every proposal queued since the last Ready shares it), then
// sends messages, resolves ReadIndex rounds, and hands committed entries to
// the apply sink, in that order ("persist before send", DESIGN.md §3).
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
#include <string>
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
  };

  // Receives messages for other members, on the loop thread, after the
  // state they depend on is persisted; must not block.
  using MessageSink = std::function<void(std::vector<raftpb::Message>)>;

  RaftNode(std::unique_ptr<raft::RawNode> node, std::shared_ptr<raft::MemoryStorage> storage,
           std::unique_ptr<wal::Wal> wal, Options options, MessageSink send, CommitSink sink,
           Logger& logger);
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
  // retries its ReadIndex).
  std::future<Result<uint64_t>> ReadIndex();

  // Queues a message received from a peer for the Raft state machine.
  void Step(raftpb::Message msg);

  uint64_t Term() const { return term_.load(); }
  uint64_t Lead() const { return lead_.load(); }
  uint64_t CommitIndex() const { return commit_.load(); }
  // The log's last index (etcd Status's raft_index counts appended entries).
  uint64_t LastIndex() const { return storage_->LastIndex(); }

  // Drops in-memory log entries up to `index` (applied), keeping the last
  // `keep` entries for slow followers. Thread-safe.
  void CompactLog(uint64_t applied_index, uint64_t keep);

 private:
  struct ReadRound {
    std::vector<std::promise<Result<uint64_t>>> waiters;
    int started_tick = 0;
  };

  void Run();
  // Called with mu_ held and proposals queued; may wait on cv_ for more.
  void LingerForBatch(std::unique_lock<std::mutex>& lock);
  void HandleReady(raft::Ready rd);
  void StartReadRound(std::vector<std::promise<Result<uint64_t>>> waiters);
  void ExpireReadRounds();

  std::unique_ptr<raft::RawNode> node_;
  std::shared_ptr<raft::MemoryStorage> storage_;
  std::unique_ptr<wal::Wal> wal_;
  const Options options_;
  MessageSink send_;
  CommitSink sink_;
  Logger& logger_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                                          // guarded by mu_
  std::vector<std::string> proposals_;                         // guarded by mu_
  std::vector<std::promise<Result<uint64_t>>> pending_reads_;  // guarded by mu_
  std::vector<raftpb::Message> received_;                      // guarded by mu_

  // Loop-thread state.
  std::vector<std::string> held_proposals_;  // waiting for a leader
  std::map<std::string, ReadRound> read_rounds_;
  uint64_t read_seq_ = 0;
  bool reissue_reads_ = false;  // a leader appeared: re-ask for pending rounds
  int ticks_ = 0;

  std::atomic<uint64_t> term_{0};
  std::atomic<uint64_t> lead_{0};
  std::atomic<uint64_t> commit_{0};
  std::thread thread_;
};

}  // namespace etcdd::server
