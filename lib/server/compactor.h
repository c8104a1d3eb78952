// Auto-compaction (etcd 3.4's --auto-compaction-mode and
// --auto-compaction-retention; etcdserver/api/v3compactor).
//
// Two layers:
//   - the plans (PeriodicCompactionPlan, RevisionCompactionPlan): pure
//     decision logic fed with "now" and the current revision, answering which
//     revision to compact at each tick; no threads, no clock, no I/O, so tests
//     drive them with a fake clock;
//   - Compactor: one thread that ticks a plan at its interval (a stoppable
//     timed wait), proposes what the plan decides through a callback (the
//     member proposes a CompactionRequest through Raft) and logs etcd's
//     messages. The member pauses it when it is not the leader.
//
// Thread-safety: the plans are not thread-safe (the Compactor's thread owns
// its plan). Compactor's Pause, Resume and Stop may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "base/log.h"
#include "base/status.h"

namespace etcdd::server {

// etcd's compaction modes (v3compactor.ModePeriodic / ModeRevision).
inline constexpr char kCompactionModePeriodic[] = "periodic";
inline constexpr char kCompactionModeRevision[] = "revision";

// etcd's revInterval: how often the revision compactor checks.
inline constexpr std::chrono::minutes kRevisionCompactionInterval{5};

// The parsed pair of flags.
struct AutoCompaction {
  // "periodic", "revision" (or "", which etcd's flag check accepts but its
  // compactor refuses when the retention is not 0).
  std::string mode = kCompactionModePeriodic;
  // etcd keeps one time.Duration for both modes: in periodic mode the
  // retention period, in revision mode the number of revisions to keep
  // (its count of nanoseconds, so "5m" there means 300000000000 revisions,
  // as in etcd). Zero disables auto-compaction.
  std::chrono::nanoseconds retention{0};
  // Revision mode: the time between two checks (etcd: always 5 minutes;
  // etcdd's --experimental-revision-compaction-interval shortens it).
  std::chrono::nanoseconds revision_interval = kRevisionCompactionInterval;

  bool enabled() const { return retention.count() != 0; }
};

// etcd's flag check of --auto-compaction-mode (embed/config.go Validate).
// Errors: InvalidArgument `unknown auto-compaction-mode "<mode>"`.
Status ValidateAutoCompactionMode(std::string_view mode);

// etcd's parseCompactionRetention (embed/etcd.go): a non-negative integer is
// hours in periodic mode and a revision count in revision mode; anything
// else is a Go duration ("30m", "5s", "-1h"...); "" means "0". Errors:
// InvalidArgument `error parsing CompactionRetention: time: invalid duration
// "abc"` (Go's ParseDuration text). A negative duration is refused with
// `error parsing CompactionRetention: negative retention "<value>"` (etcd
// accepts it and its compactor then panics; etcdd refuses it up front).
// `mode` is assumed to pass ValidateAutoCompactionMode; with an empty mode
// a duration is refused as etcd's compactor refuses it: InvalidArgument
// `unsupported compaction mode ` (an integer then means "off", as in etcd).
Result<AutoCompaction> ParseAutoCompaction(std::string_view mode, std::string_view retention);

// etcd's periodic compactor (v3compactor/periodic.go), as a pure state
// machine. It samples the current revision every retry interval (a tenth of
// the period, the period capped at one hour), keeping the samples of the last
// period; once a whole period has passed since start (and then every
// min(period, 1 h) after the last success) it compacts the oldest sample,
// i.e. the revision current one period ago. Failed attempts are retried
// every retry interval.
//
// The caller's loop, as etcd's: construct (at start), then repeatedly
// Sample the current revision, wait retry_interval() and Tick; when Tick
// returns a revision, compact it and report with Done.
class PeriodicCompactionPlan {
 public:
  // `period` > 0 (the retention); `now` is the start time.
  PeriodicCompactionPlan(std::chrono::nanoseconds period,
                         std::chrono::steady_clock::time_point now);

  // How long to wait between two ticks (etcd's getRetryInterval).
  std::chrono::nanoseconds retry_interval() const { return retry_interval_; }
  // How many samples are kept (etcd's getRetentions: period / retry + 1).
  size_t retentions() const { return retentions_; }
  std::chrono::nanoseconds period() const { return period_; }
  // When the last compaction succeeded (the start time before any).
  std::chrono::steady_clock::time_point last_success() const { return last_success_; }

  // Records the store's current revision, dropping the oldest sample beyond
  // retentions().
  void Sample(int64_t current_rev);
  // One tick, after waiting retry_interval(): the revision to compact now
  // (the oldest sample), or nullopt (paused, or too early).
  std::optional<int64_t> Tick(std::chrono::steady_clock::time_point now, bool paused);
  // The outcome of compacting what Tick returned: `succeeded` is true for
  // success and for etcd's ErrCompacted (already compacted).
  void Done(std::chrono::steady_clock::time_point now, bool succeeded);

 private:
  const std::chrono::nanoseconds period_;
  const std::chrono::nanoseconds compact_interval_;
  const std::chrono::nanoseconds retry_interval_;
  const size_t retentions_;
  std::chrono::nanoseconds base_interval_;  // period_ until the first attempt
  std::chrono::steady_clock::time_point last_success_;
  std::deque<int64_t> revs_;  // front: the revision of one period ago
};

// etcd's revision compactor (v3compactor/revision.go), as a pure state
// machine: at each check (every 5 minutes in etcd), compacts to the current
// revision minus `retention`, unless that is not positive or is the revision
// it compacted last.
class RevisionCompactionPlan {
 public:
  explicit RevisionCompactionPlan(int64_t retention) : retention_(retention) {}

  int64_t retention() const { return retention_; }
  // One check, after waiting the interval: the revision to compact, or
  // nullopt.
  std::optional<int64_t> Tick(int64_t current_rev, bool paused);
  // The outcome of compacting `rev` (success or ErrCompacted: `succeeded`).
  void Done(int64_t rev, bool succeeded);

 private:
  const int64_t retention_;
  int64_t prev_ = 0;  // the last revision compacted
};

// The thread that runs a plan. It starts paused: the member resumes it when
// it becomes leader and pauses it when it stops being leader (etcd's
// updateLeadership), so only the leader compacts. While paused, the periodic
// plan keeps sampling revisions, as etcd's does.
class Compactor {
 public:
  // Proposes a compaction of `revision` and calls `done` once with its
  // outcome (from any thread, possibly before returning).
  using CompactFn = std::function<void(int64_t revision, std::function<void(Status)> done)>;
  // The store's current revision.
  using RevisionFn = std::function<int64_t()>;

  // Starts the thread for `cfg` (which must be enabled(), with a valid mode).
  // Errors: InvalidArgument `unsupported compaction mode <mode>` (etcd's
  // v3compactor.New), e.g. for an empty mode.
  static Result<std::unique_ptr<Compactor>> Start(const AutoCompaction& cfg, Logger& logger,
                                                  RevisionFn current_rev, CompactFn compact);
  ~Compactor();  // Stop()s

  // etcd's Compactor Pause/Resume.
  void Pause();
  void Resume();
  // Ends the thread; a compaction in flight is no longer waited for. Idempotent.
  void Stop();

 private:
  // What the thread and the completion callbacks share; callbacks may
  // outlive the Compactor.
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool stop = false;             // guarded by mu
    bool paused = true;            // guarded by mu
    uint64_t attempt = 0;          // guarded by mu: numbers compactions
    std::optional<Status> result;  // guarded by mu: of compaction `attempt`
  };

  Compactor(const AutoCompaction& cfg, Logger& logger, RevisionFn current_rev, CompactFn compact)
      : cfg_(cfg),
        logger_(logger),
        current_rev_(std::move(current_rev)),
        compact_(std::move(compact)) {}

  void RunPeriodic();
  void RunRevision();
  // Waits `d` or until stopped; returns whether to go on, and the paused
  // flag through `paused`.
  bool Wait(std::chrono::nanoseconds d, bool* paused);
  // Proposes a compaction of `rev` and waits for its outcome. Returns nullopt
  // when stopped meanwhile.
  std::optional<Status> CompactAndWait(int64_t rev);

  const AutoCompaction cfg_;
  Logger& logger_;
  const RevisionFn current_rev_;
  const CompactFn compact_;
  const std::shared_ptr<State> state_ = std::make_shared<State>();
  std::thread thread_;
};

}  // namespace etcdd::server
