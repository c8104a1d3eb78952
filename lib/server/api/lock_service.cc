// etcd's v3lock service (etcdserver/api/v3lock) over the in-process recipes
// (recipes.h); errors as etcd sends them: UNKNOWN with the recipe's message
// (etcd's service passes its in-process client's errors on), or CANCELLED.
#include <grpcpp/grpcpp.h>

#include "server/api/recipe_calls.h"
#include "server/api/services.h"
#include "v3lockpb/v3lock.grpc.pb.h"

namespace etcdd::server {

namespace {

using api_internal::BlockingUnary;
using api_internal::RecipeReply;
using api_internal::Refused;

class LockService final : public v3lockpb::Lock::WithCallbackMethod_Lock<v3lockpb::Lock::Service> {
 public:
  LockService(EtcdServer& s, Recipes& r) : s_(s), recipes_(r) {}
  grpc::ServerUnaryReactor* Lock(grpc::CallbackServerContext* ctx, const v3lockpb::LockRequest* req,
                                 v3lockpb::LockResponse* resp) override {
    auth::AuthInfo who;
    if (auto* refused = Refused(ctx, s_, &who)) return refused;
    return new BlockingUnary<v3lockpb::LockResponse>(
        resp, [recipes = recipes_.For(who), req](CancelToken& cancel) mutable {
          return recipes.Lock(*req, cancel);
        });
  }
  grpc::Status Unlock(grpc::ServerContext* ctx, const v3lockpb::UnlockRequest* req,
                      v3lockpb::UnlockResponse* resp) override {
    ADMIT(ctx, false);
    CALLER(who, ctx);
    return RecipeReply(recipes_.For(who).Unlock(*req), resp);
  }

 private:
  EtcdServer& s_;
  Recipes& recipes_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewLockService(EtcdServer& server, Recipes& recipes) {
  return std::make_unique<LockService>(server, recipes);
}

}  // namespace etcdd::server
