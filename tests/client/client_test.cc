// Client behaviour against in-process fake servers: error pass-through,
// deadlines, failover per clientv3's retry policy, per-endpoint calls, auth.
#include "client/client.h"

#include <gtest/gtest.h>

#include <future>

#include "client/conn.h"
#include "fake_etcd.h"

namespace etcdd::client {
namespace {

using testing::DeadEndpoint;
using testing::FakeEtcd;

Config ConfigFor(std::vector<std::string> endpoints) {
  Config c;
  c.endpoints = std::move(endpoints);
  c.dial_timeout = std::chrono::milliseconds(2000);
  c.command_timeout = std::chrono::milliseconds(5000);
  return c;
}

std::unique_ptr<Client> MustConnect(const Config& config) {
  auto c = Client::Connect(config);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

// Connect pins whichever reachable endpoint answers first.
FakeEtcd& PinnedOf(const Client& c, FakeEtcd& a, FakeEtcd& b) {
  EXPECT_TRUE(c.pinned_endpoint() == a.endpoint() || c.pinned_endpoint() == b.endpoint());
  return c.pinned_endpoint() == a.endpoint() ? a : b;
}

etcdserverpb::RangeRequest RangeFoo() {
  etcdserverpb::RangeRequest r;
  r.set_key("foo");
  return r;
}

etcdserverpb::PutRequest PutFoo() {
  etcdserverpb::PutRequest p;
  p.set_key("foo");
  p.set_value("bar");
  return p;
}

TEST(ParseEndpoint, SchemesDecidePlaintextOrTls) {
  auto t = internal::ParseEndpoint("127.0.0.1:2379", false);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->grpc_target, "127.0.0.1:2379");
  EXPECT_FALSE(t->tls);
  t = internal::ParseEndpoint("http://localhost:2379/", true);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->grpc_target, "localhost:2379");
  EXPECT_FALSE(t->tls) << "http:// is plaintext even with TLS files";
  t = internal::ParseEndpoint("https://10.0.0.1:2379", false);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->tls);
  t = internal::ParseEndpoint("10.0.0.1:2379", true);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->tls) << "bare endpoints use TLS when TLS files are given";
  t = internal::ParseEndpoint("unix:///run/etcd.sock", false);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->grpc_target, "unix:/run/etcd.sock");
  EXPECT_FALSE(internal::ParseEndpoint("ftp://x:1", false).ok());
  EXPECT_FALSE(internal::ParseEndpoint("http://", false).ok());
}

TEST(Connect, NoReachableEndpointIsContextDeadlineExceeded) {
  Config config = ConfigFor({DeadEndpoint(), DeadEndpoint()});
  config.dial_timeout = std::chrono::milliseconds(300);
  auto c = Client::Connect(config);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kDeadlineExceeded);
  EXPECT_EQ(c.status().message(), "context deadline exceeded");
}

TEST(Connect, PinsAReachableEndpoint) {
  FakeEtcd server(7);
  auto c = MustConnect(ConfigFor({DeadEndpoint(), server.endpoint()}));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->pinned_endpoint(), server.endpoint());
  EXPECT_EQ(c->endpoints().size(), 2u);
}

TEST(Calls, ServerErrorsPassThroughUnchanged) {
  FakeEtcd server(7);
  server.on_put = [](const std::string&) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "etcdserver: key is not provided");
  };
  auto c = MustConnect(ConfigFor({server.endpoint()}));
  ASSERT_NE(c, nullptr);
  auto r = c->Put(PutFoo());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "etcdserver: key is not provided");
}

TEST(Calls, ExpiredCommandTimeoutIsContextDeadlineExceeded) {
  FakeEtcd server(7);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  server.on_range = [released](const std::string&) {
    released.wait();
    return grpc::Status::OK;
  };
  Config config = ConfigFor({server.endpoint()});
  config.command_timeout = std::chrono::milliseconds(100);
  auto c = MustConnect(config);
  ASSERT_NE(c, nullptr);
  auto r = c->Range(RangeFoo());
  release.set_value();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "context deadline exceeded");
}

TEST(Failover, ReadsAndUndeliveredWritesMoveToTheNextEndpoint) {
  FakeEtcd a(1);
  FakeEtcd b(2);
  auto c = MustConnect(ConfigFor({a.endpoint(), b.endpoint()}));
  ASSERT_NE(c, nullptr);
  FakeEtcd& pinned = PinnedOf(*c, a, b);
  FakeEtcd& other = &pinned == &a ? b : a;
  pinned.Shutdown();

  auto put = c->Put(PutFoo());
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->header().member_id(), other.member_id());
  EXPECT_EQ(c->pinned_endpoint(), other.endpoint());
  auto range = c->Range(RangeFoo());
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(range->header().member_id(), other.member_id());
}

TEST(Failover, ServerUnavailableRetriesReadsButNotWrites) {
  FakeEtcd a(1);
  FakeEtcd b(2);
  auto c = MustConnect(ConfigFor({a.endpoint(), b.endpoint()}));
  ASSERT_NE(c, nullptr);
  FakeEtcd& pinned = PinnedOf(*c, a, b);
  FakeEtcd& other = &pinned == &a ? b : a;
  const auto leader_changed = [](const std::string&) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: leader changed");
  };
  pinned.on_range = leader_changed;
  pinned.on_put = leader_changed;

  // A Put that reached a server may have been applied: not retried.
  auto put = c->Put(PutFoo());
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), Code::kUnavailable);
  EXPECT_EQ(put.status().message(), "etcdserver: leader changed");
  EXPECT_EQ(pinned.puts.load(), 1);
  EXPECT_EQ(other.puts.load(), 0);

  auto range = c->Range(RangeFoo());
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(range->header().member_id(), other.member_id());
  EXPECT_EQ(c->pinned_endpoint(), other.endpoint());
}

TEST(Failover, AllEndpointsDownEndsAtTheDeadline) {
  auto server = std::make_unique<FakeEtcd>(1);
  Config config = ConfigFor({server->endpoint()});
  config.command_timeout = std::chrono::milliseconds(300);
  auto c = MustConnect(config);
  ASSERT_NE(c, nullptr);
  server->Shutdown();
  auto r = c->Range(RangeFoo());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "context deadline exceeded");
}

TEST(PerEndpoint, StatusAsksTheNamedEndpoint) {
  FakeEtcd first(1);
  FakeEtcd second(2);
  FakeEtcd unlisted(3);
  auto c = MustConnect(ConfigFor({first.endpoint(), second.endpoint()}));
  ASSERT_NE(c, nullptr);
  const FakeEtcd& pinned = PinnedOf(*c, first, second);
  for (const FakeEtcd* s : {&second, &first, &unlisted}) {
    auto r = c->Status(s->endpoint());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->header().member_id(), s->member_id());
    EXPECT_EQ(r->version(), "3.4.23");
  }
  EXPECT_EQ(c->pinned_endpoint(), pinned.endpoint()) << "per-endpoint calls do not re-pin";
  auto members = c->MemberList();
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->members_size(), 1);
  EXPECT_EQ(members->members(0).id(), pinned.member_id());
}

TEST(PerEndpoint, HashKVAsksTheNamedEndpointAtTheRevision) {
  FakeEtcd first(1);
  FakeEtcd second(2);
  auto c = MustConnect(ConfigFor({first.endpoint(), second.endpoint()}));
  ASSERT_NE(c, nullptr);
  for (const FakeEtcd* s : {&first, &second}) {
    auto r = c->HashKV(s->endpoint(), 42);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->header().member_id(), s->member_id());
    EXPECT_EQ(r->hash(), 42u);
  }
}

TEST(PerEndpoint, MoveLeaderRetriesUnavailableOnTheSameEndpointOnly) {
  FakeEtcd leader(1);
  FakeEtcd follower(2);
  auto c = MustConnect(ConfigFor({follower.endpoint(), leader.endpoint()}));
  ASSERT_NE(c, nullptr);
  // clientv3 sends MoveLeader with its "repeatable" policy: UNAVAILABLE is
  // retried, on the endpoint that was asked.
  std::atomic<int> refusals{1};
  leader.on_move_leader = [&refusals] {
    if (refusals-- > 0)
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: leader changed");
    return grpc::Status::OK;
  };
  auto moved = c->MoveLeader(leader.endpoint(), 3);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(leader.move_leaders.load(), 2);
  EXPECT_EQ(leader.moved_to.load(), 3u);
  EXPECT_EQ(follower.move_leaders.load(), 0);

  follower.on_move_leader = [] {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "etcdserver: not leader");
  };
  auto refused = c->MoveLeader(follower.endpoint(), 3);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(), "etcdserver: not leader");
  EXPECT_EQ(follower.move_leaders.load(), 1);
}

TEST(Membership, MemberAddIsSentOnceAndNotRetried) {
  FakeEtcd server(7);
  auto c = MustConnect(ConfigFor({server.endpoint()}));
  ASSERT_NE(c, nullptr);
  etcdserverpb::MemberAddRequest req;
  req.add_peerurls("http://127.0.0.1:2380");
  req.set_islearner(true);
  auto added = c->MemberAdd(req);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->member().id(), 8u);
  EXPECT_TRUE(added->member().islearner());
  ASSERT_EQ(added->member().peerurls_size(), 1);
  EXPECT_EQ(added->member().peerurls(0), "http://127.0.0.1:2380");

  // A membership change that reached a server is not repeated, even when
  // the server answers UNAVAILABLE (its strict reconfiguration check).
  server.on_member_add = [] {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: unhealthy cluster");
  };
  auto refused = c->MemberAdd(req);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "etcdserver: unhealthy cluster");
  EXPECT_EQ(server.member_adds.load(), 2);
}

TEST(Auth, TokenIsSentAndRenewedOnceWhenInvalid) {
  FakeEtcd server(1);
  std::mutex mu;
  std::vector<std::string> seen;
  server.on_range = [&](const std::string& token) {
    std::lock_guard lock(mu);
    seen.push_back(token);
    if (token != server.token) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "etcdserver: invalid auth token");
    }
    return grpc::Status::OK;
  };
  Config config = ConfigFor({server.endpoint()});
  config.user = "root";
  config.password = "pw";
  auto c = MustConnect(config);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Range(RangeFoo()).ok());
  server.token = "tok2";  // the server forgot tok1 (e.g. it restarted)
  auto r = c->Range(RangeFoo());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(seen, (std::vector<std::string>{"tok1", "tok1", "tok2"}));
  EXPECT_EQ(server.authenticates.load(), 2);
}

TEST(Auth, WrongPasswordFailsConnectWithTheServerMessage) {
  FakeEtcd server(1);
  Config config = ConfigFor({server.endpoint()});
  config.user = "root";
  config.password = "nope";
  auto c = Client::Connect(config);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "etcdserver: authentication failed, invalid user ID or password");
}

// clientv3 3.4: a cluster with authentication off accepts --user.
TEST(Auth, ServerWithAuthOffIsNoErrorAndCallsCarryNoToken) {
  FakeEtcd server(1);
  server.auth_enabled = false;
  std::vector<std::string> seen;
  server.on_range = [&](const std::string& token) {
    seen.push_back(token);
    return grpc::Status::OK;
  };
  Config config = ConfigFor({server.endpoint()});
  config.user = "root";
  config.password = "pw";
  auto c = MustConnect(config);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Range(RangeFoo()).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{""}));
  EXPECT_EQ(server.authenticates.load(), 1);
}

// clientv3 authenticates only with a user and a password (TLS common-name
// auth has a user alone).
TEST(Auth, UserWithoutPasswordSendsNoToken) {
  FakeEtcd server(1);
  std::vector<std::string> seen;
  server.on_range = [&](const std::string& token) {
    seen.push_back(token);
    return grpc::Status::OK;
  };
  Config config = ConfigFor({server.endpoint()});
  config.user = "root";
  auto c = MustConnect(config);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Range(RangeFoo()).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{""}));
  EXPECT_EQ(server.authenticates.load(), 0);
}

// Authentication turned on after the client connected: the server refuses
// the token-less call with "user name is empty", and the client
// authenticates and retries it once.
TEST(Auth, UserNameEmptyAuthenticatesAndRetries) {
  FakeEtcd server(1);
  server.auth_enabled = false;
  std::mutex mu;
  std::vector<std::string> seen;
  server.on_user_list = [&](const std::string& token) {
    std::lock_guard lock(mu);
    seen.push_back(token);
    if (token.empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "etcdserver: user name is empty");
    }
    return grpc::Status::OK;
  };
  Config config = ConfigFor({server.endpoint()});
  config.user = "root";
  config.password = "pw";
  auto c = MustConnect(config);
  ASSERT_NE(c, nullptr);
  server.auth_enabled = true;
  auto users = c->UserList();
  ASSERT_TRUE(users.ok()) << users.status().ToString();
  EXPECT_EQ(users.value().users_size(), 1);
  EXPECT_EQ(seen, (std::vector<std::string>{"", "tok1"}));
  EXPECT_EQ(server.authenticates.load(), 2);
}

// UserList is immutable (clientv3's retryAuthClient): UNAVAILABLE moves it to
// the next endpoint.
TEST(Auth, UserListFailsOverOnUnavailable) {
  FakeEtcd a(1);
  FakeEtcd b(2);
  auto c = MustConnect(ConfigFor({a.endpoint(), b.endpoint()}));
  ASSERT_NE(c, nullptr);
  FakeEtcd& pinned = PinnedOf(*c, a, b);
  FakeEtcd& other = &pinned == &a ? b : a;
  pinned.on_user_list = [](const std::string&) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: leader changed");
  };
  auto users = c->UserList();
  ASSERT_TRUE(users.ok()) << users.status().ToString();
  EXPECT_EQ(users->header().member_id(), other.member_id());
  EXPECT_EQ(pinned.user_lists.load(), 1);
  EXPECT_EQ(other.user_lists.load(), 1);
}

}  // namespace
}  // namespace etcdd::client
