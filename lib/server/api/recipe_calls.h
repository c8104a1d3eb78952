// Internal to lib/server/api: what the Lock and Election services share.
//
// Calls that wait (Lock, Campaign, Observe) run on a thread of their own, so
// a waiting lock holds no gRPC thread; the call's cancellation (the client
// goes away, its deadline passes, the server shuts down) cancels the wait.
// The other calls (Unlock, Proclaim, Leader, Resign) are short and run on
// the gRPC thread that received them.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <mutex>
#include <thread>

#include "base/grpc_status.h"
#include "server/api/recipes.h"
#include "server/api/service_util.h"

namespace etcdd::server::api_internal {

// etcd's v3lock and v3election return the errors of their in-process client,
// which gRPC then sends as UNKNOWN with the message (e.g. "etcdserver:
// requested lease not found"); only a cancelled call stays CANCELLED.
inline grpc::Status RecipeStatus(const Status& s) {
  if (s.ok() || s.code() == Code::kCancelled) return ToGrpcStatus(s);
  return ToGrpcStatus(Status(Code::kUnknown, s.message()));
}

template <typename Response>
grpc::Status RecipeReply(Result<Response> r, Response* out) {
  if (!r.ok()) return RecipeStatus(r.status());
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
    worker_.Start(
        [this, resp, work = std::move(work)] { Finish(RecipeReply(work(token_), resp)); });
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

// Admission (learner, "hasleader") and the Caller (auth/store.h) of a
// callback call: the reactor to return when refused, else nullptr with
// `*who` set.
inline grpc::ServerUnaryReactor* Refused(grpc::CallbackServerContext* ctx, const EtcdServer& s,
                                         auth::AuthInfo* who) {
  grpc::Status admitted = Admit(*ctx, s, false);
  if (admitted.ok()) {
    auto caller = Caller(*ctx, s);
    if (caller.ok()) {
      *who = std::move(caller).value();
      return nullptr;
    }
    admitted = ToGrpcStatus(caller.status());
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(admitted);
  return reactor;
}

}  // namespace etcdd::server::api_internal
