// Planning a rolling defragmentation: which members, in which order, and
// whether the cluster is fit for it. Pure functions over what each member's
// Maintenance.Status said, so they are tested without a cluster (the calls
// themselves are in rolling.h).
//
// The order is the one ahrtr/etcd-defrag uses: followers first, in the order
// their endpoints were given, the leader last, so the cluster keeps its
// leader (and its quorum of undisturbed members) as long as possible.
//
// Thread-safety: pure functions and values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "defrag/rule.h"

namespace etcdd::defrag {

// What one endpoint reported: its Status and whether a linearizable read
// went through (cli::CheckEndpointHealth).
struct MemberState {
  std::string endpoint;
  uint64_t member_id = 0;      // Status header member_id; 0 if Status failed
  uint64_t leader_id = 0;      // Status leader; 0: no leader known
  int64_t db_size = 0;         // bytes
  int64_t db_size_in_use = 0;  // bytes
  uint64_t raft_index = 0;     // Status raftIndex
  int64_t revision = 0;        // Status header revision
  // Status errors: alarm descriptions such as "memberID:1 alarm:NOSPACE ".
  std::vector<std::string> alarms;
  // Empty when both Status and the health read succeeded; else why not.
  std::string error;

  bool is_leader() const { return member_id != 0 && member_id == leader_id; }
};

// dbSizeFree / dbSize (0 for an empty or unknown size).
double FreeRatio(const MemberState& m);

// Why the cluster is not fit for a rolling defragmentation, or "" if it is:
// a member whose Status or health read failed, a member raising an alarm
// other than NOSPACE (a NOSPACE alarm is what defragmentation cures, so it
// does not count; reads still work under it), members that do not agree on
// one leader. `members` are the surveyed endpoints, one per member.
std::string UnhealthyReason(const std::vector<MemberState>& members);

// One member in the plan.
struct PlanEntry {
  MemberState member;
  bool defrag = false;
  // "no rule" (every member is defragmented), "rule holds", "rule does not
  // hold".
  std::string reason;
};

// The members to visit, followers first in the given order, the leader
// last; endpoints of a member already listed (a member with several client
// URLs under --cluster) are dropped. With `rule` each member is decided by
// it (sizes and `db_quota` in bytes); without one every member is
// defragmented. Errors: the rule's evaluation error.
Result<std::vector<PlanEntry>> MakePlan(const std::vector<MemberState>& members, Rule* rule,
                                        int64_t db_quota);

// The revision to compact to so that the newest `keep_revisions` revisions
// stay readable: current - keep_revisions, or 0 (nothing to compact) when
// that is below 1. `keep_revisions` 0 compacts to the current revision.
int64_t CompactTarget(int64_t current_revision, int64_t keep_revisions);

// Whether a member at raft index `member_index` is within `max_gap` entries
// of the leader's `leader_index` (or ahead of it).
bool CaughtUp(uint64_t member_index, uint64_t leader_index, uint64_t max_gap);

}  // namespace etcdd::defrag
