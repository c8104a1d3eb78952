#include "server/api/recipe_services.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "server/api/service_util.h"
#include "v3electionpb/v3election.grpc.pb.h"
#include "v3lockpb/v3lock.grpc.pb.h"

namespace etcdd::server {

namespace {

namespace epb = v3electionpb;
using api_internal::Admit;

// etcd's v3lock and v3election return the errors of their in-process client,
// which gRPC then sends as UNKNOWN with the message (e.g. "etcdserver:
// requested lease not found"); only a cancelled call stays CANCELLED.
grpc::Status ToGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  if (s.code() == Code::kCancelled) return grpc::Status(grpc::StatusCode::CANCELLED, s.message());
  return grpc::Status(grpc::StatusCode::UNKNOWN, s.message());
}

template <typename Response>
grpc::Status Reply(Result<Response> r, Response* out) {
  if (!r.ok()) return ToGrpc(r.status());
  *out = std::move(r).value();
  return grpc::Status::OK;
}

// Runs `work` on a thread of its own and joins it once gRPC is done with the
// call. The thread starts under mu_, so OnDone (which may follow Finish at
// once) never sees thread_ unset.
class WorkerThread {
 public:
  void Start(std::function<void()> work) {
    std::lock_guard lock(mu_);
    thread_ = std::thread(std::move(work));
  }
  void Join() {
    std::lock_guard lock(mu_);
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // gRPC ran OnDone on the worker itself
    } else if (thread_.joinable()) {
      thread_.join();
    }
  }

 private:
  std::mutex mu_;
  std::thread thread_;
};

// A unary call whose work blocks until done or cancelled.
template <typename Response>
class BlockingUnary final : public grpc::ServerUnaryReactor {
 public:
  using Work = std::function<Result<Response>(CancelToken&)>;
  BlockingUnary(Response* resp, Work work) {
    worker_.Start([this, resp, work = std::move(work)] { Finish(Reply(work(token_), resp)); });
  }
  void OnCancel() override { token_.Cancel(); }
  void OnDone() override {
    worker_.Join();
    delete this;
  }

 private:
  CancelToken token_;
  WorkerThread worker_;
};

// Election.Observe: a server stream fed by Recipes::Observe; each response is
// written before the next is produced.
class ObserveStream final : public grpc::ServerWriteReactor<epb::LeaderResponse> {
 public:
  ObserveStream(Recipes& recipes, epb::LeaderRequest req) {
    worker_.Start([this, &recipes, req = std::move(req)] {
      Status st =
          recipes.Observe(req, token_, [this](const epb::LeaderResponse& r) { return Write(r); });
      Finish(ToGrpc(st));
    });
  }
  void OnWriteDone(bool ok) override {
    {
      std::lock_guard lock(mu_);
      writing_ = false;
      write_ok_ = ok;
    }
    cv_.notify_all();
  }
  void OnCancel() override { token_.Cancel(); }
  void OnDone() override {
    worker_.Join();
    delete this;
  }

 private:
  // Blocks until `r` is written; false if the stream is broken.
  bool Write(const epb::LeaderResponse& r) {
    std::unique_lock lock(mu_);
    pending_ = r;
    writing_ = true;
    StartWrite(&pending_);
    cv_.wait(lock, [&] { return !writing_; });  // OnWriteDone comes even when cancelled
    return write_ok_;
  }

  CancelToken token_;
  std::mutex mu_;
  std::condition_variable cv_;
  epb::LeaderResponse pending_;  // guarded by mu_ while writing_
  bool writing_ = false;         // guarded by mu_
  bool write_ok_ = false;        // guarded by mu_
  WorkerThread worker_;
};

// Admission (learner, "hasleader") for a callback call: the reactor to
// return when refused, else nullptr.
grpc::ServerUnaryReactor* Refused(grpc::CallbackServerContext* ctx, const EtcdServer& s) {
  grpc::Status admitted = Admit(*ctx, s, false);
  if (admitted.ok()) return nullptr;
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(admitted);
  return reactor;
}

class LockService final : public v3lockpb::Lock::WithCallbackMethod_Lock<v3lockpb::Lock::Service> {
 public:
  LockService(EtcdServer& s, Recipes& r) : s_(s), recipes_(r) {}
  grpc::ServerUnaryReactor* Lock(grpc::CallbackServerContext* ctx, const v3lockpb::LockRequest* req,
                                 v3lockpb::LockResponse* resp) override {
    if (auto* refused = Refused(ctx, s_)) return refused;
    return new BlockingUnary<v3lockpb::LockResponse>(
        resp, [this, req](CancelToken& cancel) { return recipes_.Lock(*req, cancel); });
  }
  grpc::Status Unlock(grpc::ServerContext* ctx, const v3lockpb::UnlockRequest* req,
                      v3lockpb::UnlockResponse* resp) override {
    ADMIT(ctx, false);
    return Reply(recipes_.Unlock(*req), resp);
  }

 private:
  EtcdServer& s_;
  Recipes& recipes_;
};

using ElectionBase = epb::Election::WithCallbackMethod_Campaign<
    epb::Election::WithCallbackMethod_Observe<epb::Election::Service>>;

class ElectionService final : public ElectionBase {
 public:
  ElectionService(EtcdServer& s, Recipes& r) : s_(s), recipes_(r) {}
  grpc::ServerUnaryReactor* Campaign(grpc::CallbackServerContext* ctx,
                                     const epb::CampaignRequest* req,
                                     epb::CampaignResponse* resp) override {
    if (auto* refused = Refused(ctx, s_)) return refused;
    return new BlockingUnary<epb::CampaignResponse>(
        resp, [this, req](CancelToken& cancel) { return recipes_.Campaign(*req, cancel); });
  }
  grpc::ServerWriteReactor<epb::LeaderResponse>* Observe(grpc::CallbackServerContext* ctx,
                                                         const epb::LeaderRequest* req) override {
    if (grpc::Status admitted = Admit(*ctx, s_, false); !admitted.ok()) {
      class Refusal final : public grpc::ServerWriteReactor<epb::LeaderResponse> {
       public:
        explicit Refusal(grpc::Status st) { Finish(st); }
        void OnDone() override { delete this; }
      };
      return new Refusal(admitted);
    }
    return new ObserveStream(recipes_, *req);
  }
  grpc::Status Proclaim(grpc::ServerContext* ctx, const epb::ProclaimRequest* req,
                        epb::ProclaimResponse* resp) override {
    ADMIT(ctx, false);
    return Reply(recipes_.Proclaim(*req), resp);
  }
  grpc::Status Leader(grpc::ServerContext* ctx, const epb::LeaderRequest* req,
                      epb::LeaderResponse* resp) override {
    ADMIT(ctx, false);
    return Reply(recipes_.Leader(*req), resp);
  }
  grpc::Status Resign(grpc::ServerContext* ctx, const epb::ResignRequest* req,
                      epb::ResignResponse* resp) override {
    ADMIT(ctx, false);
    return Reply(recipes_.Resign(*req), resp);
  }

 private:
  EtcdServer& s_;
  Recipes& recipes_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewLockService(EtcdServer& server, Recipes& recipes) {
  return std::make_unique<LockService>(server, recipes);
}

std::unique_ptr<grpc::Service> NewElectionService(EtcdServer& server, Recipes& recipes) {
  return std::make_unique<ElectionService>(server, recipes);
}

}  // namespace etcdd::server
