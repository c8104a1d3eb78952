// Flow control and quorum math: Inflights, Progress, ProgressTracker and
// MajorityConfig.
#include "raft/progress.h"

#include <gtest/gtest.h>

#include "raft/inflights.h"
#include "raft/quorum.h"

namespace etcdd::raft {
namespace {

TEST(Inflights, FillsAndFrees) {
  Inflights in(3);
  in.Add(1);
  in.Add(2);
  in.Add(5);
  EXPECT_TRUE(in.Full());
  EXPECT_DEATH(in.Add(6), "full");
  in.FreeLE(2);
  EXPECT_EQ(in.Count(), 1);
  in.Add(6);
  in.Add(7);  // wraps around the ring
  EXPECT_TRUE(in.Full());
  in.FreeFirstOne();
  EXPECT_EQ(in.Count(), 2);
  in.FreeLE(0);  // before the window: nothing
  EXPECT_EQ(in.Count(), 2);
  in.FreeLE(100);
  EXPECT_EQ(in.Count(), 0);
}

TEST(Progress, ProbeSendsOneAppendAtATime) {
  Progress pr(10);
  pr.next = 5;
  EXPECT_FALSE(pr.IsPaused());
  pr.probe_sent = true;
  EXPECT_TRUE(pr.IsPaused());
  EXPECT_TRUE(pr.MaybeUpdate(4));  // an ack unpauses
  EXPECT_FALSE(pr.IsPaused());
  EXPECT_EQ(pr.next, 5u);
  EXPECT_FALSE(pr.MaybeUpdate(3));  // stale
}

TEST(Progress, ReplicateIsPausedByAFullWindow) {
  Progress pr(2);
  pr.BecomeReplicate();
  pr.inflights.Add(1);
  EXPECT_FALSE(pr.IsPaused());
  pr.inflights.Add(2);
  EXPECT_TRUE(pr.IsPaused());
}

TEST(Progress, MaybeDecrToInReplicateFallsBackToMatch) {
  Progress pr(10);
  pr.match = 5;
  pr.BecomeReplicate();
  pr.OptimisticUpdate(9);
  EXPECT_FALSE(pr.MaybeDecrTo(5, 5));  // stale rejection
  EXPECT_TRUE(pr.MaybeDecrTo(7, 7));
  EXPECT_EQ(pr.next, 6u);
}

TEST(Progress, MaybeDecrToInProbeUsesTheHint) {
  Progress pr(10);
  pr.next = 10;
  EXPECT_FALSE(pr.MaybeDecrTo(5, 5));  // not the outstanding probe
  pr.probe_sent = true;
  EXPECT_TRUE(pr.MaybeDecrTo(9, 3));
  EXPECT_EQ(pr.next, 4u);
  EXPECT_FALSE(pr.probe_sent);
  // Never below match+1, even for a delayed rejection.
  pr.match = 3;
  pr.next = 6;
  EXPECT_TRUE(pr.MaybeDecrTo(5, 0));
  EXPECT_EQ(pr.next, 4u);
}

TEST(Quorum, CommittedIndexIsTheMajorityMedian) {
  MajorityConfig c({1, 2, 3, 4, 5});
  std::map<uint64_t, uint64_t> acked{{1, 9}, {2, 7}, {3, 5}, {4, 3}};
  auto lookup = [&](uint64_t id) -> std::optional<uint64_t> {
    auto it = acked.find(id);
    if (it == acked.end()) return std::nullopt;
    return it->second;
  };
  EXPECT_EQ(c.CommittedIndex(lookup), 5u);
  EXPECT_EQ(MajorityConfig({1}).CommittedIndex(lookup), 9u);
  EXPECT_EQ(MajorityConfig({1, 2}).CommittedIndex(lookup), 7u);
  EXPECT_EQ(MajorityConfig().CommittedIndex(lookup), UINT64_MAX);
}

TEST(Quorum, VoteResult) {
  MajorityConfig c({1, 2, 3});
  EXPECT_EQ(c.Vote({}), VoteResult::kPending);
  EXPECT_EQ(c.Vote({{1, true}}), VoteResult::kPending);
  EXPECT_EQ(c.Vote({{1, true}, {2, true}}), VoteResult::kWon);
  EXPECT_EQ(c.Vote({{1, true}, {2, false}}), VoteResult::kPending);
  EXPECT_EQ(c.Vote({{1, true}, {2, false}, {3, false}}), VoteResult::kLost);
  EXPECT_EQ(c.Vote({{7, true}, {8, true}}), VoteResult::kPending);  // non-voters do not count
  EXPECT_EQ(MajorityConfig().Vote({}), VoteResult::kWon);
}

TEST(ProgressTracker, QuorumActiveAndTally) {
  ProgressTracker t(10);
  t.AddVoter(1, 5);
  t.AddVoter(2, 5);
  t.AddVoter(3, 5);
  EXPECT_TRUE(t.QuorumActive());  // new members count as active
  for (auto& [id, pr] : t.progress()) pr.recent_active = id == 1;
  EXPECT_FALSE(t.QuorumActive());
  t.RecordVote(1, true);
  t.RecordVote(2, false);
  t.RecordVote(2, true);  // only the first answer counts
  auto tally = t.TallyVotes();
  EXPECT_EQ(tally.granted, 1);
  EXPECT_EQ(tally.rejected, 1);
  EXPECT_EQ(tally.result, VoteResult::kPending);
  t.Remove(3);
  EXPECT_EQ(t.GetConfState().voters_size(), 2);
}

}  // namespace
}  // namespace etcdd::raft
