#include "fake_etcd.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace etcdd::client::testing {
namespace {

std::string TokenOf(grpc::ServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  auto it = md.find("token");
  return it == md.end() ? "" : std::string(it->second.data(), it->second.size());
}

void FillHeader(etcdserverpb::ResponseHeader* h, uint64_t member_id) {
  h->set_member_id(member_id);
  h->set_revision(1);
}

}  // namespace

class FakeEtcd::Kv final : public etcdserverpb::KV::Service {
 public:
  explicit Kv(FakeEtcd* f) : f_(f) {}
  grpc::Status Range(grpc::ServerContext* ctx, const etcdserverpb::RangeRequest*,
                     etcdserverpb::RangeResponse* resp) override {
    ++f_->ranges;
    if (f_->on_range) {
      grpc::Status s = f_->on_range(TokenOf(ctx));
      if (!s.ok()) return s;
    }
    FillHeader(resp->mutable_header(), f_->member_id_);
    return grpc::Status::OK;
  }
  grpc::Status Put(grpc::ServerContext* ctx, const etcdserverpb::PutRequest*,
                   etcdserverpb::PutResponse* resp) override {
    ++f_->puts;
    if (f_->on_put) {
      grpc::Status s = f_->on_put(TokenOf(ctx));
      if (!s.ok()) return s;
    }
    FillHeader(resp->mutable_header(), f_->member_id_);
    return grpc::Status::OK;
  }

 private:
  FakeEtcd* f_;
};

class FakeEtcd::Maintenance final : public etcdserverpb::Maintenance::Service {
 public:
  explicit Maintenance(FakeEtcd* f) : f_(f) {}
  grpc::Status Status(grpc::ServerContext*, const etcdserverpb::StatusRequest*,
                      etcdserverpb::StatusResponse* resp) override {
    ++f_->statuses;
    FillHeader(resp->mutable_header(), f_->member_id_);
    resp->set_version("3.4.23");
    return grpc::Status::OK;
  }
  grpc::Status HashKV(grpc::ServerContext*, const etcdserverpb::HashKVRequest* req,
                      etcdserverpb::HashKVResponse* resp) override {
    FillHeader(resp->mutable_header(), f_->member_id_);
    resp->set_hash(static_cast<uint32_t>(req->revision()));
    return grpc::Status::OK;
  }
  grpc::Status MoveLeader(grpc::ServerContext*, const etcdserverpb::MoveLeaderRequest* req,
                          etcdserverpb::MoveLeaderResponse*) override {
    ++f_->move_leaders;
    if (f_->on_move_leader) {
      grpc::Status s = f_->on_move_leader();
      if (!s.ok()) return s;
    }
    f_->moved_to = req->targetid();
    return grpc::Status::OK;
  }

 private:
  FakeEtcd* f_;
};

class FakeEtcd::Auth final : public etcdserverpb::Auth::Service {
 public:
  explicit Auth(FakeEtcd* f) : f_(f) {}
  grpc::Status Authenticate(grpc::ServerContext*, const etcdserverpb::AuthenticateRequest* req,
                            etcdserverpb::AuthenticateResponse* resp) override {
    ++f_->authenticates;
    if (!f_->auth_enabled) {
      return {grpc::StatusCode::FAILED_PRECONDITION, "etcdserver: authentication is not enabled"};
    }
    if (req->name() != "root" || req->password() != "pw") {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "etcdserver: authentication failed, invalid user ID or password"};
    }
    resp->set_token(f_->token);
    return grpc::Status::OK;
  }
  grpc::Status UserList(grpc::ServerContext* ctx, const etcdserverpb::AuthUserListRequest*,
                        etcdserverpb::AuthUserListResponse* resp) override {
    ++f_->user_lists;
    if (f_->on_user_list) {
      grpc::Status s = f_->on_user_list(TokenOf(ctx));
      if (!s.ok()) return s;
    }
    FillHeader(resp->mutable_header(), f_->member_id_);
    resp->add_users("root");
    return grpc::Status::OK;
  }

 private:
  FakeEtcd* f_;
};

class FakeEtcd::Cluster final : public etcdserverpb::Cluster::Service {
 public:
  explicit Cluster(FakeEtcd* f) : f_(f) {}
  grpc::Status MemberList(grpc::ServerContext*, const etcdserverpb::MemberListRequest*,
                          etcdserverpb::MemberListResponse* resp) override {
    FillHeader(resp->mutable_header(), f_->member_id_);
    auto* m = resp->add_members();
    m->set_id(f_->member_id_);
    m->set_name("fake");
    m->add_clienturls("http://" + f_->endpoint_);
    return grpc::Status::OK;
  }
  grpc::Status MemberAdd(grpc::ServerContext*, const etcdserverpb::MemberAddRequest* req,
                         etcdserverpb::MemberAddResponse* resp) override {
    ++f_->member_adds;
    if (f_->on_member_add) {
      grpc::Status s = f_->on_member_add();
      if (!s.ok()) return s;
    }
    FillHeader(resp->mutable_header(), f_->member_id_);
    resp->mutable_member()->set_id(f_->member_id_ + 1);
    *resp->mutable_member()->mutable_peerurls() = req->peerurls();
    resp->mutable_member()->set_islearner(req->islearner());
    return grpc::Status::OK;
  }

 private:
  FakeEtcd* f_;
};

FakeEtcd::FakeEtcd(uint64_t member_id)
    : member_id_(member_id),
      kv_(std::make_unique<Kv>(this)),
      maintenance_(std::make_unique<Maintenance>(this)),
      auth_(std::make_unique<Auth>(this)),
      cluster_(std::make_unique<Cluster>(this)) {
  int port = 0;
  grpc::ServerBuilder b;
  b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  b.RegisterService(kv_.get());
  b.RegisterService(maintenance_.get());
  b.RegisterService(auth_.get());
  b.RegisterService(cluster_.get());
  server_ = b.BuildAndStart();
  endpoint_ = "127.0.0.1:" + std::to_string(port);
}

FakeEtcd::~FakeEtcd() { Shutdown(); }

void FakeEtcd::Shutdown() {
  if (server_ == nullptr) return;
  server_->Shutdown();
  server_->Wait();
  server_.reset();
}

std::string DeadEndpoint() {
  // A port the kernel just handed out and nobody listens on: connecting is
  // refused.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

}  // namespace etcdd::client::testing
