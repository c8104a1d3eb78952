// A rolling defragmentation of a running cluster through the client API
// (Maintenance.Status, Defragment, MoveLeader, Alarm; KV.Compact), as
// ahrtr/etcd-defrag does it:
//   1. Survey: Status of every endpoint and a linearizable read through it
//      (cli::CheckEndpointHealth); stop unless the cluster is healthy
//      (plan.h UnhealthyReason), unless told to skip the check.
//   2. Plan (plan.h MakePlan): followers first, the leader last, each
//      decided by the rule.
//   3. Optionally compact (physical) once, through the leader.
//   4. Defragment each planned member in turn; optionally move leadership
//      away from the leader first; after each, wait until the member
//      answers a linearizable read again and its raft index is within
//      Options::max_index_gap of the leader's, bounded by
//      Options::catch_up_timeout. The first failure stops the run unless
//      continue_on_error.
//   5. Optionally disarm the NOSPACE alarms once every member is under the
//      quota.
//
// Thread-safety: the functions may run concurrently on distinct clients.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "client/client.h"
#include "defrag/plan.h"

namespace etcdd::defrag {

struct Options {
  bool skip_health_check = false;
  bool compact = false;
  int64_t keep_revisions = 0;  // with compact: revisions kept below the current one
  bool move_leader = false;
  bool continue_on_error = false;
  bool disarm = false;
  bool dry_run = false;          // survey and plan only
  int64_t db_quota = 2ll << 30;  // bytes, for the rule and --disarm
  std::optional<std::string> rule;
  uint64_t max_index_gap = 50;  // raft entries a member may lag once done
  std::chrono::milliseconds catch_up_timeout{60000};
};

// What happened to one planned member.
struct MemberOutcome {
  PlanEntry entry;
  enum class State { kSkipped, kDone, kFailed, kNotReached } state = State::kNotReached;
  bool moved_leader = false;  // leadership moved away before its defrag
  int64_t db_size_after = 0;  // bytes, from Status after the defrag
  int64_t db_size_in_use_after = 0;
  std::chrono::nanoseconds took{0};  // defrag plus the wait to catch up
  std::string error;
};
std::string StateName(MemberOutcome::State s);  // "skip", "done", "failed", "not reached"

struct Report {
  std::vector<PlanEntry> plan;
  int64_t compacted_revision = 0;  // 0: no compaction
  std::vector<MemberOutcome> members;
  int disarmed = 0;  // NOSPACE alarms deactivated
  // The failure that ended the run, or of the compaction or disarm step;
  // empty when none.
  std::string error;
  bool ok() const;
  int64_t freed_bytes() const;  // sum of db_size before - after over done members
};

// Called before and after each member's defrag (done false, then true), so
// the caller can show progress.
using ProgressFn = std::function<void(const MemberOutcome& m, bool done)>;

// Status and health of each endpoint, concurrently, in the given order.
// `config` gives the TLS, auth and timeouts; each endpoint is dialled alone.
std::vector<MemberState> Survey(const client::Config& config,
                                const std::vector<std::string>& endpoints);

// Steps 1-2: survey and plan. Errors: FailedPrecondition "cluster is not
// healthy: <why> (use --skip-health-check to defragment anyway)"; the rule's
// errors (InvalidArgument for one that does not parse). Nothing is changed.
Result<std::vector<PlanEntry>> SurveyAndPlan(const client::Config& config,
                                             const std::vector<std::string>& endpoints,
                                             const Options& options);

// Steps 3-5 for `plan` (from SurveyAndPlan). Failures are in the report.
Report Execute(client::Client& client, const client::Config& config, std::vector<PlanEntry> plan,
               const Options& options, const ProgressFn& progress);

}  // namespace etcdd::defrag
