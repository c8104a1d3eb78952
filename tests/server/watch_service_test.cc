// The Watch gRPC service on an in-process server (loopback, a free port),
// driven through the generated stub as a client would: created/canceled/
// progress replies and headers on the wire, events, fragments, a client that
// stops reading (its watchers are parked and caught up, no gaps), admission
// and authorization hooks, and AbortStreams.
#include "server/api/watch_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "watch/watch_test_util.h"

namespace etcdd::server {
namespace {

using watch::testing::PutReq;
using watch::testing::W;
using Strings = std::vector<std::string>;
namespace pb = etcdserverpb;

class WatchServiceTest : public watch::testing::WatchFixture {
 protected:
  void StartServer(watch::WatchHubOptions hub_options = {}, WatchServiceOptions o = {}) {
    MakeHub(hub_options);
    hub_->Start();
    o.fill_header = [](pb::ResponseHeader* h) {
      h->set_cluster_id(11);
      h->set_member_id(22);
      h->set_raft_term(3);
    };
    service_ = std::make_unique<WatchService>(*hub_, std::move(o), *logger_);
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    channel_ = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                         grpc::InsecureChannelCredentials(), args);
    stub_ = pb::Watch::NewStub(channel_);
  }

  void TearDown() override {
    if (server_) {
      service_->AbortStreams([](const grpc::CallbackServerContext&) { return true; },
                             grpc::Status(grpc::StatusCode::UNAVAILABLE, "stopping"));
      server_->Shutdown();
      EXPECT_EQ(hub_->GetStats().streams, 0u);  // every stream was closed
    }
    server_.reset();
    service_.reset();
    if (hub_) hub_->Stop();
    WatchFixture::TearDown();
  }

  using Stream = grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>;

  static void Create(Stream& s, const pb::WatchCreateRequest& c) {
    pb::WatchRequest req;
    *req.mutable_create_request() = c;
    ASSERT_TRUE(s.Write(req));
  }
  static pb::WatchResponse Read(Stream& s) {
    pb::WatchResponse r;
    EXPECT_TRUE(s.Read(&r));
    return r;
  }

  std::unique_ptr<WatchService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::Watch::Stub> stub_;
};

TEST_F(WatchServiceTest, CreateEventsCancelAndProgressOnTheWire) {
  StartServer();
  Put("k", "0");
  grpc::ClientContext ctx;
  auto s = stub_->Watch(&ctx);
  Create(*s, W("k").PrevKv());
  auto r = Read(*s);
  EXPECT_TRUE(r.created());
  EXPECT_EQ(r.watch_id(), 0);
  EXPECT_EQ(r.header().revision(), 2);
  EXPECT_EQ(r.header().cluster_id(), 11u);
  EXPECT_EQ(r.header().member_id(), 22u);
  EXPECT_EQ(r.header().raft_term(), 3u);
  Put("k", "1");
  r = Read(*s);
  EXPECT_EQ(watch::testing::Describe(r), (Strings{"3:PUT:k=1<0"}));
  EXPECT_EQ(r.header().revision(), 3);

  pb::WatchRequest progress;
  progress.mutable_progress_request();
  ASSERT_TRUE(s->Write(progress));
  r = Read(*s);
  EXPECT_EQ(r.watch_id(), -1);
  EXPECT_EQ(r.header().revision(), 3);

  pb::WatchRequest cancel;
  cancel.mutable_cancel_request()->set_watch_id(0);
  ASSERT_TRUE(s->Write(cancel));
  r = Read(*s);
  EXPECT_TRUE(r.canceled());
  EXPECT_EQ(r.watch_id(), 0);

  // A half-close does not end the stream (etcd keeps sending).
  Create(*s, W("j"));
  EXPECT_TRUE(Read(*s).created());
  ASSERT_TRUE(s->WritesDone());
  Put("j", "x");
  EXPECT_EQ(watch::testing::Describe(Read(*s)), (Strings{"4:PUT:j=x"}));
  ctx.TryCancel();
  EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(WatchServiceTest, LargeBatchIsFragmentedForFragmentWatchers) {
  WatchServiceOptions o;
  o.max_request_bytes = 1024;  // fragments of at most 1 KiB + 512 KiB
  StartServer({}, o);
  grpc::ClientContext ctx;
  auto s = stub_->Watch(&ctx);
  Create(*s, W("big").End("bih").Fragment());
  Create(*s, W("big").End("bih"));
  EXPECT_TRUE(Read(*s).created());
  EXPECT_TRUE(Read(*s).created());
  const std::string value(300 * 1024, 'v');
  Apply([&](mvcc::Store::WriteTxn& t) {
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(t.Put(PutReq("big" + std::to_string(i), value)).ok());
  });
  std::map<int64_t, std::vector<pb::WatchResponse>> got;
  size_t events = 0;
  while (events < 8) {
    auto r = Read(*s);
    if (r.events_size() == 0) break;
    events += static_cast<size_t>(r.events_size());
    got[r.watch_id()].push_back(r);
  }
  ASSERT_EQ(got[0].size(), 4u);  // one 300 KiB event per fragment
  for (size_t i = 0; i < got[0].size(); ++i) {
    EXPECT_EQ(got[0][i].fragment(), i + 1 < got[0].size());
    EXPECT_EQ(got[0][i].events_size(), 1);
  }
  ASSERT_EQ(got[1].size(), 1u);  // the other watcher gets one 1.2 MB response
  EXPECT_EQ(got[1][0].events_size(), 4);
  EXPECT_FALSE(got[1][0].fragment());
}

TEST_F(WatchServiceTest, ClientThatStopsReadingIsParkedThenGetsEverything) {
  watch::WatchHubOptions ho;
  ho.stream_buffer_bytes = 64 * 1024;
  StartServer(ho);
  grpc::ClientContext ctx;
  auto s = stub_->Watch(&ctx);
  Create(*s, W("k").End("l"));
  EXPECT_TRUE(Read(*s).created());
  // 8 MB the client does not read: HTTP/2 flow control stops the writer,
  // the stream's buffer fills, the watcher is parked.
  const std::string value(1024, 'x');
  int64_t last = 0;
  for (int b = 0; b < 80; ++b) {
    last = Apply([&](mvcc::Store::WriteTxn& t) {
      for (int i = 0; i < 100; ++i) {
        EXPECT_TRUE(t.Put(PutReq("k" + std::to_string(i % 10), value)).ok());
      }
    });
  }
  EXPECT_GT(hub_->GetStats().parks_total, 0u);
  int64_t next = 2;
  while (next <= last) {
    auto r = Read(*s);
    ASSERT_GT(r.events_size(), 0);
    for (const auto& ev : r.events()) {
      ASSERT_EQ(ev.kv().mod_revision(), next) << "a gap or a duplicate";
      ++next;
    }
  }
  EXPECT_EQ(hub_->GetStats().synced + hub_->GetStats().unsynced, 1u);
}

// Responses queued while a stream writes (watchers catching up from the past
// in small history reads, on new streams): the writes that have more behind
// them are held by the transport for one flush (never the first one, which
// carries the initial metadata and completes only once sent), and every
// response arrives. Whether the first write has more behind it depends on
// timing; tests/cluster/test_watch.py's leader-kill test hit it often.
TEST_F(WatchServiceTest, QueuedResponsesAreFlushedFromTheFirstWriteOn) {
  watch::WatchHubOptions ho;
  ho.max_events_per_sync = 3;
  StartServer(ho);
  int64_t last = 0;
  for (int i = 0; i < 100; ++i) last = Put("k" + std::to_string(i % 7), std::to_string(i));
  for (int round = 0; round < 20; ++round) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto s = stub_->Watch(&ctx);
    Create(*s, W("k").End("l").From(2));
    Create(*s, W("k3").From(2));
    std::map<int64_t, int64_t> next = {{0, 2}, {1, 2}};
    int created = 0;
    while (created < 2 || next[0] <= last || next[1] < last - 6) {
      pb::WatchResponse r;
      ASSERT_TRUE(s->Read(&r)) << "round " << round;
      if (r.created()) {
        ++created;
        continue;
      }
      for (const auto& ev : r.events()) {
        ASSERT_GE(ev.kv().mod_revision(), next[r.watch_id()]) << "a duplicate";
        if (r.watch_id() == 0) {
          ASSERT_EQ(ev.kv().mod_revision(), next[0]) << "a gap";
        }
        next[r.watch_id()] = ev.kv().mod_revision() + 1;
      }
    }
    ctx.TryCancel();
  }
}

TEST_F(WatchServiceTest, AdmissionAndAuthorizationHooks) {
  WatchServiceOptions o;
  o.admit = [](const grpc::CallbackServerContext& ctx) {
    auto it = ctx.client_metadata().find("hasleader");
    if (it != ctx.client_metadata().end() && it->second == "true") {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: no leader");
    }
    return grpc::Status::OK;
  };
  o.authorize = [](const grpc::CallbackServerContext&, const pb::WatchCreateRequest& c) {
    return c.key() == "secret" ? Status(Code::kPermissionDenied, "etcdserver: permission denied")
                               : Status::Ok();
  };
  StartServer({}, o);
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("hasleader", "true");
    auto s = stub_->Watch(&ctx);
    pb::WatchResponse r;
    EXPECT_FALSE(s->Read(&r));
    grpc::Status st = s->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(st.error_message(), "etcdserver: no leader");
  }
  grpc::ClientContext ctx;
  auto s = stub_->Watch(&ctx);
  Create(*s, W("secret"));
  auto r = Read(*s);
  EXPECT_TRUE(r.created() && r.canceled());
  EXPECT_EQ(r.watch_id(), -1);
  EXPECT_EQ(r.cancel_reason(), "etcdserver: permission denied");
  Create(*s, W("public"));
  r = Read(*s);
  EXPECT_TRUE(r.created() && !r.canceled());

  // etcd's monitorLeader: streams that asked for a leader end when it goes.
  service_->AbortStreams([](const grpc::CallbackServerContext&) { return true; },
                         grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: no leader"));
  EXPECT_FALSE(s->Read(&r));
  EXPECT_EQ(s->Finish().error_message(), "etcdserver: no leader");
}

}  // namespace
}  // namespace etcdd::server
