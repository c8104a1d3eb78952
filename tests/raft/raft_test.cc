// Behaviour beyond the paper's core rules, as etcd's raft implements it:
// PreVote, CheckQuorum, ReadIndex, proposal forwarding, flow control.
#include <gtest/gtest.h>

#include "test_util.h"

namespace etcdd::raft {
namespace {

using testing::EntriesWithTerms;
using testing::Filter;
using testing::MakeHardState;
using testing::MakeSolo;
using testing::Msg;
using testing::Network;
using testing::Solo;

std::vector<ReadState> ReadStates(const std::vector<Ready>& readies) {
  std::vector<ReadState> out;
  for (const Ready& rd : readies)
    out.insert(out.end(), rd.read_states.begin(), rd.read_states.end());
  return out;
}

// §9.6 of the Raft thesis: a member partitioned away keeps pre-campaigning
// without raising its term, so when it rejoins the leader is undisturbed.
TEST(PreVote, PreVoteDoesNotDisruptLeader) {
  Network net(3);
  net.Campaign(1);
  const uint64_t term = net.status(1).term;
  net.Isolate(3);
  net.TickN(50);
  EXPECT_EQ(net.status(3).term, term);  // pre-elections never bump the term
  EXPECT_EQ(net.status(3).state, StateType::kPreCandidate);
  net.Recover();
  net.TickN(5);
  EXPECT_EQ(net.status(1).state, StateType::kLeader);
  EXPECT_EQ(net.status(1).term, term);
  EXPECT_EQ(net.status(3).state, StateType::kFollower);
  EXPECT_EQ(net.status(3).lead, 1u);
}

// The contrast: without PreVote (and CheckQuorum) the rejoining member's higher
// term deposes the leader.
TEST(PreVote, WithoutPreVoteRejoiningMemberDisruptsLeader) {
  Network net(3, [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  net.Campaign(1);
  const uint64_t term = net.status(1).term;
  net.Isolate(3);
  net.TickN(25, 3);
  EXPECT_GT(net.status(3).term, term);
  net.Recover();
  net.TickN(25);
  EXPECT_GT(net.status(1).term, term);
}

TEST(PreVote, PreCandidateLosingPreVoteKeepsItsTerm) {
  Solo s = MakeSolo(1, {1, 2, 3});
  ASSERT_TRUE(s.node->Campaign().ok());
  EXPECT_EQ(s.status().state, StateType::kPreCandidate);
  EXPECT_EQ(s.status().term, 1u);
  auto pre = Filter(s.Drain(), raftpb::MSG_PRE_VOTE);
  ASSERT_EQ(pre.size(), 2u);
  EXPECT_EQ(pre[0].term(), 2u);  // asks about the next term
  for (uint64_t from : {2, 3}) {
    s.Receive(
        {.type = raftpb::MSG_PRE_VOTE_RESP, .from = from, .to = 1, .term = 1, .reject = true});
  }
  EXPECT_EQ(s.status().state, StateType::kFollower);
  EXPECT_EQ(s.status().term, 1u);
}

// CheckQuorum: a leader that has not heard from a quorum for an election
// timeout steps down.
TEST(CheckQuorum, CheckQuorumLeaderStepsDown) {
  Network net(3);
  net.Campaign(1);
  net.Isolate(1);
  // The first CheckQuorum round still counts the election's responses.
  net.TickN(21, 1);
  EXPECT_EQ(net.status(1).state, StateType::kFollower);
  EXPECT_EQ(net.status(1).lead, 0u);
}

TEST(CheckQuorum, LeaderWithActiveQuorumStays) {
  Network net(3);
  net.Campaign(1);
  net.Isolate(3);
  net.TickN(50, 1);
  EXPECT_EQ(net.status(1).state, StateType::kLeader);
}

// With CheckQuorum, a follower that heard from the leader within the election
// timeout ignores vote requests (leader lease, thesis §4.2.3).
TEST(CheckQuorum, FollowerInLeaseIgnoresVoteRequests) {
  Solo s = MakeSolo(2, {1, 2, 3}, {}, {}, [](Config& c) { c.pre_vote = false; });
  s.Receive({.type = raftpb::MSG_HEARTBEAT, .from = 1, .to = 2, .term = 2});
  s.Drain();
  s.Receive({.type = raftpb::MSG_VOTE, .from = 3, .to = 2, .term = 3, .log_term = 5, .index = 5});
  EXPECT_TRUE(s.Drain().empty());
  EXPECT_EQ(s.status().term, 2u);
  // Once the lease has expired, the vote is considered.
  for (int i = 0; i < 10; ++i) s.node->Tick();
  s.Receive({.type = raftpb::MSG_VOTE, .from = 3, .to = 2, .term = 3, .log_term = 5, .index = 5});
  EXPECT_EQ(s.status().term, 3u);
  EXPECT_EQ(s.status().vote, 3u);
}

// A member whose term rose while it was partitioned answers the stale leader's
// appends with its term; the stale leader steps down and a new election
// brings the member back.
TEST(CheckQuorum, StaleLeaderStepsDownOnHigherTermResponse) {
  Network net(3, [](Config& c) { c.pre_vote = false; });
  net.Campaign(1);
  net.Isolate(3);
  net.TickN(25, 3);  // 3 campaigns alone, raising its term
  const uint64_t high = net.status(3).term;
  ASSERT_GT(high, net.status(1).term);
  net.Recover();
  net.Tick(1);  // a heartbeat reaches 3, which answers with its term
  EXPECT_EQ(net.status(1).state, StateType::kFollower);
  EXPECT_GE(net.status(1).term, high);
  net.TickN(50);
  EXPECT_NE(net.Leader(), 0u);
}

// ReadIndex on a one-member group: answered at once with the commit index.
TEST(ReadIndex, SingleMemberAnswersAtOnce) {
  Network net(1);
  net.Campaign(1);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.node(1).ReadIndex("ctx-1");
  net.Stabilize();
  ASSERT_EQ(net.member(1).read_states.size(), 1u);
  EXPECT_EQ(net.member(1).read_states[0].request_ctx, "ctx-1");
  EXPECT_EQ(net.member(1).read_states[0].index, net.status(1).commit);
}

// ReadOnlySafe: the leader answers only after a heartbeat quorum confirms it is
// still the leader.
TEST(ReadIndex, LeaderWaitsForHeartbeatQuorum) {
  Solo s = MakeSolo(1, {1, 2, 3}, {}, {}, [](Config& c) { c.pre_vote = false; });
  ASSERT_TRUE(s.node->Campaign().ok());
  s.Drain();
  s.Receive({.type = raftpb::MSG_VOTE_RESP, .from = 2, .to = 1, .term = 2});
  s.Drain();
  s.Receive({.type = raftpb::MSG_APP_RESP, .from = 2, .to = 1, .term = 2, .index = 2});
  ASSERT_EQ(s.status().commit, 2u);  // an entry of the leader's term is committed
  s.Drain();
  s.node->ReadIndex("r1");
  auto hbs = Filter(s.Drain(), raftpb::MSG_HEARTBEAT);
  ASSERT_EQ(hbs.size(), 2u);
  EXPECT_EQ(hbs[0].context(), "r1");
  EXPECT_FALSE(s.node->HasReady());
  s.Receive({.type = raftpb::MSG_HEARTBEAT_RESP, .from = 3, .to = 1, .term = 2, .context = "r1"});
  auto rs = ReadStates(s.DrainReadies());
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].index, 2u);
  EXPECT_EQ(rs[0].request_ctx, "r1");
}

// A new leader's commit index may lag; reads wait until it commits an entry of
// its own term (thesis §6.4).
TEST(ReadIndex, NewLeaderWaitsForCommitInItsTerm) {
  Solo s = MakeSolo(1, {1, 2, 3}, {}, {}, [](Config& c) { c.pre_vote = false; });
  ASSERT_TRUE(s.node->Campaign().ok());
  s.Receive({.type = raftpb::MSG_VOTE_RESP, .from = 2, .to = 1, .term = 2});
  s.Drain();
  s.node->ReadIndex("early");
  EXPECT_TRUE(Filter(s.Drain(), raftpb::MSG_HEARTBEAT).empty());
  s.Receive({.type = raftpb::MSG_APP_RESP, .from = 2, .to = 1, .term = 2, .index = 2});
  auto hbs = Filter(s.Drain(), raftpb::MSG_HEARTBEAT);
  ASSERT_FALSE(hbs.empty());
  EXPECT_EQ(hbs[0].context(), "early");
  s.Receive(
      {.type = raftpb::MSG_HEARTBEAT_RESP, .from = 2, .to = 1, .term = 2, .context = "early"});
  auto rs = ReadStates(s.DrainReadies());
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].index, 2u);
}

TEST(ReadIndex, MultiMemberFromLeaderAndFollower) {
  Network net(3);
  net.Campaign(1);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  const uint64_t commit = net.status(1).commit;
  net.node(1).ReadIndex("on-leader");
  net.node(2).ReadIndex("on-follower");  // forwarded to the leader
  net.Stabilize();
  ASSERT_EQ(net.member(1).read_states.size(), 1u);
  EXPECT_EQ(net.member(1).read_states[0].index, commit);
  ASSERT_EQ(net.member(2).read_states.size(), 1u);
  EXPECT_EQ(net.member(2).read_states[0].request_ctx, "on-follower");
  EXPECT_EQ(net.member(2).read_states[0].index, commit);
}

TEST(ReadIndex, DroppedWithoutLeader) {
  Network net(3);
  net.node(2).ReadIndex("nobody");
  net.Stabilize();
  EXPECT_TRUE(net.member(2).read_states.empty());
  EXPECT_TRUE(Filter(net.sent(), raftpb::MSG_READ_INDEX).empty());
}

TEST(Proposal, ForwardedFromFollowerToLeader) {
  Network net(3);
  net.Campaign(1);
  ASSERT_TRUE(net.Propose(3, "from-3").ok());
  auto props = Filter(net.sent(), raftpb::MSG_PROP);
  ASSERT_EQ(props.size(), 1u);
  EXPECT_EQ(props[0].to(), 1u);
  for (uint64_t id : net.ids()) {
    ASSERT_FALSE(net.member(id).applied.empty());
    EXPECT_EQ(net.member(id).applied.back().data(), "from-3");
  }
}

TEST(Proposal, DroppedWithoutLeader) {
  Network net(3);
  Status s = net.node(2).Propose("lost");
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_EQ(s.message(), "raft proposal dropped");
  // A (pre-)candidate knows no leader either.
  Solo c = MakeSolo(1, {1, 2, 3});
  ASSERT_TRUE(c.node->Campaign().ok());
  EXPECT_EQ(c.node->Propose("lost").code(), Code::kUnavailable);
}

// Flow control: in replicate state at most max_inflight_msgs appends are
// unacknowledged at any time.
TEST(FlowControl, InflightLimit) {
  Solo s = MakeSolo(1, {1, 2}, {}, {}, [](Config& c) {
    c.pre_vote = false;
    c.max_inflight_msgs = 3;
  });
  ASSERT_TRUE(s.node->Campaign().ok());
  s.Receive({.type = raftpb::MSG_VOTE_RESP, .from = 2, .to = 1, .term = 2});
  s.Drain();
  s.Receive({.type = raftpb::MSG_APP_RESP,
             .from = 2,
             .to = 1,
             .term = 2,
             .index = 2});  // probe answered: replicate
  s.Drain();
  int sent = 0;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(s.node->Propose("p" + std::to_string(i)).ok());
    sent += Filter(s.Drain(), raftpb::MSG_APP).size();
  }
  EXPECT_EQ(sent, 3);
  // Acknowledging the first frees one slot...
  s.Receive({.type = raftpb::MSG_APP_RESP, .from = 2, .to = 1, .term = 2, .index = 3});
  auto apps = Filter(s.Drain(), raftpb::MSG_APP);
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0].entries_size(), 7);  // everything not yet sent, in one message
  // ...and a heartbeat response frees one of a full window.
  ASSERT_TRUE(s.node->Propose("more").ok());
  EXPECT_TRUE(Filter(s.Drain(), raftpb::MSG_APP).empty());
  s.Receive({.type = raftpb::MSG_HEARTBEAT_RESP, .from = 2, .to = 1, .term = 2});
  EXPECT_EQ(Filter(s.Drain(), raftpb::MSG_APP).size(), 1u);
}

TEST(FlowControl, ProbeSendsOneAppendUntilAnswered) {
  Solo s = MakeSolo(1, {1, 2}, {}, {}, [](Config& c) { c.pre_vote = false; });
  ASSERT_TRUE(s.node->Campaign().ok());
  s.Receive({.type = raftpb::MSG_VOTE_RESP, .from = 2, .to = 1, .term = 2});
  EXPECT_EQ(Filter(s.Drain(), raftpb::MSG_APP).size(), 1u);
  ASSERT_TRUE(s.node->Propose("a").ok());
  ASSERT_TRUE(s.node->Propose("b").ok());
  EXPECT_TRUE(Filter(s.Drain(), raftpb::MSG_APP).empty());
}

TEST(FlowControl, MaxSizePerMsgLimitsEntriesPerAppend) {
  const std::string big(100, 'x');
  Solo s = MakeSolo(1, {1, 2}, {}, {}, [&](Config& c) {
    c.pre_vote = false;
    c.max_size_per_msg = 250;  // two entries of ~105 bytes
  });
  ASSERT_TRUE(s.node->Campaign().ok());
  s.Receive({.type = raftpb::MSG_VOTE_RESP, .from = 2, .to = 1, .term = 2});
  s.Drain();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(s.node->Propose(big).ok());
  s.Drain();
  s.Receive({.type = raftpb::MSG_APP_RESP, .from = 2, .to = 1, .term = 2, .index = 2});
  auto apps = Filter(s.Drain(), raftpb::MSG_APP);
  ASSERT_EQ(apps.size(), 3u);
  EXPECT_EQ(apps[0].entries_size(), 2);
  EXPECT_EQ(apps[2].entries_size(), 1);
}

TEST(FlowControl, ReportUnreachableFallsBackToProbe) {
  Solo s = MakeSolo(1, {1, 2}, {}, {}, [](Config& c) { c.pre_vote = false; });
  ASSERT_TRUE(s.node->Campaign().ok());
  s.Receive({.type = raftpb::MSG_VOTE_RESP, .from = 2, .to = 1, .term = 2});
  s.Drain();
  s.Receive({.type = raftpb::MSG_APP_RESP, .from = 2, .to = 1, .term = 2, .index = 2});
  s.Drain();
  ASSERT_TRUE(s.node->Propose("a").ok());
  EXPECT_EQ(Filter(s.Drain(), raftpb::MSG_APP).size(), 1u);
  s.node->ReportUnreachable(2);
  // Probing: the next append resends from after the match and then waits.
  ASSERT_TRUE(s.node->Propose("b").ok());
  auto apps = Filter(s.Drain(), raftpb::MSG_APP);
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0].index(), 2u);
  EXPECT_EQ(apps[0].entries_size(), 2);
  ASSERT_TRUE(s.node->Propose("c").ok());
  EXPECT_TRUE(Filter(s.Drain(), raftpb::MSG_APP).empty());
}

// Config::defer_commit_announcement: a leader of {1,2,3} in replicate state
// with both followers, having committed index 2 (its empty entry).
Solo DeferringLeader(bool defer) {
  Solo s = MakeSolo(1, {1, 2, 3}, {}, {}, [defer](Config& c) {
    c.pre_vote = false;
    c.defer_commit_announcement = defer;
  });
  EXPECT_TRUE(s.node->Campaign().ok());
  s.Receive({.type = raftpb::MSG_VOTE_RESP, .from = 2, .to = 1, .term = 2});
  s.Drain();
  for (uint64_t f : {2, 3}) {
    s.Receive({.type = raftpb::MSG_APP_RESP, .from = f, .to = 1, .term = 2, .index = 2});
  }
  s.Drain();
  s.node->AnnounceCommit();
  s.Drain();
  EXPECT_EQ(s.status().commit, 2u);
  return s;
}

std::vector<uint64_t> AppendTargets(const std::vector<raftpb::Message>& msgs, uint64_t commit) {
  std::vector<uint64_t> to;
  for (const auto& m : Filter(msgs, raftpb::MSG_APP)) {
    if (m.commit() == commit) to.push_back(m.to());
  }
  return to;
}

TEST(CommitAnnouncement, EtcdAnnouncesEveryCommitAtOnce) {
  Solo s = DeferringLeader(false);
  ASSERT_TRUE(s.node->Propose("a").ok());
  s.Drain();
  s.Receive({.type = raftpb::MSG_APP_RESP, .from = 2, .to = 1, .term = 2, .index = 3});
  EXPECT_EQ(AppendTargets(s.Drain(), 3), (std::vector<uint64_t>{2, 3}));
  EXPECT_FALSE(s.node->CommitUnannounced());
}

TEST(CommitAnnouncement, DeferredToTheNextProposalOrAnnounceCommit) {
  Solo s = DeferringLeader(true);
  ASSERT_TRUE(s.node->Propose("a").ok());
  s.Drain();
  s.Receive({.type = raftpb::MSG_APP_RESP, .from = 2, .to = 1, .term = 2, .index = 3});
  EXPECT_TRUE(Filter(s.Drain(), raftpb::MSG_APP).empty());
  EXPECT_EQ(s.status().commit, 3u);
  EXPECT_TRUE(s.node->CommitUnannounced());
  // The next proposal's appends carry the commit index.
  ASSERT_TRUE(s.node->Propose("b").ok());
  EXPECT_EQ(AppendTargets(s.Drain(), 3), (std::vector<uint64_t>{2, 3}));
  EXPECT_FALSE(s.node->CommitUnannounced());
  // Without one, AnnounceCommit sends appends of no entries.
  s.Receive({.type = raftpb::MSG_APP_RESP, .from = 3, .to = 1, .term = 2, .index = 4});
  EXPECT_TRUE(Filter(s.Drain(), raftpb::MSG_APP).empty());
  ASSERT_TRUE(s.node->CommitUnannounced());
  s.node->AnnounceCommit();
  auto msgs = s.Drain();
  EXPECT_EQ(AppendTargets(msgs, 4), (std::vector<uint64_t>{2, 3}));
  for (const auto& m : Filter(msgs, raftpb::MSG_APP)) EXPECT_EQ(m.entries_size(), 0);
  EXPECT_FALSE(s.node->CommitUnannounced());
  s.node->AnnounceCommit();  // nothing pending: nothing sent
  EXPECT_TRUE(Filter(s.Drain(), raftpb::MSG_APP).empty());
}

TEST(CommitAnnouncement, ForwardedProposalsAreAnnouncedAtOnce) {
  Solo s = DeferringLeader(true);
  raftpb::Entry e;
  e.set_data("from-3");
  s.Receive({.type = raftpb::MSG_PROP, .from = 3, .to = 1, .term = 2, .entries = {e}});
  s.Drain();
  // Follower 3 waits for its proposal to apply before it answers its client.
  s.Receive({.type = raftpb::MSG_APP_RESP, .from = 2, .to = 1, .term = 2, .index = 3});
  EXPECT_EQ(AppendTargets(s.Drain(), 3), (std::vector<uint64_t>{2, 3}));
  EXPECT_FALSE(s.node->CommitUnannounced());
  // The leader's own proposals wait again.
  ASSERT_TRUE(s.node->Propose("a").ok());
  s.Drain();
  s.Receive({.type = raftpb::MSG_APP_RESP, .from = 2, .to = 1, .term = 2, .index = 4});
  EXPECT_TRUE(Filter(s.Drain(), raftpb::MSG_APP).empty());
  EXPECT_TRUE(s.node->CommitUnannounced());
}

}  // namespace
}  // namespace etcdd::raft
