// Tests named after the rules of the Raft paper ("In Search of an
// Understandable Consensus Algorithm", Ongaro & Ousterhout) that they check,
// after etcd's raft_paper_test.go.
#include <gtest/gtest.h>

#include <set>

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
using testing::StoredEntries;

void NoPreVote(Config& c) { c.pre_vote = false; }

// Grants every (pre-)vote request `s` sends until it is leader, then acks the
// leader's first append from every follower (so they stream).
void MakeLeader(Solo& s) {
  ASSERT_TRUE(s.node->Campaign().ok());
  for (int round = 0; round < 4 && s.status().state != StateType::kLeader; ++round) {
    for (const auto& m : s.Drain()) {
      if (m.type() != raftpb::MSG_VOTE && m.type() != raftpb::MSG_PRE_VOTE) continue;
      auto resp = m.type() == raftpb::MSG_VOTE ? raftpb::MSG_VOTE_RESP : raftpb::MSG_PRE_VOTE_RESP;
      s.Receive({.type = resp, .from = m.to(), .to = m.from(), .term = m.term()});
    }
  }
  ASSERT_EQ(s.status().state, StateType::kLeader);
}

void AckAppends(Solo& s, const std::vector<raftpb::Message>& msgs) {
  for (const auto& m : Filter(msgs, raftpb::MSG_APP)) {
    uint64_t last = m.entries_size() ? m.entries(m.entries_size() - 1).index() : m.index();
    s.Receive({.type = raftpb::MSG_APP_RESP,
               .from = m.to(),
               .to = m.from(),
               .term = m.term(),
               .index = last});
  }
}

std::vector<uint64_t> Terms(const std::vector<raftpb::Entry>& ents) {
  std::vector<uint64_t> out;
  for (const auto& e : ents) out.push_back(e.term());
  return out;
}

// §5.1: "If one server's current term is smaller than the other's, then it
// updates its current term to the larger value. If a candidate or leader
// discovers that its term is out of date, it immediately reverts to follower."
TEST(RaftPaper, FollowerUpdatesTermFromHigherTermMessage) {
  Solo s = MakeSolo(1, {1, 2, 3});
  s.Receive({.type = raftpb::MSG_APP, .from = 2, .to = 1, .term = 2, .log_term = 1, .index = 1});
  EXPECT_EQ(s.status().term, 2u);
  EXPECT_EQ(s.status().lead, 2u);
  EXPECT_EQ(s.status().state, StateType::kFollower);
}

TEST(RaftPaper, CandidateRevertsToFollowerOnHigherTerm) {
  Solo s = MakeSolo(1, {1, 2, 3}, {}, {}, NoPreVote);
  ASSERT_TRUE(s.node->Campaign().ok());
  ASSERT_EQ(s.status().state, StateType::kCandidate);
  s.Receive({.type = raftpb::MSG_HEARTBEAT, .from = 3, .to = 1, .term = 5});
  EXPECT_EQ(s.status().state, StateType::kFollower);
  EXPECT_EQ(s.status().term, 5u);
  EXPECT_EQ(s.status().lead, 3u);
}

TEST(RaftPaper, LeaderRevertsToFollowerOnHigherTerm) {
  Solo s = MakeSolo(1, {1, 2, 3}, {}, {}, NoPreVote);
  MakeLeader(s);
  s.Receive({.type = raftpb::MSG_APP, .from = 3, .to = 1, .term = 7, .log_term = 1, .index = 1});
  EXPECT_EQ(s.status().state, StateType::kFollower);
  EXPECT_EQ(s.status().term, 7u);
}

// §5.1: "If a server receives a request with a stale term number, it rejects
// the request."
TEST(RaftPaper, FollowerRejectsStaleTerm) {
  Solo s = MakeSolo(1, {1, 2, 3}, {}, MakeHardState(3, 0, 1), NoPreVote);
  s.Receive({.type = raftpb::MSG_VOTE, .from = 2, .to = 1, .term = 2, .log_term = 9, .index = 9});
  EXPECT_TRUE(Filter(s.Drain(), raftpb::MSG_VOTE_RESP).empty());
  EXPECT_EQ(s.status().vote, 0u);

  // A stale leader's append is not accepted; the answer carries our term so
  // that the stale leader steps down.
  s.Receive({.type = raftpb::MSG_APP,
             .from = 2,
             .to = 1,
             .term = 2,
             .log_term = 1,
             .index = 1,
             .entries = EntriesWithTerms(2, {2})});
  auto resps = Filter(s.Drain(), raftpb::MSG_APP_RESP);
  ASSERT_EQ(resps.size(), 1u);
  EXPECT_EQ(resps[0].term(), 3u);
  EXPECT_EQ(s.storage->LastIndex(), 1u);
  EXPECT_EQ(s.status().lead, 0u);
}

// §5.2: "If a follower receives no communication over a period of time called
// the election timeout, then it assumes there is no viable leader and begins
// an election": it increments its term, votes for itself and requests votes.
TEST(RaftPaper, FollowerStartsElectionAfterElectionTimeout) {
  Solo s = MakeSolo(1, {1, 2, 3}, EntriesWithTerms(2, {1}), {}, NoPreVote);
  for (int i = 0; i < 20; ++i) s.node->Tick();
  EXPECT_EQ(s.status().state, StateType::kCandidate);
  EXPECT_EQ(s.status().term, 2u);
  EXPECT_EQ(s.status().vote, 1u);
  auto votes = Filter(s.Drain(), raftpb::MSG_VOTE);
  ASSERT_EQ(votes.size(), 2u);
  for (const auto& m : votes) {
    EXPECT_EQ(m.term(), 2u);
    EXPECT_EQ(m.index(), 2u);
    EXPECT_EQ(m.log_term(), 1u);
  }
  EXPECT_EQ(votes[0].to(), 2u);
  EXPECT_EQ(votes[1].to(), 3u);
}

// §5.2: "each candidate restarts its randomized election timeout at the start
// of an election, and it waits for that timeout to elapse before starting the
// next election".
TEST(RaftPaper, CandidateStartsNewElectionAfterSplitVote) {
  Solo s = MakeSolo(1, {1, 2, 3}, {}, {}, NoPreVote);
  ASSERT_TRUE(s.node->Campaign().ok());
  ASSERT_EQ(s.status().term, 2u);
  for (int i = 0; i < 20; ++i) s.node->Tick();
  EXPECT_EQ(s.status().state, StateType::kCandidate);
  EXPECT_EQ(s.status().term, 3u);
}

// §5.2: "Raft uses randomized election timeouts ... chosen randomly from a
// fixed interval"; ours is [election_tick, 2*election_tick), seeded.
TEST(RaftPaper, ElectionTimeoutIsRandomized) {
  std::set<int> timeouts;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Solo s = MakeSolo(1, {1, 2, 3}, {}, {}, [seed](Config& c) {
      c.pre_vote = false;
      c.random_seed = seed;
    });
    int ticks = 0;
    while (s.status().state == StateType::kFollower && ticks < 100) {
      s.node->Tick();
      ++ticks;
    }
    EXPECT_GE(ticks, 10);
    EXPECT_LT(ticks, 20);
    timeouts.insert(ticks);
  }
  EXPECT_GE(timeouts.size(), 5u);
}

TEST(RaftPaper, SameSeedGivesTheSameTimeout) {
  auto ticks_to_campaign = [] {
    Solo s = MakeSolo(1, {1, 2, 3}, {}, {}, NoPreVote);
    int ticks = 0;
    while (s.status().state == StateType::kFollower) {
      s.node->Tick();
      ++ticks;
    }
    return ticks;
  };
  EXPECT_EQ(ticks_to_campaign(), ticks_to_campaign());
}

// §5.2: "A candidate wins an election if it receives votes from a majority of
// the servers in the full cluster for the same term."
TEST(RaftPaper, LeaderElectionWithMajority) {
  Network net(5, NoPreVote);
  net.Isolate(4);
  net.Isolate(5);
  net.Campaign(1);
  EXPECT_EQ(net.status(1).state, StateType::kLeader);
  EXPECT_EQ(net.status(2).lead, 1u);
}

TEST(RaftPaper, CandidateWithoutMajorityDoesNotWin) {
  Network net(5, NoPreVote);
  net.Isolate(3);
  net.Isolate(4);
  net.Isolate(5);
  net.Campaign(1);
  EXPECT_EQ(net.status(1).state, StateType::kCandidate);
}

// §5.2: "Each server will vote for at most one candidate in a given term, on a
// first-come-first-served basis."
TEST(RaftPaper, VoterGrantsAtMostOneVotePerTerm) {
  Solo s = MakeSolo(1, {1, 2, 3}, {}, {}, NoPreVote);
  auto vote = [&](uint64_t from) {
    EXPECT_TRUE(s.Step({.type = raftpb::MSG_VOTE,
                        .from = from,
                        .to = 1,
                        .term = 2,
                        .log_term = 1,
                        .index = 1})
                    .ok());
    auto resps = Filter(s.Drain(), raftpb::MSG_VOTE_RESP);
    EXPECT_EQ(resps.size(), 1u);
    return !resps.empty() && !resps[0].reject();
  };
  EXPECT_TRUE(vote(2));
  EXPECT_FALSE(vote(3));
  EXPECT_TRUE(vote(2));  // a repeated request gets the same answer
  EXPECT_EQ(s.status().vote, 2u);
}

// §5.2: "If the leader's term is at least as large as the candidate's current
// term, then the candidate recognizes the leader as legitimate and returns to
// follower state."
TEST(RaftPaper, CandidateBecomesFollowerOnAppendFromNewLeader) {
  Solo s = MakeSolo(1, {1, 2, 3}, {}, {}, NoPreVote);
  ASSERT_TRUE(s.node->Campaign().ok());
  s.Receive({.type = raftpb::MSG_APP, .from = 2, .to = 1, .term = 2, .log_term = 1, .index = 1});
  EXPECT_EQ(s.status().state, StateType::kFollower);
  EXPECT_EQ(s.status().lead, 2u);
}

// §5.4.1: "the voter denies its vote if its own log is more up-to-date than
// that of the candidate": a later last term wins, then a longer log.
TEST(RaftPaper, VoterRejectsCandidateWithStaleLog) {
  struct Case {
    uint64_t index, log_term;
    bool granted;
  };
  // The voter's log ends at 3@2.
  for (const Case& c : {Case{3, 2, true}, Case{4, 2, true}, Case{2, 2, false}, Case{1, 3, true},
                        Case{9, 1, false}}) {
    SCOPED_TRACE("candidate last " + std::to_string(c.index) + "@" + std::to_string(c.log_term));
    Solo s = MakeSolo(1, {1, 2, 3}, EntriesWithTerms(2, {2, 2}), MakeHardState(2, 0, 1), NoPreVote);
    s.Receive({.type = raftpb::MSG_VOTE,
               .from = 2,
               .to = 1,
               .term = 3,
               .log_term = c.log_term,
               .index = c.index});
    auto resps = Filter(s.Drain(), raftpb::MSG_VOTE_RESP);
    ASSERT_EQ(resps.size(), 1u);
    EXPECT_EQ(!resps[0].reject(), c.granted);
  }
}

// §5.2: "Leaders send periodic heartbeats ... to all followers in order to
// maintain their authority."
TEST(RaftPaper, LeaderBroadcastsHeartbeats) {
  Solo s = MakeSolo(1, {1, 2, 3}, {}, {}, NoPreVote);
  MakeLeader(s);
  s.Drain();
  s.node->Tick();
  auto hbs = Filter(s.Drain(), raftpb::MSG_HEARTBEAT);
  ASSERT_EQ(hbs.size(), 2u);
  EXPECT_EQ(hbs[0].to(), 2u);
  EXPECT_EQ(hbs[1].to(), 3u);
}

// The commit index a heartbeat carries is capped at what the follower is
// known to hold: beyond its match the follower's log may differ.
TEST(RaftPaper, HeartbeatCommitIsCappedAtFollowerMatch) {
  Solo s = MakeSolo(1, {1, 2, 3}, {}, {}, NoPreVote);
  MakeLeader(s);
  auto apps = Filter(s.Drain(), raftpb::MSG_APP);
  AckAppends(s, {apps[0]});  // only member 2 answers
  ASSERT_EQ(s.status().commit, 2u);
  s.Drain();
  s.node->Tick();
  auto hbs = Filter(s.Drain(), raftpb::MSG_HEARTBEAT);
  ASSERT_EQ(hbs.size(), 2u);
  EXPECT_EQ(hbs[0].commit(), 2u);
  EXPECT_EQ(hbs[1].commit(), 0u);
}

// §5.3: "The leader appends the command to its log as a new entry, then issues
// AppendEntries RPCs in parallel to each of the other servers"; "When the
// entry has been safely replicated [on a majority], the leader applies the
// entry to its state machine."
TEST(RaftPaper, LeaderCommitsEntryReplicatedOnMajority) {
  Solo s = MakeSolo(1, {1, 2, 3, 4, 5}, {}, {}, NoPreVote);
  MakeLeader(s);
  AckAppends(s, s.Drain());
  s.Drain();  // the commit broadcast for the leader's empty entry
  ASSERT_TRUE(s.node->Propose("x").ok());
  auto apps = Filter(s.Drain(), raftpb::MSG_APP);
  ASSERT_EQ(apps.size(), 4u);
  for (const auto& m : apps) {
    ASSERT_EQ(m.entries_size(), 1);
    EXPECT_EQ(m.entries(0).data(), "x");
  }
  AckAppends(s, {apps[0]});
  EXPECT_EQ(s.status().commit, 2u);  // one follower + leader: not a majority of 5
  AckAppends(s, {apps[1]});
  EXPECT_EQ(s.status().commit, 3u);
  std::vector<raftpb::Entry> committed;
  for (Ready& rd : s.DrainReadies()) {
    committed.insert(committed.end(), rd.committed_entries.begin(), rd.committed_entries.end());
  }
  ASSERT_FALSE(committed.empty());
  EXPECT_EQ(committed.back().data(), "x");
}

// §5.3: "Once a follower learns that a log entry is committed, it applies the
// entry to its local state machine."
TEST(RaftPaper, FollowerAppliesWhatLeaderCommitted) {
  Solo s = MakeSolo(2, {1, 2, 3});
  s.Receive({.type = raftpb::MSG_APP,
             .from = 1,
             .to = 2,
             .term = 2,
             .log_term = 1,
             .index = 1,
             .commit = 2,
             .entries = EntriesWithTerms(2, {2, 2})});
  auto readies = s.DrainReadies();
  ASSERT_FALSE(readies.empty());
  EXPECT_EQ(readies[0].entries.size(), 2u);
  ASSERT_EQ(readies[0].committed_entries.size(), 1u);
  EXPECT_EQ(readies[0].committed_entries[0].index(), 2u);
}

// §5.3: "If a follower does not find an entry in its log with the same index
// and term, then it refuses the new entries." The rejection carries a hint:
// the last index that can still match.
TEST(RaftPaper, FollowerChecksPreviousEntryBeforeAppending) {
  struct Case {
    uint64_t index, log_term;
    bool reject;
    uint64_t hint, hint_term;
  };
  // The follower's log: 1@1 2@2 3@3.
  for (const Case& c : {Case{3, 3, false, 0, 0}, Case{3, 2, true, 2, 2}, Case{5, 3, true, 3, 3},
                        Case{2, 1, true, 1, 1}}) {
    SCOPED_TRACE("append after " + std::to_string(c.index) + "@" + std::to_string(c.log_term));
    Solo s = MakeSolo(2, {1, 2, 3}, EntriesWithTerms(2, {2, 3}), MakeHardState(3, 0, 1));
    s.Receive({.type = raftpb::MSG_APP,
               .from = 1,
               .to = 2,
               .term = 3,
               .log_term = c.log_term,
               .index = c.index,
               .entries = EntriesWithTerms(c.index + 1, {3})});
    auto resps = Filter(s.Drain(), raftpb::MSG_APP_RESP);
    ASSERT_EQ(resps.size(), 1u);
    EXPECT_EQ(resps[0].reject(), c.reject);
    if (c.reject) {
      EXPECT_EQ(resps[0].index(), c.index);
      EXPECT_EQ(resps[0].reject_hint(), c.hint);
      EXPECT_EQ(resps[0].log_term(), c.hint_term);
    } else {
      EXPECT_EQ(resps[0].index(), c.index + 1);
    }
  }
}

// §5.3 (Figure 7), Log Matching: "the leader handles inconsistencies by
// forcing the followers' logs to duplicate its own"; conflicting suffixes are
// overwritten, missing entries filled in. Rejection hints make the leader skip
// whole terms instead of backing off one entry per round trip.
TEST(RaftPaper, LogMatchingConflictResolution) {
  const std::vector<uint64_t> leader_terms = {1, 1, 4, 4, 5, 5, 6, 6, 6};  // indexes 2..10
  const std::vector<std::vector<uint64_t>> followers = {
      {1, 1, 4, 4, 5, 5, 6, 6},           // (a) missing an entry
      {1, 1, 4},                          // (b) missing many
      {1, 1, 4, 4, 5, 5, 6, 6, 6, 6},     // (c) one extra
      {1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},  // (d) extra entries of a later term
      {1, 1, 4, 4, 4, 4},                 // (e) missing and conflicting
      {1, 1, 2, 2, 2, 3, 3, 3, 3, 3},     // (f) conflicting terms 2 and 3
  };
  for (size_t i = 0; i < followers.size(); ++i) {
    SCOPED_TRACE("figure 7 case " + std::string(1, static_cast<char>('a' + i)));
    std::map<uint64_t, std::unique_ptr<MemoryStorage>> storages;
    storages[1] = testing::StorageWithVoters({1, 2, 3}, EntriesWithTerms(2, leader_terms),
                                             MakeHardState(8, 0, 1));
    storages[2] = testing::StorageWithVoters({1, 2, 3}, EntriesWithTerms(2, followers[i]),
                                             MakeHardState(7, 0, 1));
    storages[3] = testing::StorageWithVoters({1, 2, 3}, {}, MakeHardState(7, 0, 1));
    Network net(std::move(storages));
    net.Campaign(1);
    ASSERT_EQ(net.status(1).state, StateType::kLeader);
    EXPECT_EQ(Terms(StoredEntries(*net.member(2).storage)),
              Terms(StoredEntries(*net.member(1).storage)));
    EXPECT_EQ(net.status(2).commit, net.status(1).commit);
    int rejections = 0;
    for (const auto& m : net.sent()) {
      if (m.type() == raftpb::MSG_APP_RESP && m.from() == 2 && m.reject()) ++rejections;
    }
    EXPECT_LE(rejections, 1);
  }
}

// §5.4.2 (Figure 8): "Raft never commits log entries from previous terms by
// counting replicas. Only log entries from the leader's current term are
// committed by counting replicas; once an entry from the current term has been
// committed, all prior entries are committed indirectly."
TEST(RaftPaper, LeaderCommitsOnlyCurrentTermEntries) {
  // Entry 2 was written in term 2; the leader is elected in term 4.
  Solo s =
      MakeSolo(1, {1, 2, 3, 4, 5}, EntriesWithTerms(2, {2}), MakeHardState(3, 0, 1), NoPreVote);
  MakeLeader(s);
  ASSERT_EQ(s.status().term, 4u);
  s.Drain();
  auto ack = [&](uint64_t from, uint64_t index) {
    s.Receive({.type = raftpb::MSG_APP_RESP, .from = from, .to = 1, .term = 4, .index = index});
  };
  // Entry 2 is now on a majority (1, 2, 3), but it is not of term 4.
  ack(2, 2);
  ack(3, 2);
  EXPECT_EQ(s.status().commit, 1u);
  // The term-4 entry at index 3 reaches a majority: 2 and 3 commit together.
  ack(2, 3);
  ack(3, 3);
  EXPECT_EQ(s.status().commit, 3u);
  std::vector<raftpb::Entry> committed;
  for (Ready& rd : s.DrainReadies()) {
    committed.insert(committed.end(), rd.committed_entries.begin(), rd.committed_entries.end());
  }
  EXPECT_EQ(Terms(committed), (std::vector<uint64_t>{2, 4}));
}

// §5.4.1, Leader Completeness via the election restriction: a member that
// lacks a committed entry cannot be elected.
TEST(RaftPaper, MemberMissingCommittedEntriesCannotBeElected) {
  // Without CheckQuorum's lease, only the log comparison can refuse the vote.
  Network net(3, [](Config& c) { c.check_quorum = false; });
  net.Campaign(1);
  net.Isolate(3);
  ASSERT_TRUE(net.Propose(1, "committed").ok());
  ASSERT_EQ(net.status(2).commit, net.status(1).commit);
  net.Recover();
  net.Isolate(1);
  // 3 lacks the entry: 2 refuses its pre-vote, so 3 cannot win.
  net.Campaign(3);
  EXPECT_NE(net.status(3).state, StateType::kLeader);
  net.Campaign(2);
  EXPECT_EQ(net.status(2).state, StateType::kLeader);
}

}  // namespace
}  // namespace etcdd::raft
