// Snapshots streamed in chunks to the receiver's SnapshotHandler.
#include <gtest/gtest.h>

#include <future>
#include <random>

#include "harness.h"

namespace etcdd::transport::testing {
namespace {

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

raftpb::Message Snap(uint64_t from, uint64_t to, std::string data) {
  raftpb::Message m = Msg(from, to, 0, raftpb::MSG_SNAP);
  m.set_term(3);
  m.mutable_snapshot()->set_data(std::move(data));
  m.mutable_snapshot()->mutable_metadata()->set_index(42);
  m.mutable_snapshot()->mutable_metadata()->set_term(3);
  m.mutable_snapshot()->mutable_metadata()->mutable_conf_state()->add_voters(1);
  m.mutable_snapshot()->mutable_metadata()->mutable_conf_state()->add_voters(2);
  return m;
}

// Sends and waits for done(ok); false also when done never runs in time.
bool SendAndWait(Transport& t, raftpb::Message m) {
  auto p = std::make_shared<std::promise<bool>>();
  auto f = p->get_future();
  t.SendSnapshot(std::move(m), [p](bool ok) { p->set_value(ok); });
  if (f.wait_for(kDeadline) != std::future_status::ready) return false;
  return f.get();
}

class SnapshotTest : public ::testing::Test {
 protected:
  std::unique_ptr<Logger> logger_ = Logger::Stderr(LogLevel::kError);
};

TEST_F(SnapshotTest, StreamsSeveralMiBIntact) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Options oa = Opts(1);
  oa.snapshot_chunk_bytes = 256 << 10;
  Member a(oa, *logger_), b(Opts(2), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  // Not a multiple of the chunk size, so the last chunk is short.
  const std::string data = RandomBytes((6 << 20) + 12345, seed);
  ASSERT_TRUE(SendAndWait(a.t(), Snap(1, 2, data)));
  ASSERT_EQ(b.SnapshotData().size(), 1u);
  EXPECT_TRUE(b.SnapshotData()[0] == data) << "snapshot bytes differ";
  const raftpb::Message got = b.SnapshotMsgs()[0];
  EXPECT_EQ(got.type(), raftpb::MSG_SNAP);
  EXPECT_EQ(got.from(), 1u);
  EXPECT_EQ(got.term(), 3u);
  EXPECT_EQ(got.snapshot().metadata().index(), 42u);
  EXPECT_EQ(got.snapshot().metadata().conf_state().voters_size(), 2);
  EXPECT_TRUE(got.snapshot().data().empty());
}

TEST_F(SnapshotTest, EmptySnapshotIsDelivered) {
  Member a(Opts(1), *logger_), b(Opts(2), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  ASSERT_TRUE(SendAndWait(a.t(), Snap(1, 2, "")));
  ASSERT_EQ(b.SnapshotData().size(), 1u);
  EXPECT_TRUE(b.SnapshotData()[0].empty());
}

TEST_F(SnapshotTest, ReceiverRejectionIsReportedAsFailure) {
  Member a(Opts(1), *logger_);
  Member b(Opts(2), *logger_, 0, Status::FailedPrecondition("no space"));
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  EXPECT_FALSE(SendAndWait(a.t(), Snap(1, 2, RandomBytes(3 << 20, 7))));
  EXPECT_EQ(b.SnapshotData().size(), 1u);  // the handler saw it and refused it
}

TEST_F(SnapshotTest, OtherClusterOrUnknownPeerFails) {
  Member a(Opts(1, 0xaaa), *logger_), b(Opts(2, 0xbbb), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  EXPECT_FALSE(SendAndWait(a.t(), Snap(1, 2, RandomBytes(1 << 20, 9))));
  EXPECT_FALSE(SendAndWait(a.t(), Snap(1, 9, "x")));  // 9 is not a peer
  EXPECT_TRUE(b.SnapshotData().empty());
}

TEST_F(SnapshotTest, UnreachablePeerFails) {
  Member a(Opts(1), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {PeerUrl(UnusedPort())}).ok());
  EXPECT_FALSE(SendAndWait(a.t(), Snap(1, 2, "data")));
}

// Send routes a MsgSnap to the snapshot path.
TEST_F(SnapshotTest, SendRoutesMsgSnapToSnapshotPath) {
  Member a(Opts(1), *logger_), b(Opts(2), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  std::vector<raftpb::Message> msgs;
  msgs.push_back(Snap(1, 2, "payload"));
  a.t().Send(std::move(msgs));
  ASSERT_TRUE(Eventually([&] { return b.SnapshotData().size() == 1; }));
  EXPECT_EQ(b.SnapshotData()[0], "payload");
  EXPECT_TRUE(b.Received().empty());
}

}  // namespace
}  // namespace etcdd::transport::testing
