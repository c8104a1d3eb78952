// Raft message streams between transports on loopback.
#include <gtest/gtest.h>

#include <fstream>
#include <numeric>
#include <sstream>

#include "harness.h"

namespace etcdd::transport::testing {
namespace {

std::vector<uint64_t> Range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> v(to - from);
  std::iota(v.begin(), v.end(), from);
  return v;
}

void SendRange(Transport& t, uint64_t from, uint64_t to, uint64_t first, uint64_t last) {
  std::vector<raftpb::Message> batch;
  for (uint64_t i = first; i < last; ++i) batch.push_back(Msg(from, to, i));
  t.Send(std::move(batch));
}

class StreamTest : public ::testing::Test {
 protected:
  std::unique_ptr<Logger> logger_ = Logger::Stderr(LogLevel::kError);
};

TEST_F(StreamTest, DeliversMessagesInOrderBetweenTwoMembers) {
  Member a(Opts(1), *logger_), b(Opts(2), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  ASSERT_TRUE(b.t().AddPeer(1, {a.url()}).ok());
  for (uint64_t i = 0; i < 1000; i += 100) SendRange(a.t(), 1, 2, i, i + 100);
  SendRange(b.t(), 2, 1, 0, 50);
  EXPECT_EQ(IndexesFrom(b.WaitReceived(1000), 1), Range(0, 1000));
  EXPECT_EQ(IndexesFrom(a.WaitReceived(50), 2), Range(0, 50));
  EXPECT_TRUE(Eventually([&] { return a.t().GetStats().peers[2].sent == 1000; }));
  EXPECT_EQ(a.t().GetStats().peers[2].dropped, 0u);
  EXPECT_EQ(b.t().GetStats().received, 1000u);
  EXPECT_TRUE(a.t().IsActive(2));
  EXPECT_TRUE(b.t().IsActive(1));
}

TEST_F(StreamTest, DeliversMessagesInOrderAmongThreeMembers) {
  std::vector<std::unique_ptr<Member>> m;
  for (uint64_t id = 1; id <= 3; ++id) m.push_back(std::make_unique<Member>(Opts(id), *logger_));
  for (uint64_t i = 1; i <= 3; ++i) {
    for (uint64_t j = 1; j <= 3; ++j) {
      if (i != j) {
        ASSERT_TRUE(m[i - 1]->t().AddPeer(j, {m[j - 1]->url()}).ok());
      }
    }
  }
  for (uint64_t k = 0; k < 300; k += 30) {
    for (uint64_t i = 1; i <= 3; ++i) {
      for (uint64_t j = 1; j <= 3; ++j) {
        if (i != j) SendRange(m[i - 1]->t(), i, j, k, k + 30);
      }
    }
  }
  for (uint64_t j = 1; j <= 3; ++j) {
    auto got = m[j - 1]->WaitReceived(600);
    for (uint64_t i = 1; i <= 3; ++i) {
      if (i != j) {
        EXPECT_EQ(IndexesFrom(got, i), Range(0, 300)) << i << " -> " << j;
      }
    }
  }
}

// Messages queued before the receiver exists go out in several envelopes
// (max_batch_bytes is tiny), including one larger than a whole batch.
TEST_F(StreamTest, BatchesQueuedMessagesAndKeepsTheirOrder) {
  Options oa = Opts(1);
  oa.max_batch_bytes = 256;
  Member a(oa, *logger_), b(Opts(2), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  ASSERT_TRUE(Eventually([&] { return a.t().IsActive(2); }));
  // One Send queues all 500 at once; the sender drains them in batches.
  std::vector<raftpb::Message> batch;
  for (uint64_t i = 0; i < 500; ++i) {
    batch.push_back(Msg(1, 2, i));
    if (i == 250) batch.back().set_context(std::string(4096, 'x'));
  }
  a.t().Send(std::move(batch));
  auto got = b.WaitReceived(500);
  EXPECT_EQ(IndexesFrom(got, 1), Range(0, 500));
  ASSERT_EQ(got.size(), 500u);
  EXPECT_EQ(got[250].context(), std::string(4096, 'x'));
  EXPECT_TRUE(Eventually([&] { return a.t().GetStats().peers[2].sent == 500; }));
}

TEST_F(StreamTest, ReconnectsAfterPeerRestartsAndDeliveryResumes) {
  Member a(Opts(1), *logger_);
  auto b = std::make_unique<Member>(Opts(2), *logger_);
  const int port = b->port();
  ASSERT_TRUE(a.t().AddPeer(2, {b->url()}).ok());
  SendRange(a.t(), 1, 2, 0, 10);
  ASSERT_EQ(IndexesFrom(b->WaitReceived(10), 1), Range(0, 10));
  ASSERT_TRUE(Eventually([&] { return a.t().IsActive(2); }));

  b.reset();
  ASSERT_TRUE(Eventually([&] { return !a.t().IsActive(2); }));
  b = std::make_unique<Member>(Opts(2), *logger_, port);
  ASSERT_TRUE(Eventually([&] { return a.t().IsActive(2); }));
  SendRange(a.t(), 1, 2, 10, 20);
  EXPECT_EQ(IndexesFrom(b->WaitReceived(10), 1), Range(10, 20));
  EXPECT_GE(a.t().GetStats().peers[2].failures, 1u);
}

TEST_F(StreamTest, FullQueueDropsAndCounts) {
  Options o = Opts(1);
  o.queue_messages = 8;
  Member a(o, *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {PeerUrl(UnusedPort())}).ok());
  SendRange(a.t(), 1, 2, 0, 20);
  PeerStats s = a.t().GetStats().peers[2];
  // At most 8 wait in the queue; once the connection attempt fails, those
  // are dropped too (see MessagesForADownPeerAreDroppedNotDeliveredLate).
  EXPECT_GE(s.dropped, 12u);
  EXPECT_LE(s.dropped, 20u);
  EXPECT_EQ(s.sent, 0u);
  EXPECT_FALSE(s.active);
}

// Delivered after the peer comes back, a message sent while it was down
// could be a proposal its client already gave up on and retried: it would
// apply twice. Such messages are dropped; Raft re-sends what it needs.
TEST_F(StreamTest, MessagesForADownPeerAreDroppedNotDeliveredLate) {
  const int port = UnusedPort();
  Member a(Opts(1), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {PeerUrl(port)}).ok());
  ASSERT_TRUE(Eventually([&] { return a.t().GetStats().peers[2].failures >= 1; }));
  SendRange(a.t(), 1, 2, 0, 5);
  EXPECT_GE(a.t().GetStats().peers[2].dropped, 5u);
  Member b(Opts(2), *logger_, port);
  ASSERT_TRUE(Eventually([&] { return a.t().IsActive(2); }));
  SendRange(a.t(), 1, 2, 5, 10);
  EXPECT_EQ(IndexesFrom(b.WaitReceived(5), 1), Range(5, 10));
}

TEST_F(StreamTest, ClusterIdMismatchIsRejectedAndNothingDelivered) {
  const std::string log_path = ::testing::TempDir() + "transport_mismatch.log";
  std::remove(log_path.c_str());
  auto logger = Logger::Create({log_path}, "info");
  ASSERT_TRUE(logger.ok());
  Member a(Opts(1, 0xabc1), **logger), b(Opts(2, 0xdef2), **logger);
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  SendRange(a.t(), 1, 2, 0, 5);
  ASSERT_TRUE(Eventually([&] { return a.t().GetStats().peers[2].failures >= 2; }));
  EXPECT_FALSE(a.t().IsActive(2));
  EXPECT_EQ(a.t().GetStats().peers[2].sent, 0u);
  EXPECT_TRUE(b.Received().empty());
  EXPECT_EQ(b.t().GetStats().received, 0u);
  std::ifstream in(log_path);
  std::stringstream log;
  log << in.rdbuf();
  EXPECT_NE(log.str().find("\"request cluster ID mismatch\""), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("\"local-member-cluster-id\":\"def2\""), std::string::npos);
  EXPECT_NE(log.str().find("\"remote-peer-cluster-id\":\"abc1\""), std::string::npos);
  EXPECT_NE(log.str().find("FAILED_PRECONDITION"), std::string::npos) << log.str();
}

TEST_F(StreamTest, StopWithPendingSendsReturns) {
  Options o = Opts(1);
  o.dial_timeout = std::chrono::minutes(5);
  o.max_backoff = std::chrono::minutes(5);
  o.min_backoff = std::chrono::minutes(5);
  Member a(o, *logger_);
  // A black hole (connections hang) and a closed port (in backoff).
  SilentListener black_hole;
  ASSERT_TRUE(a.t().AddPeer(2, {black_hole.url()}).ok());
  ASSERT_TRUE(a.t().AddPeer(3, {PeerUrl(UnusedPort())}).ok());
  SendRange(a.t(), 1, 2, 0, 1000);
  SendRange(a.t(), 1, 3, 0, 1000);
  bool snapshot_ok = true;
  TempDir dir;
  const std::string file = dir.path() + "/snap";
  ASSERT_TRUE(WriteFileAtomic(file, "data").ok());
  a.t().SendSnapshot(Msg(1, 2, 7, raftpb::MSG_SNAP), file, [&](bool ok) { snapshot_ok = ok; });
  ASSERT_TRUE(Eventually([&] { return a.t().GetStats().peers[3].failures >= 1; }));
  a.t().Stop();  // would hang the test (and hit its timeout) if it waited out a dial or backoff
  EXPECT_FALSE(snapshot_ok);
  EXPECT_FALSE(a.t().IsActive(2));
}

TEST_F(StreamTest, RemovePeerStopsTraffic) {
  Member a(Opts(1), *logger_), b(Opts(2), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  SendRange(a.t(), 1, 2, 0, 5);
  ASSERT_EQ(b.WaitReceived(5).size(), 5u);
  a.t().RemovePeer(2);
  EXPECT_FALSE(a.t().IsActive(2));
  EXPECT_EQ(a.t().GetStats().peers.count(2), 0u);
  SendRange(a.t(), 1, 2, 5, 10);  // to an unknown peer now: dropped
  // Re-adding opens a new stream; only what is sent after it arrives.
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  SendRange(a.t(), 1, 2, 10, 15);
  auto got = b.WaitReceived(10);
  std::vector<uint64_t> want = Range(0, 5);
  for (uint64_t i = 10; i < 15; ++i) want.push_back(i);
  EXPECT_EQ(IndexesFrom(got, 1), want);
}

// A removed member learns it from the peers that refuse it (etcd: HTTP 410
// errMemberRemoved), even with a stream already open.
TEST_F(StreamTest, RemovedMemberIsRefusedAndTold) {
  std::mutex mu;
  std::vector<uint64_t> refused_by;
  Options opts = Opts(1);
  opts.removed_by_peer = [&](uint64_t peer) {
    std::lock_guard lk(mu);
    refused_by.push_back(peer);
  };
  Member a(opts, *logger_), b(Opts(2), *logger_);
  ASSERT_TRUE(a.t().AddPeer(2, {b.url()}).ok());
  ASSERT_TRUE(b.t().AddPeer(1, {a.url()}).ok());
  SendRange(a.t(), 1, 2, 0, 5);
  ASSERT_EQ(b.WaitReceived(5).size(), 5u);
  b.t().RemovePeer(1);  // b applied a's removal
  // a keeps sending (Raft retries); b refuses every stream from it.
  ASSERT_TRUE(Eventually([&] {
    SendRange(a.t(), 1, 2, 5, 6);
    std::lock_guard lk(mu);
    return !refused_by.empty();
  }));
  std::lock_guard lk(mu);
  EXPECT_EQ(refused_by.front(), 2u);
  EXPECT_EQ(b.Received().size(), 5u);  // nothing after the removal
}

TEST_F(StreamTest, RejectsBadPeerUrls) {
  Member a(Opts(1), *logger_);
  EXPECT_EQ(a.t().AddPeer(2, {}).code(), Code::kInvalidArgument);
  // https is a peer scheme now (TLS); other schemes are not.
  EXPECT_EQ(a.t().AddPeer(2, {"unix://127.0.0.1:1"}).code(), Code::kInvalidArgument);
  EXPECT_EQ(a.t().AddPeer(2, {"127.0.0.1"}).code(), Code::kInvalidArgument);
  EXPECT_EQ(a.t().GetStats().peers.count(2), 0u);
}

// gRPC binds with SO_REUSEPORT unless told not to, which would let a second
// member on the same port silently take part of the first one's traffic.
TEST_F(StreamTest, PortInUseIsRefusedNotShared) {
  Member a(Opts(1), *logger_);
  auto second = Transport::Start(
      Opts(2), {Url{"http", "127.0.0.1", a.port()}}, [](raftpb::Message) {},
      [](const raftpb::Message&, std::string) { return Status::Ok(); }, *logger_);
  EXPECT_FALSE(second.ok());
}

}  // namespace
}  // namespace etcdd::transport::testing
