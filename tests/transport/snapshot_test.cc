// Snapshots streamed in chunks from a file on the sender to a file on the
// receiver, which the receiver's SnapshotHandler gets the path of.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <random>

#include "harness.h"
#include "transportpb/peer.grpc.pb.h"

namespace etcdd::transport::testing {
namespace {

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

raftpb::Message Snap(uint64_t from, uint64_t to) {
  raftpb::Message m = Msg(from, to, 0, raftpb::MSG_SNAP);
  m.set_term(3);
  m.mutable_snapshot()->mutable_metadata()->set_index(42);
  m.mutable_snapshot()->mutable_metadata()->set_term(3);
  m.mutable_snapshot()->mutable_metadata()->mutable_conf_state()->add_voters(1);
  m.mutable_snapshot()->mutable_metadata()->mutable_conf_state()->add_voters(2);
  return m;
}

class SnapshotTest : public ::testing::Test {
 protected:
  // Writes `data` to a file, sends it as `m`'s data and waits for done(ok);
  // false also when done never runs in time.
  bool SendAndWait(Transport& t, raftpb::Message m, const std::string& data) {
    const std::string path = dir_.path() + "/send.snap.db";
    if (!WriteFileAtomic(path, data).ok()) return false;
    auto p = std::make_shared<std::promise<bool>>();
    auto f = p->get_future();
    t.SendSnapshot(std::move(m), path, [p](bool ok) { p->set_value(ok); });
    if (f.wait_for(kDeadline) != std::future_status::ready) return false;
    return f.get();
  }

  std::unique_ptr<Logger> logger_ = Logger::Stderr(LogLevel::kError);
  TempDir dir_;
};

// The files in `dir`, by name.
std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  return names;
}

TEST_F(SnapshotTest, StreamsSeveralMiBIntact) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Options oa = Opts(1);
  oa.snapshot_chunk_bytes = 256 << 10;
  Member a(oa, *logger_), b(Opts(2), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  // Not a multiple of the chunk size, so the last chunk is short.
  const std::string data = RandomBytes((6 << 20) + 12345, seed);
  ASSERT_TRUE(SendAndWait(a.t(), Snap(1, 2), data));
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
  ASSERT_TRUE(SendAndWait(a.t(), Snap(1, 2), ""));
  ASSERT_EQ(b.SnapshotData().size(), 1u);
  EXPECT_TRUE(b.SnapshotData()[0].empty());
}

TEST_F(SnapshotTest, ReceiverRejectionIsReportedAsFailure) {
  Member a(Opts(1), *logger_);
  Member b(Opts(2), *logger_, 0, Status::FailedPrecondition("no space"));
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  EXPECT_FALSE(SendAndWait(a.t(), Snap(1, 2), RandomBytes(3 << 20, 7)));
  EXPECT_EQ(b.SnapshotData().size(), 1u);  // the handler saw it and refused it
}

TEST_F(SnapshotTest, OtherClusterOrUnknownPeerFails) {
  Member a(Opts(1, 0xaaa), *logger_), b(Opts(2, 0xbbb), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  EXPECT_FALSE(SendAndWait(a.t(), Snap(1, 2), RandomBytes(1 << 20, 9)));
  EXPECT_FALSE(SendAndWait(a.t(), Snap(1, 9), "x"));  // 9 is not a peer
  EXPECT_TRUE(b.SnapshotData().empty());
}

TEST_F(SnapshotTest, UnreachablePeerFails) {
  Member a(Opts(1), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {PeerUrl(UnusedPort())}).ok());
  EXPECT_FALSE(SendAndWait(a.t(), Snap(1, 2), "data"));
}

TEST_F(SnapshotTest, MissingFileFailsTheSend) {
  Member a(Opts(1), *logger_), b(Opts(2), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  auto p = std::make_shared<std::promise<bool>>();
  a.t().SendSnapshot(Snap(1, 2), dir_.path() + "/missing.snap.db",
                     [p](bool ok) { p->set_value(ok); });
  auto f = p->get_future();
  ASSERT_EQ(f.wait_for(kDeadline), std::future_status::ready);
  EXPECT_FALSE(f.get());
  EXPECT_TRUE(b.SnapshotData().empty());
}

// A MsgSnap carries no data through Send: it is dropped, the rest goes on.
TEST_F(SnapshotTest, SendDropsMsgSnap) {
  Member a(Opts(1), *logger_), b(Opts(2), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  std::vector<raftpb::Message> msgs;
  msgs.push_back(Snap(1, 2));
  msgs.push_back(Msg(1, 2, 5));
  a.t().Send(std::move(msgs));
  ASSERT_EQ(IndexesFrom(b.WaitReceived(1), 1), std::vector<uint64_t>{5});
  EXPECT_TRUE(b.SnapshotData().empty());
}

// A sender that announces more or fewer bytes than it sends is refused with
// DATA_LOSS, and the receiver keeps no file of it, complete or partial.
TEST_F(SnapshotTest, WrongLengthIsRefusedAndLeavesNoFile) {
  Member b(Opts(2), *logger_);
  auto stub = transportpb::Peer::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(b.port()), grpc::InsecureChannelCredentials()));
  for (const uint64_t announced : {100u, 4u}) {
    SCOPED_TRACE("announced " + std::to_string(announced));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kDeadline);
    transportpb::SnapshotAck ack;
    auto writer = stub->SendSnapshot(&ctx, &ack);
    transportpb::SnapshotChunk first;
    first.set_from(1);
    first.set_cluster_id(Opts(2).cluster_id);
    *first.mutable_message() = Snap(1, 2);
    first.set_total_bytes(announced);
    first.set_data("0123456789");
    ASSERT_TRUE(writer->Write(first));
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::DATA_LOSS);
    EXPECT_TRUE(b.SnapshotData().empty());
    EXPECT_TRUE(Files(b.snapshot_dir()).empty());
  }
}

}  // namespace
}  // namespace etcdd::transport::testing
