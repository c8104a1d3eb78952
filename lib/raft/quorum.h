// Majority quorum math: which index a majority has acknowledged, and whether
// a vote is won, lost or pending. Mirrors etcd's quorum/majority.go.
//
// A MajorityConfig is the set of voter ids. Joint consensus (a pair of them)
// arrives with membership changes beyond single add/remove; the functions here
// are written per majority so a joint config can combine two results.
//
// Internal to lib/raft. Values; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>

namespace etcdd::raft {

enum class VoteResult { kPending, kLost, kWon };

class MajorityConfig {
 public:
  MajorityConfig() = default;
  explicit MajorityConfig(std::set<uint64_t> ids) : ids_(std::move(ids)) {}

  const std::set<uint64_t>& ids() const { return ids_; }
  bool Contains(uint64_t id) const { return ids_.count(id) != 0; }
  size_t size() const { return ids_.size(); }
  void Add(uint64_t id) { ids_.insert(id); }
  void Remove(uint64_t id) { ids_.erase(id); }

  // The largest index acknowledged by a majority, given each voter's
  // acknowledged index (nullopt: not known, counts as 0). An empty config
  // returns UINT64_MAX, so that it never holds back a joint quorum.
  uint64_t CommittedIndex(const std::function<std::optional<uint64_t>(uint64_t)>& acked) const;

  // The outcome of a vote given yes (true) / no (false) answers; voters that
  // have not answered may still swing it (kPending). An empty config wins.
  VoteResult Vote(const std::map<uint64_t, bool>& votes) const;

 private:
  std::set<uint64_t> ids_;
};

}  // namespace etcdd::raft
