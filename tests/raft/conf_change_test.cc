// Membership changes: learners (etcd's raft_test.go TestLearner*), promotion,
// removal of the leader, one pending change at a time, and the leader's
// per-member Progress.
#include <gtest/gtest.h>

#include "test_util.h"

namespace etcdd::raft {
namespace {

using testing::Filter;
using testing::HandleReady;
using testing::MakeConfChange;
using testing::MustCreate;
using testing::Network;
using testing::StorageWithConf;

// Voters 1 and 2, learner 3, from a snapshot at index 1.
Network LearnerNetwork() {
  std::map<uint64_t, std::unique_ptr<MemoryStorage>> storages;
  for (uint64_t id : {1, 2, 3}) storages[id] = StorageWithConf({1, 2}, {3});
  return Network(std::move(storages));
}

Status ProposeAndApply(Network& net, uint64_t id, raftpb::ConfChangeType type, uint64_t node) {
  Status s = net.node(id).ProposeConfChange(MakeConfChange(type, node));
  net.Stabilize();
  return s;
}

// etcd TestLearnerElectionTimeout / TestLearnerCannotVote: a learner never
// campaigns and is never asked to vote.
TEST(ConfChange, LearnerNeverCampaignsNorIsAskedToVote) {
  Network net = LearnerNetwork();
  net.TickN(40, 3);
  EXPECT_EQ(net.status(3).state, StateType::kFollower);
  EXPECT_TRUE(net.node(3).Campaign().ok());
  EXPECT_EQ(net.status(3).state, StateType::kFollower);
  net.ClearSent();
  net.Campaign(1);
  EXPECT_EQ(net.status(1).state, StateType::kLeader);
  for (const raftpb::Message& m : net.sent()) {
    if (m.type() == raftpb::MSG_VOTE || m.type() == raftpb::MSG_PRE_VOTE) {
      EXPECT_NE(m.to(), 3u);
    }
  }
}

// etcd TestLearnerLogReplication: the learner receives and applies the log,
// but the commit does not wait for it.
TEST(ConfChange, LearnerReceivesEntriesButDoesNotCountForQuorum) {
  Network net = LearnerNetwork();
  net.Campaign(1);
  ASSERT_TRUE(net.Propose(1, "a").ok());
  EXPECT_EQ(net.status(3).commit, net.status(1).commit);
  EXPECT_EQ(net.member(3).applied.back().data(), "a");
  net.Isolate(3);
  ASSERT_TRUE(net.Propose(1, "b").ok());
  EXPECT_EQ(net.status(1).commit, net.status(2).commit);
  EXPECT_EQ(net.member(1).applied.back().data(), "b");
  net.Recover();
  net.Isolate(2);
  const uint64_t before = net.status(1).commit;
  ASSERT_TRUE(net.Propose(1, "c").ok());
  EXPECT_EQ(net.status(1).commit, before);  // leader + learner are not a quorum
  const auto progress = net.node(1).Progress();
  ASSERT_EQ(progress.size(), 3u);
  EXPECT_TRUE(progress.at(3).is_learner);
  EXPECT_FALSE(progress.at(2).is_learner);
  EXPECT_EQ(progress.at(3).match, net.status(1).commit + 1);  // has "c"
}

// etcd TestLearnerPromotion / TestAddLearner: a member added as learner
// catches up, then ADD_NODE promotes it; it keeps its progress and may then
// campaign and win.
TEST(ConfChange, AddLearnerThenPromote) {
  Network net(3);
  net.Campaign(1);
  net.AddMember(4);
  ASSERT_TRUE(ProposeAndApply(net, 1, raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 4).ok());
  net.TickN(2);
  auto progress = net.node(1).Progress();
  ASSERT_TRUE(progress.at(4).is_learner);
  EXPECT_EQ(progress.at(4).match, net.status(1).commit);  // in sync
  raftpb::ConfState cs = net.node(4).GetConfState();
  ASSERT_EQ(cs.learners_size(), 1);
  EXPECT_EQ(cs.voters_size(), 3);
  EXPECT_TRUE(net.node(4).Campaign().ok());
  EXPECT_NE(net.status(4).state, StateType::kCandidate);

  ASSERT_TRUE(ProposeAndApply(net, 1, raftpb::CONF_CHANGE_ADD_NODE, 4).ok());
  progress = net.node(1).Progress();
  EXPECT_FALSE(progress.at(4).is_learner);
  EXPECT_EQ(progress.at(4).match, net.status(1).commit);
  cs = net.node(4).GetConfState();
  EXPECT_EQ(cs.voters_size(), 4);
  EXPECT_EQ(cs.learners_size(), 0);
  net.node(1).TransferLeader(4);  // a voter now: it can lead
  net.Stabilize();
  EXPECT_EQ(net.status(4).state, StateType::kLeader);
}

// Removing a learner, and demoting a voter to learner (allowed by etcd 3.4
// for a simple change).
TEST(ConfChange, RemoveLearnerAndDemoteVoter) {
  Network net = LearnerNetwork();
  net.Campaign(1);
  ASSERT_TRUE(ProposeAndApply(net, 1, raftpb::CONF_CHANGE_REMOVE_NODE, 3).ok());
  EXPECT_EQ(net.node(1).Progress().count(3), 0u);
  EXPECT_EQ(net.node(2).GetConfState().learners_size(), 0);
  ASSERT_TRUE(ProposeAndApply(net, 1, raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 2).ok());
  const raftpb::ConfState cs = net.node(1).GetConfState();
  ASSERT_EQ(cs.voters_size(), 1);
  ASSERT_EQ(cs.learners_size(), 1);
  EXPECT_EQ(cs.learners(0), 2u);
  // A single voter commits alone now.
  net.Isolate(2);
  const uint64_t before = net.status(1).commit;
  ASSERT_TRUE(net.Propose(1, "x").ok());
  EXPECT_EQ(net.status(1).commit, before + 1);
}

// etcd's pendingConfIndex: a second change proposed before the first is
// applied is replaced by an empty entry, learners included.
TEST(ConfChange, OnePendingChangeAtATimeForLearnersToo) {
  Network net(1);
  net.Campaign(1);
  RawNode& node = net.node(1);
  ASSERT_TRUE(node.ProposeConfChange(MakeConfChange(raftpb::CONF_CHANGE_ADD_LEARNER_NODE, 5)).ok());
  ASSERT_TRUE(node.ProposeConfChange(MakeConfChange(raftpb::CONF_CHANGE_ADD_NODE, 6)).ok());
  Ready rd = HandleReady(&node, net.member(1).storage.get());
  ASSERT_EQ(rd.entries.size(), 2u);
  EXPECT_EQ(rd.entries[0].type(), raftpb::ENTRY_CONF_CHANGE);
  EXPECT_EQ(rd.entries[1].type(), raftpb::ENTRY_NORMAL);
  const raftpb::ConfState cs = node.GetConfState();
  EXPECT_EQ(cs.voters_size(), 1);
  EXPECT_EQ(cs.learners_size(), 1);
}

// Removing the leader: when the change is applied it hands over with a
// leadership transfer (see RawNode::ApplyConfChange), so a new leader is
// elected without any tick; the removed member learns the new term from the
// answer to its next heartbeat and never campaigns.
TEST(ConfChange, RemovedLeaderHandsOver) {
  Network net(3);
  net.Campaign(1);
  const uint64_t term = net.status(1).term;
  net.ClearSent();
  ASSERT_TRUE(ProposeAndApply(net, 1, raftpb::CONF_CHANGE_REMOVE_NODE, 1).ok());
  EXPECT_FALSE(Filter(net.sent(), raftpb::MSG_TIMEOUT_NOW).empty());
  EXPECT_EQ(net.node(1).Propose("x").code(), Code::kUnavailable);
  const uint64_t leader = net.Leader();
  ASSERT_TRUE(leader == 2 || leader == 3) << leader;
  EXPECT_EQ(net.status(leader).term, term + 1);
  net.Tick(1);
  EXPECT_EQ(net.status(1).state, StateType::kFollower);
  EXPECT_EQ(net.status(1).term, term + 1);
  ASSERT_TRUE(net.Propose(leader, "after").ok());
  const uint64_t other = leader == 2 ? 3 : 2;
  EXPECT_EQ(net.member(other).applied.back().data(), "after");
  net.TickN(50, 1);
  EXPECT_NE(net.status(1).state, StateType::kCandidate);
  EXPECT_EQ(net.Leader(), leader);
}

// etcd Status().Progress: only the leader reports progress, itself included.
TEST(ConfChange, ProgressOnlyOnTheLeader) {
  Network net(3);
  net.Campaign(1);
  EXPECT_TRUE(net.node(2).Progress().empty());
  const auto progress = net.node(1).Progress();
  ASSERT_EQ(progress.size(), 3u);
  for (const auto& [id, pr] : progress) {
    EXPECT_EQ(pr.match, net.status(1).commit) << id;
    EXPECT_EQ(pr.next, pr.match + 1) << id;
    EXPECT_EQ(pr.state, ProgressState::kReplicate) << id;
  }
  EXPECT_EQ(ProgressStateName(ProgressState::kSnapshot), "StateSnapshot");
}

// A restarted learner comes back as a learner (its ConfState from storage).
TEST(ConfChange, LearnerRestartsAsLearner) {
  auto storage = StorageWithConf({1}, {2});
  auto node = MustCreate(testing::TestConfig(2, storage.get()));
  EXPECT_TRUE(node->Campaign().ok());
  EXPECT_EQ(node->GetStatus().state, StateType::kFollower);
}

}  // namespace
}  // namespace etcdd::raft

namespace etcdd::raft {
namespace {

// While a change removing it is pending, the leader takes no proposals: once
// the removal commits, the remaining voters have its whole log.
TEST(ConfChange, LeaderBeingRemovedRefusesProposals) {
  Network net(3);
  net.Campaign(1);
  net.Ignore(raftpb::MSG_APP);
  ASSERT_TRUE(
      net.node(1).ProposeConfChange(MakeConfChange(raftpb::CONF_CHANGE_REMOVE_NODE, 1)).ok());
  net.Stabilize();
  EXPECT_EQ(net.node(1).Propose("x").code(), Code::kUnavailable);
  net.Recover();
  net.Isolate(1);
  net.TickN(30);  // 2 or 3 take over, the removal still pending in their logs
  const uint64_t leader = net.Leader();
  ASSERT_TRUE(leader == 2 || leader == 3) << leader;
  net.Recover();
  net.TickN(2);
  // 1 proposes through the new leader again: it was never removed.
  EXPECT_EQ(net.node(1).GetConfState().voters_size(), 3);
  EXPECT_TRUE(net.Propose(1, "y").ok());
}

// A new leader that inherits a pending change removing it refuses proposals
// too.
TEST(ConfChange, NewLeaderInheritsPendingSelfRemoval) {
  Network net(3, [](Config& c) { c.check_quorum = false; });  // no lease: 2 can campaign
  net.Campaign(1);
  net.Ignore(raftpb::MSG_APP_RESP);  // 2 and 3 get the entry, 1 cannot commit it
  ASSERT_TRUE(
      net.node(1).ProposeConfChange(MakeConfChange(raftpb::CONF_CHANGE_REMOVE_NODE, 2)).ok());
  net.Stabilize();
  net.Recover();
  net.Isolate(1);
  net.Ignore(raftpb::MSG_APP);  // 2's term starts, but commits nothing yet
  net.Campaign(2);
  ASSERT_EQ(net.status(2).state, StateType::kLeader);
  EXPECT_EQ(net.node(2).Propose("x").code(), Code::kUnavailable);
  net.Recover();
  net.Tick(2);
  // Once the removal applies, 2 hands over to a remaining voter.
  const uint64_t leader = net.Leader();
  EXPECT_TRUE(leader == 1 || leader == 3) << leader;
  EXPECT_EQ(net.status(2).state, StateType::kFollower);
}

// The removed leader is not deposed by CheckQuorum while the remaining voter
// is unreachable, and retries the hand-over every election timeout. Nor does
// it answer reads on its own (the one voter left is not itself).
TEST(ConfChange, RemovedLeaderRetriesHandOver) {
  Network net(2);
  net.Campaign(1);
  net.Ignore(raftpb::MSG_TIMEOUT_NOW);
  ASSERT_TRUE(
      net.node(1).ProposeConfChange(MakeConfChange(raftpb::CONF_CHANGE_REMOVE_NODE, 1)).ok());
  net.Stabilize();
  EXPECT_EQ(net.node(1).GetConfState().voters_size(), 1);
  EXPECT_EQ(net.status(1).state, StateType::kLeader);
  EXPECT_EQ(net.status(1).lead_transferee, 2u);
  net.Recover();
  net.Isolate(2);
  net.TickN(30, 1);
  EXPECT_EQ(net.status(1).state, StateType::kLeader);
  net.node(1).ReadIndex("r");
  net.Stabilize();
  EXPECT_TRUE(net.member(1).read_states.empty());
  net.Recover();
  net.TickN(12, 1);
  EXPECT_EQ(net.status(2).state, StateType::kLeader);
}

}  // namespace
}  // namespace etcdd::raft
