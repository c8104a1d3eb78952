#include "defrag/plan.h"

#include <set>

namespace etcdd::defrag {

double FreeRatio(const MemberState& m) {
  if (m.db_size <= 0) return 0;
  return static_cast<double>(m.db_size - m.db_size_in_use) / static_cast<double>(m.db_size);
}

std::string UnhealthyReason(const std::vector<MemberState>& members) {
  if (members.empty()) return "no member to check";
  for (const auto& m : members) {
    if (!m.error.empty()) return "member " + m.endpoint + " is unhealthy: " + m.error;
    for (const auto& alarm : m.alarms) {
      if (alarm.find("alarm:NOSPACE") == std::string::npos) {
        return "member " + m.endpoint + " has an active alarm: " + alarm;
      }
    }
  }
  const uint64_t leader = members.front().leader_id;
  for (const auto& m : members) {
    if (m.leader_id == 0) return "member " + m.endpoint + " has no leader";
    if (m.leader_id != leader) return "members do not agree on the leader";
  }
  return "";
}

Result<std::vector<PlanEntry>> MakePlan(const std::vector<MemberState>& members, Rule* rule,
                                        int64_t db_quota) {
  std::vector<PlanEntry> followers, leaders;
  std::set<uint64_t> seen;
  for (const auto& m : members) {
    if (m.member_id != 0 && !seen.insert(m.member_id).second) continue;
    PlanEntry e{m, true, "no rule"};
    if (rule != nullptr) {
      ASSIGN_OR_RETURN(bool holds, rule->Evaluate({m.db_size, m.db_size_in_use, db_quota}));
      e.defrag = holds;
      e.reason = holds ? "rule holds" : "rule does not hold";
    }
    (m.is_leader() ? leaders : followers).push_back(std::move(e));
  }
  followers.insert(followers.end(), leaders.begin(), leaders.end());
  return followers;
}

int64_t CompactTarget(int64_t current_revision, int64_t keep_revisions) {
  const int64_t target = current_revision - keep_revisions;
  return target < 1 ? 0 : target;
}

bool CaughtUp(uint64_t member_index, uint64_t leader_index, uint64_t max_gap) {
  return member_index >= leader_index || leader_index - member_index <= max_gap;
}

}  // namespace etcdd::defrag
