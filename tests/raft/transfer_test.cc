// Leadership transfer (Raft thesis §3.10; etcd's raft_test.go
// TestLeaderTransfer*).
#include <gtest/gtest.h>

#include "test_util.h"

namespace etcdd::raft {
namespace {

using testing::Filter;
using testing::MakeConfChange;
using testing::MustCreate;
using testing::Network;
using testing::StorageWithConf;

// etcd TestLeaderTransferToUpToDateNode: MsgTimeoutNow at once; the
// transferee wins at the next term, past the leader lease (check_quorum and
// pre_vote are on in the test config).
TEST(LeaderTransfer, ToUpToDateFollower) {
  Network net(3);
  net.Campaign(1);
  const uint64_t term = net.status(1).term;
  net.ClearSent();
  net.node(1).TransferLeader(2);
  net.Stabilize();
  EXPECT_EQ(Filter(net.sent(), raftpb::MSG_TIMEOUT_NOW).size(), 1u);
  EXPECT_TRUE(Filter(net.sent(), raftpb::MSG_PRE_VOTE).empty());
  EXPECT_EQ(net.status(2).state, StateType::kLeader);
  EXPECT_EQ(net.status(2).term, term + 1);
  EXPECT_EQ(net.status(1).state, StateType::kFollower);
  EXPECT_EQ(net.status(1).lead, 2u);
  EXPECT_EQ(net.status(1).lead_transferee, 0u);
  ASSERT_TRUE(net.Propose(2, "x").ok());
  EXPECT_EQ(net.member(1).applied.back().data(), "x");
  // And back (etcd TestLeaderTransferBack... in the other direction).
  net.node(2).TransferLeader(1);
  net.Stabilize();
  EXPECT_EQ(net.status(1).state, StateType::kLeader);
}

// etcd TestLeaderTransferToSlowFollower: the leader first brings the
// transferee's log up to date.
TEST(LeaderTransfer, ToSlowFollowerAfterCatchUp) {
  Network net(3);
  net.Campaign(1);
  net.Isolate(3);
  ASSERT_TRUE(net.Propose(1, "a").ok());
  ASSERT_TRUE(net.Propose(1, "b").ok());
  net.Recover();
  net.node(1).TransferLeader(3);
  net.Stabilize();
  EXPECT_EQ(net.status(3).state, StateType::kLeader);
  const auto& applied = net.member(3).applied;
  ASSERT_GE(applied.size(), 2u);
  EXPECT_EQ(applied[applied.size() - 2].data(), "b");  // then 3's empty entry
}

// etcd TestLeaderTransferIgnoreProposal and TestLeaderTransferTimeout: no
// proposals while transferring; aborted after an election timeout.
TEST(LeaderTransfer, DropsProposalsThenTimesOut) {
  Network net(3);
  net.Campaign(1);
  net.Isolate(3);
  net.node(1).TransferLeader(3);
  net.Stabilize();
  EXPECT_EQ(net.status(1).lead_transferee, 3u);
  EXPECT_EQ(net.node(1).Propose("x").code(), Code::kUnavailable);
  // Heartbeats from 2 keep 1 leader (check quorum); the transfer expires.
  for (int i = 0; i < 9; ++i) net.Tick(1);
  EXPECT_EQ(net.status(1).lead_transferee, 3u);
  net.Tick(1);
  EXPECT_EQ(net.status(1).lead_transferee, 0u);
  EXPECT_EQ(net.status(1).state, StateType::kLeader);
  EXPECT_TRUE(net.Propose(1, "y").ok());
}

// etcd TestLeaderTransferToSelf / ToNonExistingNode / learner: ignored.
TEST(LeaderTransfer, IgnoredForSelfNonMemberOrLearner) {
  std::map<uint64_t, std::unique_ptr<MemoryStorage>> storages;
  for (uint64_t id : {1, 2, 3}) storages[id] = StorageWithConf({1, 2}, {3});
  Network net(std::move(storages));
  net.Campaign(1);
  for (uint64_t target : {1, 3, 9}) {
    net.node(1).TransferLeader(target);
    net.Stabilize();
    EXPECT_EQ(net.status(1).lead_transferee, 0u) << target;
    EXPECT_EQ(net.status(1).state, StateType::kLeader) << target;
  }
  // A learner told to campaign ignores it.
  raftpb::Message m;
  m.set_type(raftpb::MSG_TIMEOUT_NOW);
  m.set_from(1);
  m.set_to(3);
  m.set_term(net.status(1).term);
  ASSERT_TRUE(net.node(3).Step(m).ok());
  EXPECT_EQ(net.status(3).state, StateType::kFollower);
}

// etcd TestLeaderTransferSecondTransferToAnotherNode /
// ...SecondTransferToSameNode: the same target again changes nothing (the
// timeout is not extended); another target replaces the first.
TEST(LeaderTransfer, SecondRequest) {
  Network net(3);
  net.Campaign(1);
  net.Isolate(3);
  net.node(1).TransferLeader(3);
  net.Stabilize();
  for (int i = 0; i < 5; ++i) net.Tick(1);
  net.node(1).TransferLeader(3);
  for (int i = 0; i < 5; ++i) net.Tick(1);
  EXPECT_EQ(net.status(1).lead_transferee, 0u);  // expired on schedule
  net.node(1).TransferLeader(3);
  net.node(1).TransferLeader(2);
  net.Stabilize();
  EXPECT_EQ(net.status(2).state, StateType::kLeader);
}

// etcd TestLeaderTransferRemoveNode: removing the transferee aborts.
TEST(LeaderTransfer, RemovingTheTransfereeAborts) {
  Network net(3);
  net.Campaign(1);
  net.Isolate(3);
  net.node(1).TransferLeader(3);
  net.Stabilize();
  EXPECT_EQ(net.status(1).lead_transferee, 3u);
  net.node(1).ApplyConfChange(MakeConfChange(raftpb::CONF_CHANGE_REMOVE_NODE, 3));
  EXPECT_EQ(net.status(1).lead_transferee, 0u);
  EXPECT_EQ(net.status(1).state, StateType::kLeader);
}

// etcd TestLeaderTransferReceiveHigherTermVote / a transfer ends with any
// leadership change.
TEST(LeaderTransfer, AbortedWhenLeaderStepsDown) {
  Network net(3);
  net.Campaign(1);
  net.Isolate(3);
  net.node(1).TransferLeader(3);
  net.Stabilize();
  net.Isolate(1);
  net.Recover();
  net.Isolate(1);
  net.TickN(30);  // 2 or 3 take over; 1 loses its quorum and steps down
  EXPECT_NE(net.status(1).state, StateType::kLeader);
  EXPECT_EQ(net.status(1).lead_transferee, 0u);
}

// A follower forwards TransferLeader to the leader; as in etcd the forwarded
// request names the follower itself.
TEST(LeaderTransfer, FollowerForwardsRequestNamingItself) {
  Network net(3);
  net.Campaign(1);
  net.node(2).TransferLeader(3);
  net.Stabilize();
  EXPECT_EQ(net.status(2).state, StateType::kLeader);
}

// A single-member group: the transferee of a one-voter... is itself, so
// nothing happens; MsgTimeoutNow to a lone voter wins at once.
TEST(LeaderTransfer, TimeoutNowOnSingleVoter) {
  auto storage = StorageWithConf({1}, {});
  auto node = MustCreate(testing::TestConfig(1, storage.get()));
  raftpb::Message m;
  m.set_type(raftpb::MSG_TIMEOUT_NOW);
  m.set_from(2);
  m.set_to(1);
  m.set_term(1);
  ASSERT_TRUE(node->Step(m).ok());
  EXPECT_EQ(node->GetStatus().state, StateType::kLeader);
}

}  // namespace
}  // namespace etcdd::raft
