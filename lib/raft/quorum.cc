#include "raft/quorum.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace etcdd::raft {

uint64_t MajorityConfig::CommittedIndex(
    const std::function<std::optional<uint64_t>(uint64_t)>& acked) const {
  const size_t n = ids_.size();
  if (n == 0) return std::numeric_limits<uint64_t>::max();
  std::vector<uint64_t> indexes;
  indexes.reserve(n);
  for (uint64_t id : ids_) indexes.push_back(acked(id).value_or(0));
  std::sort(indexes.begin(), indexes.end());
  // The smallest index acknowledged by n/2+1 voters: counting from the top,
  // the (n/2+1)-th largest.
  return indexes[n - (n / 2 + 1)];
}

VoteResult MajorityConfig::Vote(const std::map<uint64_t, bool>& votes) const {
  if (ids_.empty()) return VoteResult::kWon;
  size_t yes = 0;
  size_t missing = 0;
  for (uint64_t id : ids_) {
    auto it = votes.find(id);
    if (it == votes.end()) {
      ++missing;
    } else if (it->second) {
      ++yes;
    }
  }
  const size_t quorum = ids_.size() / 2 + 1;
  if (yes >= quorum) return VoteResult::kWon;
  if (yes + missing >= quorum) return VoteResult::kPending;
  return VoteResult::kLost;
}

}  // namespace etcdd::raft
