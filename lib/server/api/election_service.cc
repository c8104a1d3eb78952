// etcd's v3election service (etcdserver/api/v3election) over the in-process
// recipes (recipes.h); errors as the Lock service's (lock_service.cc).
#include <grpcpp/grpcpp.h>

#include "server/api/recipe_calls.h"
#include "server/api/services.h"
#include "v3electionpb/v3election.grpc.pb.h"

namespace etcdd::server {

namespace {

namespace epb = v3electionpb;
using api_internal::Admit;
using api_internal::BlockingUnary;
using api_internal::RecipeReply;
using api_internal::RecipeStatus;
using api_internal::Refused;
using api_internal::WorkerThread;

// Election.Observe: a server stream fed by Recipes::Observe; each response is
// written before the next is produced.
class ObserveStream final : public grpc::ServerWriteReactor<epb::LeaderResponse> {
 public:
  ObserveStream(Recipes recipes, epb::LeaderRequest req) {
    worker_.Start([this, recipes = std::move(recipes), req = std::move(req)]() mutable {
      Status st =
          recipes.Observe(req, token_, [this](const epb::LeaderResponse& r) { return Write(r); });
      Finish(RecipeStatus(st));
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

using ElectionBase = epb::Election::WithCallbackMethod_Campaign<
    epb::Election::WithCallbackMethod_Observe<epb::Election::Service>>;

class ElectionService final : public ElectionBase {
 public:
  ElectionService(EtcdServer& s, Recipes& r) : s_(s), recipes_(r) {}
  grpc::ServerUnaryReactor* Campaign(grpc::CallbackServerContext* ctx,
                                     const epb::CampaignRequest* req,
                                     epb::CampaignResponse* resp) override {
    auth::AuthInfo who;
    if (auto* refused = Refused(ctx, s_, &who)) return refused;
    return new BlockingUnary<epb::CampaignResponse>(
        resp, [recipes = recipes_.For(who), req](CancelToken& cancel) mutable {
          return recipes.Campaign(*req, cancel);
        });
  }
  grpc::ServerWriteReactor<epb::LeaderResponse>* Observe(grpc::CallbackServerContext* ctx,
                                                         const epb::LeaderRequest* req) override {
    grpc::Status admitted = Admit(*ctx, s_, false);
    auto who = api_internal::Caller(*ctx, s_);
    if (admitted.ok() && !who.ok()) admitted = ToGrpcStatus(who.status());
    if (!admitted.ok()) {
      class Refusal final : public grpc::ServerWriteReactor<epb::LeaderResponse> {
       public:
        explicit Refusal(grpc::Status st) { Finish(st); }
        void OnDone() override { delete this; }
      };
      return new Refusal(admitted);
    }
    return new ObserveStream(recipes_.For(*who), *req);
  }
  grpc::Status Proclaim(grpc::ServerContext* ctx, const epb::ProclaimRequest* req,
                        epb::ProclaimResponse* resp) override {
    ADMIT(ctx, false);
    CALLER(who, ctx);
    return RecipeReply(recipes_.For(who).Proclaim(*req), resp);
  }
  grpc::Status Leader(grpc::ServerContext* ctx, const epb::LeaderRequest* req,
                      epb::LeaderResponse* resp) override {
    ADMIT(ctx, false);
    CALLER(who, ctx);
    return RecipeReply(recipes_.For(who).Leader(*req), resp);
  }
  grpc::Status Resign(grpc::ServerContext* ctx, const epb::ResignRequest* req,
                      epb::ResignResponse* resp) override {
    ADMIT(ctx, false);
    CALLER(who, ctx);
    return RecipeReply(recipes_.For(who).Resign(*req), resp);
  }

 private:
  EtcdServer& s_;
  Recipes& recipes_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewElectionService(EtcdServer& server, Recipes& recipes) {
  return std::make_unique<ElectionService>(server, recipes);
}

}  // namespace etcdd::server
