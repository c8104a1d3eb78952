// Snapshots: the leader sending one to a follower whose next entries are
// compacted, the snapshot progress state, ReportSnapshot, and the follower
// installing it (after etcd's raft_snap_test.go and raft_test.go restore
// tests).
#include <gtest/gtest.h>

#include "raft/progress.h"
#include "test_util.h"

namespace etcdd::raft {
namespace {

using testing::EntriesWithTerms;
using testing::Filter;
using testing::MakeHardState;
using testing::MakeSolo;
using testing::MustCreate;
using testing::Network;
using testing::Solo;
using testing::StorageWithConf;
using testing::TestConfig;

raftpb::Snapshot MakeSnapshot(uint64_t index, uint64_t term, const std::vector<uint64_t>& voters,
                              const std::vector<uint64_t>& learners = {}) {
  raftpb::Snapshot snap;
  snap.mutable_metadata()->set_index(index);
  snap.mutable_metadata()->set_term(term);
  for (uint64_t v : voters) snap.mutable_metadata()->mutable_conf_state()->add_voters(v);
  for (uint64_t l : learners) snap.mutable_metadata()->mutable_conf_state()->add_learners(l);
  snap.set_data("state@" + std::to_string(index));
  return snap;
}

raftpb::Message SnapMsg(uint64_t from, uint64_t to, uint64_t term, const raftpb::Snapshot& snap) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_SNAP);
  m.set_from(from);
  m.set_to(to);
  m.set_term(term);
  *m.mutable_snapshot() = snap;
  return m;
}

TEST(ProgressSnapshot, PausedUntilAcknowledged) {
  Progress pr(4);
  pr.match = 3;
  pr.next = 4;
  pr.BecomeSnapshot(10);
  EXPECT_TRUE(pr.IsPaused());
  EXPECT_EQ(pr.pending_snapshot, 10u);
  // Leaving the snapshot state probes from after the snapshot.
  pr.BecomeProbe();
  EXPECT_EQ(pr.state, ProgressState::kProbe);
  EXPECT_EQ(pr.next, 11u);
  EXPECT_EQ(pr.pending_snapshot, 0u);
  // A failed snapshot (pending reset to 0) probes from match+1.
  pr.BecomeSnapshot(10);
  pr.pending_snapshot = 0;
  pr.BecomeProbe();
  EXPECT_EQ(pr.next, 4u);
}

// etcd TestSendingSnapshotSetPendingSnapshot / TestSnapshotSucceedViaAppResp:
// a follower lagging behind the compaction point receives the leader's
// snapshot and then the entries after it.
TEST(Snapshot, LeaderSendsSnapshotToFollowerBehindCompaction) {
  Network net(3);
  net.Campaign(1);
  net.Isolate(3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net.Propose(1, "v" + std::to_string(i)).ok());
  net.Compact(1);
  const uint64_t snap_index = net.member(1).storage->FirstIndex() - 1;
  net.Recover();
  net.ClearSent();
  ASSERT_TRUE(net.Propose(1, "after").ok());
  net.TickN(2);
  const auto snaps = Filter(net.sent(), raftpb::MSG_SNAP);
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].to(), 3u);
  EXPECT_EQ(snaps[0].snapshot().metadata().index(), snap_index);
  EXPECT_EQ(net.member(3).storage->FirstIndex(), snap_index + 1);
  EXPECT_EQ(net.status(3).commit, net.status(1).commit);
  EXPECT_EQ(net.status(3).applied, net.status(1).applied);
  // The entries after the snapshot are applied on 3 as usual.
  ASSERT_FALSE(net.member(3).applied.empty());
  EXPECT_EQ(net.member(3).applied.back().data(), "after");
  EXPECT_EQ(net.node(1).Progress().at(3).state, ProgressState::kReplicate);
}

// Leader 1 of {1, 2, 3} at term 2 with log 1..6 committed and compacted at
// 6; follower 2 just rejected a probe, hinting it has only index 1: the
// leader must send it a snapshot.
Solo LeaderWithCompactedLog() {
  using testing::Msg;
  Solo s = MakeSolo(1, {1, 2, 3}, EntriesWithTerms(2, {1, 1, 1, 1}), MakeHardState(1, 0, 5));
  s.Drain();
  EXPECT_TRUE(s.node->Campaign().ok());
  s.Receive({.type = raftpb::MSG_PRE_VOTE_RESP, .from = 2, .to = 1, .term = 2});
  s.Receive({.type = raftpb::MSG_VOTE_RESP, .from = 2, .to = 1, .term = 2});
  EXPECT_EQ(s.status().state, StateType::kLeader);
  s.Drain();
  s.Receive({.type = raftpb::MSG_APP_RESP, .from = 3, .to = 1, .term = 2, .index = 6});
  s.Drain();
  EXPECT_EQ(s.status().applied, 6u);
  const raftpb::ConfState cs = s.node->GetConfState();
  EXPECT_TRUE(s.storage->CreateSnapshot(6, &cs, "state@6").ok());
  EXPECT_TRUE(s.storage->Compact(6).ok());
  s.Receive({.type = raftpb::MSG_APP_RESP,
             .from = 2,
             .to = 1,
             .term = 2,
             .index = 5,
             .reject = true,
             .reject_hint = 1});
  return s;
}

// etcd TestSendingSnapshotSetPendingSnapshot / TestPendingSnapshotPauseReplication.
TEST(Snapshot, PendingSnapshotPausesReplication) {
  Solo s = LeaderWithCompactedLog();
  const auto snaps = Filter(s.Drain(), raftpb::MSG_SNAP);
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].to(), 2u);
  EXPECT_EQ(snaps[0].snapshot().metadata().index(), 6u);
  EXPECT_EQ(snaps[0].snapshot().data(), "state@6");
  ProgressInfo pr = s.node->Progress().at(2);
  EXPECT_EQ(pr.state, ProgressState::kSnapshot);
  EXPECT_EQ(pr.pending_snapshot, 6u);
  ASSERT_TRUE(s.node->Propose("x").ok());
  for (const raftpb::Message& m : s.Drain()) {
    if (m.to() == 2) {
      EXPECT_NE(m.type(), raftpb::MSG_APP);
    }
  }
  // Heartbeats still go out.
  s.node->Tick();
  EXPECT_FALSE(Filter(s.Drain(), raftpb::MSG_HEARTBEAT).empty());
}

// Compacting without a snapshot covering the compacted entries (etcd would
// panic): the leader keeps running and sends nothing until one exists.
TEST(Snapshot, NoSnapshotCoveringTheCompactedLogIsNotSent) {
  Solo s = LeaderWithCompactedLog();
  s.Drain();
  // Same, but with a storage compacted further than its snapshot.
  ASSERT_TRUE(s.node->Propose("x").ok());
  s.Drain();
  s.Receive({.type = raftpb::MSG_APP_RESP, .from = 3, .to = 1, .term = 2, .index = 7});
  s.Drain();
  ASSERT_TRUE(s.storage->Compact(7).ok());  // the snapshot stays at 6
  s.node->ReportSnapshot(2, SnapshotStatus::kFailure);
  s.node->Tick();
  s.Receive({.type = raftpb::MSG_HEARTBEAT_RESP, .from = 2, .to = 1, .term = 2});
  for (const raftpb::Message& m : s.Drain()) EXPECT_NE(m.type(), raftpb::MSG_SNAP);
  EXPECT_EQ(s.status().state, StateType::kLeader);
}

// etcd TestSnapshotSucceed / TestSnapshotFailure: ReportSnapshot moves the
// progress back to probe (paused until the next response), from after the
// snapshot on success only.
TEST(Snapshot, ReportSnapshotProbesAgain) {
  for (SnapshotStatus status : {SnapshotStatus::kFinish, SnapshotStatus::kFailure}) {
    Solo s = LeaderWithCompactedLog();
    s.Drain();
    s.node->ReportSnapshot(2, status);
    const ProgressInfo pr = s.node->Progress().at(2);
    EXPECT_EQ(pr.state, ProgressState::kProbe);
    EXPECT_EQ(pr.pending_snapshot, 0u);
    EXPECT_EQ(pr.next, status == SnapshotStatus::kFinish ? 7u : 1u);
    // Paused: nothing is sent to 2 until it answers.
    for (const raftpb::Message& m : s.Drain()) EXPECT_NE(m.to(), 2u);
  }
}

// etcd TestSnapshotSucceedViaAppResp: the follower acknowledging the snapshot
// index leaves the snapshot state, then replication resumes.
TEST(Snapshot, AppRespAtSnapshotIndexResumesReplication) {
  Solo s = LeaderWithCompactedLog();
  s.Drain();
  s.Receive({.type = raftpb::MSG_APP_RESP, .from = 2, .to = 1, .term = 2, .index = 6});
  ProgressInfo pr = s.node->Progress().at(2);
  EXPECT_EQ(pr.match, 6u);
  EXPECT_NE(pr.state, ProgressState::kSnapshot);
  ASSERT_TRUE(s.node->Propose("x").ok());
  bool sent = false;
  for (const raftpb::Message& m : s.Drain())
    sent = sent || (m.to() == 2 && m.type() == raftpb::MSG_APP);
  EXPECT_TRUE(sent);
}

// etcd TestRestoreFromSnapMsg / TestRestore: the follower replaces its log,
// commits the snapshot index, takes the configuration from the metadata, and
// hands the snapshot to the application.
TEST(Snapshot, FollowerRestoresFromSnapMsg) {
  Solo s = MakeSolo(2, {1, 2});
  s.Drain();
  const raftpb::Snapshot snap = MakeSnapshot(11, 11, {1, 2, 3}, {4});
  ASSERT_TRUE(s.node->Step(SnapMsg(1, 2, 12, snap)).ok());
  EXPECT_EQ(s.status().lead, 1u);
  EXPECT_EQ(s.status().commit, 11u);
  ASSERT_TRUE(s.node->HasReady());
  const std::vector<Ready> rds = s.DrainReadies();
  ASSERT_TRUE(rds[0].snapshot.has_value());
  EXPECT_EQ(rds[0].snapshot->data(), "state@11");
  EXPECT_TRUE(rds[0].must_sync);
  EXPECT_TRUE(rds[0].committed_entries.empty());
  const auto resps = Filter(rds[0].messages, raftpb::MSG_APP_RESP);
  ASSERT_EQ(resps.size(), 1u);
  EXPECT_EQ(resps[0].index(), 11u);
  EXPECT_FALSE(resps[0].reject());
  EXPECT_EQ(s.status().applied, 11u);
  EXPECT_EQ(s.storage->FirstIndex(), 12u);
  const raftpb::ConfState cs = s.node->GetConfState();
  EXPECT_EQ(cs.voters_size(), 3);
  ASSERT_EQ(cs.learners_size(), 1);
  EXPECT_EQ(cs.learners(0), 4u);
  // Entries after the snapshot append normally.
  ASSERT_TRUE(s.node
                  ->Step(testing::Msg({.type = raftpb::MSG_APP,
                                       .from = 1,
                                       .to = 2,
                                       .term = 12,
                                       .log_term = 11,
                                       .index = 11,
                                       .commit = 12,
                                       .entries = EntriesWithTerms(12, {12})}))
                  .ok());
  const std::vector<Ready> more = s.DrainReadies();
  ASSERT_FALSE(more.empty());
  ASSERT_EQ(more[0].committed_entries.size(), 1u);
  EXPECT_EQ(more[0].committed_entries[0].index(), 12u);
}

// etcd TestRestoreIgnoreSnapshot: a snapshot at or below the commit index
// changes nothing; one whose last entry we hold only fast-forwards commit.
TEST(Snapshot, StaleOrKnownSnapshotIsNotInstalled) {
  Solo s = MakeSolo(2, {1, 2}, EntriesWithTerms(2, {1, 1, 1}), MakeHardState(1, 0, 2));
  s.Drain();
  ASSERT_TRUE(s.node->Step(SnapMsg(1, 2, 1, MakeSnapshot(2, 1, {1, 2}))).ok());
  std::vector<Ready> rds = s.DrainReadies();
  ASSERT_FALSE(rds.empty());
  EXPECT_FALSE(rds[0].snapshot.has_value());
  auto resps = Filter(rds[0].messages, raftpb::MSG_APP_RESP);
  ASSERT_EQ(resps.size(), 1u);
  EXPECT_EQ(resps[0].index(), 2u);  // our commit index
  ASSERT_TRUE(s.node->Step(SnapMsg(1, 2, 1, MakeSnapshot(4, 1, {1, 2}))).ok());
  EXPECT_EQ(s.status().commit, 4u);
  rds = s.DrainReadies();
  ASSERT_FALSE(rds.empty());
  EXPECT_FALSE(rds[0].snapshot.has_value());
  EXPECT_EQ(s.storage->FirstIndex(), 2u);  // the log is kept
}

// A snapshot whose configuration does not include us is refused (etcd warns
// "attempted to restore snapshot but it is not in the ConfState").
TEST(Snapshot, SnapshotWithoutUsIsRefused) {
  Solo s = MakeSolo(2, {1, 2});
  s.Drain();
  ASSERT_TRUE(s.node->Step(SnapMsg(1, 2, 2, MakeSnapshot(20, 2, {1, 3}))).ok());
  EXPECT_EQ(s.status().commit, 1u);
  for (const Ready& rd : s.DrainReadies()) EXPECT_FALSE(rd.snapshot.has_value());
}

// Restart on a storage whose snapshot records learners (was Unimplemented).
TEST(Snapshot, RestartWithLearnersInConfState) {
  auto storage = StorageWithConf({1, 2}, {3});
  auto node = MustCreate(TestConfig(3, storage.get()));
  const raftpb::ConfState cs = node->GetConfState();
  EXPECT_EQ(cs.voters_size(), 2);
  ASSERT_EQ(cs.learners_size(), 1);
  EXPECT_EQ(cs.learners(0), 3u);
}

}  // namespace
}  // namespace etcdd::raft
