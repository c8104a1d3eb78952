// The RawNode contract: config validation, Bootstrap, the Ready/Advance cycle,
// restart, Step's checks and configuration changes.
#include <gtest/gtest.h>

#include "base/log.h"
#include "test_util.h"

namespace etcdd::raft {
namespace {

using testing::EntriesWithTerms;
using testing::HandleReady;
using testing::MakeConfChange;
using testing::MakeHardState;
using testing::MakeSolo;
using testing::Msg;
using testing::MustCreate;
using testing::Network;
using testing::Solo;
using testing::TestConfig;

TEST(RawNode, ConfigValidation) {
  MemoryStorage st;
  struct Case {
    std::function<void(Config&)> mutate;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {[](Config& x) { x.id = 0; }, "cannot use none as id"},
           {[](Config& x) { x.heartbeat_tick = 0; }, "heartbeat tick must be greater than 0"},
           {[](Config& x) { x.election_tick = 1; },
            "election tick must be greater than heartbeat tick"},
           {[](Config& x) { x.storage = nullptr; }, "storage cannot be nil"},
           {[](Config& x) { x.max_inflight_msgs = 0; },
            "max inflight messages must be greater than 0"}}) {
    Config cfg = TestConfig(1, &st);
    c.mutate(cfg);
    auto r = RawNode::Create(cfg);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.message);
  }
}

TEST(RawNode, CreateRejectsCommitBeyondTheLog) {
  MemoryStorage st;
  ASSERT_TRUE(st.SetHardState(MakeHardState(1, 0, 5)).ok());
  EXPECT_EQ(RawNode::Create(TestConfig(1, &st)).status().code(), Code::kInvalidArgument);
}

TEST(RawNode, BootstrapSingleMemberBecomesLeaderAndCommitsAtOnce) {
  MemoryStorage st;
  auto node = MustCreate(TestConfig(1, &st));
  ASSERT_TRUE(node->Bootstrap({1}).ok());
  ASSERT_TRUE(node->HasReady());
  Ready rd = node->GetReady();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->term(), 1u);
  EXPECT_EQ(rd.hard_state->commit(), 1u);
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_EQ(rd.entries[0].type(), raftpb::ENTRY_CONF_CHANGE);
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_TRUE(rd.must_sync);
  ASSERT_TRUE(st.SetHardState(*rd.hard_state).ok());
  ASSERT_TRUE(st.Append(rd.entries).ok());
  raftpb::ConfChange cc;
  ASSERT_TRUE(cc.ParseFromString(rd.committed_entries[0].data()));
  EXPECT_EQ(cc.type(), raftpb::CONF_CHANGE_ADD_NODE);
  EXPECT_EQ(cc.node_id(), 1u);
  raftpb::ConfState cs = node->ApplyConfChange(cc);
  ASSERT_EQ(cs.voters_size(), 1);
  EXPECT_EQ(cs.voters(0), 1u);
  node->Advance(rd);
  EXPECT_FALSE(node->HasReady());

  ASSERT_TRUE(node->Campaign().ok());
  rd = HandleReady(node.get(), &st);
  ASSERT_TRUE(rd.soft_state.has_value());
  EXPECT_EQ(rd.soft_state->state, StateType::kLeader);
  EXPECT_EQ(rd.soft_state->lead, 1u);
  EXPECT_EQ(rd.hard_state->term(), 2u);
  EXPECT_EQ(rd.hard_state->vote(), 1u);
  EXPECT_TRUE(rd.messages.empty());

  ASSERT_TRUE(node->Propose("hello").ok());
  rd = HandleReady(node.get(), &st);
  ASSERT_EQ(rd.entries.size(), 1u);
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries[0].data(), "hello");
  EXPECT_EQ(node->GetStatus().commit, 3u);
  EXPECT_EQ(node->GetStatus().applied, 3u);
}

// The server's first steps on a new single-member group: Bootstrap, then
// Campaign before handling any Ready; one Ready carries it all.
TEST(RawNode, CampaignRightAfterBootstrap) {
  MemoryStorage st;
  auto node = MustCreate(TestConfig(1, &st));
  ASSERT_TRUE(node->Bootstrap({1}).ok());
  ASSERT_TRUE(node->Campaign().ok());
  Ready rd = HandleReady(node.get(), &st);
  EXPECT_EQ(rd.entries.size(), 2u);
  EXPECT_EQ(rd.committed_entries.size(), 2u);
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->term(), 2u);
  EXPECT_EQ(rd.hard_state->vote(), 1u);
  EXPECT_EQ(rd.hard_state->commit(), 2u);
  EXPECT_TRUE(rd.must_sync);
  EXPECT_EQ(node->GetStatus().state, StateType::kLeader);
  EXPECT_FALSE(node->HasReady());
}

TEST(RawNode, SingleMemberElectsItselfOnElectionTimeout) {
  Network net(1);
  net.TickN(20);
  EXPECT_EQ(net.status(1).state, StateType::kLeader);
}

TEST(RawNode, BootstrapErrors) {
  MemoryStorage st;
  auto node = MustCreate(TestConfig(1, &st));
  EXPECT_EQ(node->Bootstrap({}).code(), Code::kInvalidArgument);
  EXPECT_EQ(node->Bootstrap({1, 1}).code(), Code::kInvalidArgument);
  EXPECT_EQ(node->Bootstrap({0}).code(), Code::kInvalidArgument);
  ASSERT_TRUE(node->Bootstrap({1, 2}).ok());
  Status again = node->Bootstrap({1, 2});
  EXPECT_EQ(again.code(), Code::kFailedPrecondition);
  EXPECT_EQ(again.message(), "can't bootstrap a nonempty Storage");
  HandleReady(node.get(), &st);
  auto restarted = MustCreate(TestConfig(1, &st));
  EXPECT_EQ(restarted->Bootstrap({1}).code(), Code::kFailedPrecondition);
}

// The bootstrap entries carry the application's context per voter (etcd
// puts the member's attributes there).
TEST(RawNode, BootstrapCarriesContexts) {
  MemoryStorage st;
  auto node = MustCreate(TestConfig(1, &st));
  EXPECT_EQ(node->Bootstrap({1, 2}, {"a"}).code(), Code::kInvalidArgument);
  ASSERT_TRUE(node->Bootstrap({1, 2}, {"member-1", "member-2"}).ok());
  Ready rd = HandleReady(node.get(), &st);
  ASSERT_EQ(rd.committed_entries.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    raftpb::ConfChange cc;
    ASSERT_TRUE(cc.ParseFromString(rd.committed_entries[i].data()));
    EXPECT_EQ(cc.node_id(), static_cast<uint64_t>(i + 1));
    EXPECT_EQ(cc.context(), "member-" + std::to_string(i + 1));
  }
}

// Restart from persisted storage: committed entries come back in
// committed_entries (after Config::applied), so the application replays the
// configuration changes; until it does, the member cannot campaign.
TEST(RawNode, RestartRedeliversCommittedEntries) {
  MemoryStorage st;
  {
    auto node = MustCreate(TestConfig(1, &st));
    ASSERT_TRUE(node->Bootstrap({1}).ok());
    HandleReady(node.get(), &st);
    ASSERT_TRUE(node->Campaign().ok());
    HandleReady(node.get(), &st);
    ASSERT_TRUE(node->Propose("a").ok());
    ASSERT_TRUE(node->Propose("b").ok());
    HandleReady(node.get(), &st);
  }
  auto node = MustCreate(TestConfig(1, &st));
  EXPECT_EQ(node->GetStatus().term, 2u);
  EXPECT_EQ(node->GetStatus().commit, 4u);
  ASSERT_TRUE(node->Campaign().ok());  // no configuration yet: a no-op
  EXPECT_EQ(node->GetStatus().state, StateType::kFollower);
  Ready rd = HandleReady(node.get(), &st);  // applies the conf change again
  EXPECT_TRUE(rd.entries.empty());
  EXPECT_FALSE(rd.hard_state.has_value());
  ASSERT_EQ(rd.committed_entries.size(), 4u);
  EXPECT_EQ(rd.committed_entries[0].type(), raftpb::ENTRY_CONF_CHANGE);
  EXPECT_EQ(rd.committed_entries[3].data(), "b");
  ASSERT_TRUE(node->Campaign().ok());
  EXPECT_EQ(node->GetStatus().state, StateType::kLeader);
  EXPECT_EQ(node->GetStatus().term, 3u);

  Config c = TestConfig(1, &st);
  c.applied = 3;
  auto skipping = MustCreate(c);
  rd = skipping->GetReady();
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries[0].data(), "b");
}

TEST(RawNode, StepRejectsLocalMessagesAndUnknownPeers) {
  Solo s = MakeSolo(1, {1, 2, 3});
  for (auto type : {raftpb::MSG_HUP, raftpb::MSG_BEAT, raftpb::MSG_UNREACHABLE,
                    raftpb::MSG_SNAP_STATUS, raftpb::MSG_CHECK_QUORUM}) {
    Status st = s.Step({.type = type, .from = 2, .to = 1});
    EXPECT_EQ(st.code(), Code::kInvalidArgument);
    EXPECT_EQ(st.message(), "raft: cannot step raft local message");
  }
  Status st = s.Step({.type = raftpb::MSG_APP_RESP, .from = 9, .to = 1, .term = 1});
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_EQ(st.message(), "raft: cannot step as peer not found");
  EXPECT_EQ(s.status().state, StateType::kFollower);
}

TEST(RawNode, MustSyncOnlyForTermVoteOrEntries) {
  Solo s = MakeSolo(2, {1, 2}, EntriesWithTerms(2, {1}), MakeHardState(1, 0, 1));
  s.Receive({.type = raftpb::MSG_HEARTBEAT, .from = 1, .to = 2, .term = 1, .commit = 2});
  Ready rd = HandleReady(s.node.get(), s.storage.get());
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->commit(), 2u);
  EXPECT_FALSE(rd.must_sync);
  EXPECT_EQ(rd.committed_entries.size(), 1u);
  ASSERT_TRUE(rd.soft_state.has_value());  // learned the leader
  EXPECT_EQ(rd.soft_state->lead, 1u);

  s.Receive({.type = raftpb::MSG_APP,
             .from = 1,
             .to = 2,
             .term = 1,
             .log_term = 1,
             .index = 2,
             .entries = EntriesWithTerms(3, {1})});
  rd = HandleReady(s.node.get(), s.storage.get());
  EXPECT_TRUE(rd.must_sync);
  EXPECT_FALSE(rd.hard_state.has_value());
  EXPECT_FALSE(rd.soft_state.has_value());
  EXPECT_FALSE(s.node->HasReady());
}

TEST(RawNode, OnlyOneConfChangePendingAtATime) {
  Network net(1);
  net.Campaign(1);
  RawNode& node = net.node(1);
  ASSERT_TRUE(node.ProposeConfChange(MakeConfChange(raftpb::CONF_CHANGE_UPDATE_NODE, 1)).ok());
  ASSERT_TRUE(node.ProposeConfChange(MakeConfChange(raftpb::CONF_CHANGE_UPDATE_NODE, 1)).ok());
  Ready rd = HandleReady(&node, net.member(1).storage.get());
  ASSERT_EQ(rd.entries.size(), 2u);
  EXPECT_EQ(rd.entries[0].type(), raftpb::ENTRY_CONF_CHANGE);
  EXPECT_EQ(rd.entries[1].type(), raftpb::ENTRY_NORMAL);  // refused: replaced
  EXPECT_TRUE(rd.entries[1].data().empty());
  // Applied now: the next one is accepted.
  ASSERT_TRUE(node.ProposeConfChange(MakeConfChange(raftpb::CONF_CHANGE_UPDATE_NODE, 1)).ok());
  rd = HandleReady(&node, net.member(1).storage.get());
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_EQ(rd.entries[0].type(), raftpb::ENTRY_CONF_CHANGE);
}

TEST(RawNode, RemovingMembersShrinksTheQuorum) {
  Network net(3);
  net.Campaign(1);
  net.Isolate(2);
  net.Isolate(3);
  const uint64_t before = net.status(1).commit;
  ASSERT_TRUE(net.Propose(1, "x").ok());
  EXPECT_EQ(net.status(1).commit, before);
  net.node(1).ApplyConfChange(MakeConfChange(raftpb::CONF_CHANGE_REMOVE_NODE, 2));
  raftpb::ConfState cs =
      net.node(1).ApplyConfChange(MakeConfChange(raftpb::CONF_CHANGE_REMOVE_NODE, 3));
  ASSERT_EQ(cs.voters_size(), 1);
  EXPECT_EQ(net.status(1).commit, before + 1);
  // Removing an absent member, or node 0, changes nothing.
  cs = net.node(1).ApplyConfChange(MakeConfChange(raftpb::CONF_CHANGE_REMOVE_NODE, 7));
  cs = net.node(1).ApplyConfChange(MakeConfChange(raftpb::CONF_CHANGE_ADD_NODE, 0));
  EXPECT_EQ(cs.voters_size(), 1);
}

// A member added by a committed ConfChange starts empty and receives the whole
// log (including the bootstrap configuration) from the leader; then it votes
// and can be elected.
TEST(RawNode, MemberAddedThroughConfChangeCatchesUp) {
  Network net(3);
  net.Campaign(1);
  ASSERT_TRUE(net.Propose(1, "before").ok());
  net.AddMember(4);
  ASSERT_TRUE(net.node(1).ProposeConfChange(MakeConfChange(raftpb::CONF_CHANGE_ADD_NODE, 4)).ok());
  net.Stabilize();
  net.TickN(2);
  EXPECT_EQ(net.status(4).commit, net.status(1).commit);
  EXPECT_EQ(net.member(4).applied.size(), net.member(1).applied.size());
  net.Isolate(1);
  net.Isolate(2);
  net.TickN(30);  // 3 and 4 are not a quorum of 4
  EXPECT_NE(net.status(3).state, StateType::kLeader);
  EXPECT_NE(net.status(4).state, StateType::kLeader);
  net.Recover();
  net.Isolate(1);
  net.TickN(60);
  const uint64_t leader = net.Leader();
  EXPECT_TRUE(leader == 2 || leader == 3 || leader == 4) << leader;
}

TEST(RawNode, StatusAndInvariants) {
  Network net(3);
  net.Campaign(2);
  BasicStatus s = net.status(2);
  EXPECT_EQ(s.id, 2u);
  EXPECT_EQ(s.state, StateType::kLeader);
  EXPECT_EQ(s.lead, 2u);
  EXPECT_EQ(s.vote, 2u);
  EXPECT_EQ(s.term, 2u);
  EXPECT_EQ(s.commit, 4u);
  EXPECT_EQ(s.applied, 4u);
  EXPECT_TRUE(net.node(2).VerifyInvariants().ok());
  EXPECT_EQ(StateTypeName(s.state), "StateLeader");
}

TEST(RawNode, LogsRoleChangesWhenGivenALogger) {
  auto logger = Logger::Stderr(LogLevel::kError);
  Network net(3, [&](Config& c) { c.logger = logger.get(); });
  net.Campaign(1);
  EXPECT_EQ(net.status(1).state, StateType::kLeader);
}

}  // namespace
}  // namespace etcdd::raft
