#include "raft/progress.h"

#include <algorithm>

#include "raft/util.h"

namespace etcdd::raft {

void Progress::ResetState(ProgressState s) {
  probe_sent = false;
  pending_snapshot = 0;
  state = s;
  inflights.Reset();
}

void Progress::BecomeProbe() {
  if (state == ProgressState::kSnapshot) {
    const uint64_t pending = pending_snapshot;
    ResetState(ProgressState::kProbe);
    next = std::max(match + 1, pending + 1);
  } else {
    ResetState(ProgressState::kProbe);
    next = match + 1;
  }
}

void Progress::BecomeSnapshot(uint64_t snapshot_index) {
  ResetState(ProgressState::kSnapshot);
  pending_snapshot = snapshot_index;
}

void Progress::BecomeReplicate() {
  ResetState(ProgressState::kReplicate);
  next = match + 1;
}

bool Progress::MaybeUpdate(uint64_t n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, n + 1);
  return updated;
}

bool Progress::MaybeDecrTo(uint64_t rejected, uint64_t match_hint) {
  if (state == ProgressState::kReplicate) {
    // A rejection at or below match is stale: that append was since accepted.
    if (rejected <= match) return false;
    // Something was lost in the stream: resend from after the known match.
    next = match + 1;
    return true;
  }
  // Probes go out one at a time, so any rejection not for next-1 is stale.
  if (next - 1 != rejected) return false;
  // Never below match+1: a delayed rejection must not undo a later success.
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  probe_sent = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state) {
    case ProgressState::kProbe:
      return probe_sent;
    case ProgressState::kReplicate:
      return inflights.Full();
    case ProgressState::kSnapshot:
      return true;
  }
  Panic("unexpected progress state");
}

Progress* ProgressTracker::Find(uint64_t id) {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

const Progress* ProgressTracker::Find(uint64_t id) const {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

void ProgressTracker::AddVoter(uint64_t id, uint64_t last_index) {
  if (voters_.Contains(id)) return;
  voters_.Add(id);
  if (learners_.erase(id) != 0) {
    progress_.at(id).is_learner = false;
    return;
  }
  AddProgress(id, last_index, false);
}

void ProgressTracker::AddLearner(uint64_t id, uint64_t last_index) {
  if (learners_.count(id) != 0) return;
  learners_.insert(id);
  if (voters_.Contains(id)) {
    voters_.Remove(id);
    progress_.at(id).is_learner = true;
    return;
  }
  AddProgress(id, last_index, true);
}

void ProgressTracker::AddProgress(uint64_t id, uint64_t last_index, bool is_learner) {
  Progress pr(max_inflight_);
  pr.is_learner = is_learner;
  // Probing from the last index is optimistic, but a rejection's hint quickly
  // moves next back to where the follower's log really ends.
  pr.next = std::max<uint64_t>(last_index, 1);
  // A new member counts as active so that CheckQuorum does not depose the
  // leader before the member had a chance to answer.
  pr.recent_active = true;
  progress_.insert_or_assign(id, std::move(pr));
}

void ProgressTracker::Clear() {
  voters_ = MajorityConfig();
  learners_.clear();
  progress_.clear();
  votes_.clear();
}

void ProgressTracker::Remove(uint64_t id) {
  voters_.Remove(id);
  learners_.erase(id);
  progress_.erase(id);
  votes_.erase(id);
}

void ProgressTracker::ResetProgress(uint64_t self, uint64_t last_index) {
  for (auto& [id, pr] : progress_) {
    const bool is_learner = pr.is_learner;
    pr = Progress(max_inflight_);
    pr.is_learner = is_learner;
    pr.next = last_index + 1;
    if (id == self) pr.match = last_index;
  }
}

raftpb::ConfState ProgressTracker::GetConfState() const {
  raftpb::ConfState cs;
  for (uint64_t id : voters_.ids()) cs.add_voters(id);
  for (uint64_t id : learners_) cs.add_learners(id);
  return cs;
}

uint64_t ProgressTracker::Committed() const {
  return voters_.CommittedIndex([this](uint64_t id) -> std::optional<uint64_t> {
    const Progress* pr = Find(id);
    if (pr == nullptr) return std::nullopt;
    return pr->match;
  });
}

bool ProgressTracker::QuorumActive() const {
  std::map<uint64_t, bool> active;
  for (const auto& [id, pr] : progress_) active[id] = pr.recent_active;
  return voters_.Vote(active) == VoteResult::kWon;
}

ProgressTracker::Tally ProgressTracker::TallyVotes() const {
  Tally t;
  for (const auto& [id, granted] : votes_) {
    if (!voters_.Contains(id)) continue;
    (granted ? t.granted : t.rejected)++;
  }
  t.result = voters_.Vote(votes_);
  return t;
}

}  // namespace etcdd::raft
