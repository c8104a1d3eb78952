// Keeping a lease alive over the Lease service's LeaseKeepAlive stream, with
// the semantics of etcd's Go client (clientv3 lease.go), which etcdctl's
// `lease keep-alive` and the concurrency sessions (lock, elect) rely on.
//
//   LeaseKeepAlive ka(client, id);
//   etcdserverpb::LeaseKeepAliveResponse r;
//   while (ka.Next(&r)) { ... r.ttl() ... }   // ends when the lease is gone
//
// As clientv3's KeepAlive:
//   - the first request goes out at once; after each answer the next one is
//     due a third of the returned TTL later (checked every 500 ms);
//   - an answer with TTL <= 0 means the lease expired or was revoked: the
//     keep-alive ends;
//   - if no answer arrives within the lease's TTL (before the first answer:
//     dial timeout + 1 s), the lease may have expired: the keep-alive ends;
//   - a broken stream is reopened 500 ms later on a reachable endpoint; the
//     TTL deadline keeps running meanwhile.
// Answers are queued for Next up to 16; further ones are dropped until Next
// catches up (clientv3's channel of 16), so an unread keep-alive never grows.
//
// Thread-safety: all methods may be called concurrently. Ownership: borrows
// `client`, which must outlive it; the destructor stops and joins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>

#include "base/status.h"
#include "client/client.h"
#include "etcdserverpb/rpc.pb.h"

namespace etcdd::client {

class LeaseKeepAlive {
 public:
  // Starts keeping lease `id` alive.
  LeaseKeepAlive(Client& client, int64_t id);
  ~LeaseKeepAlive();
  LeaseKeepAlive(const LeaseKeepAlive&) = delete;
  LeaseKeepAlive& operator=(const LeaseKeepAlive&) = delete;

  // Blocks for the next answer (TTL in seconds); false once the keep-alive
  // has ended and every queued answer was read.
  bool Next(etcdserverpb::LeaseKeepAliveResponse* out);

  // Blocks until the keep-alive ends (returns true) or `stop` is requested
  // (returns false), whichever comes first.
  bool WaitEnded(std::stop_token stop);

  // Ends the keep-alive; the lease itself is left to expire. Idempotent.
  void Stop();

 private:
  struct Stream;
  using Clock = std::chrono::steady_clock;

  void Run();
  void ReadStream(Stream* stream);
  void End();  // with mu_ held

  Client& client_;
  const int64_t id_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  bool ended_ = false;                                      // GUARDED_BY(mu_)
  bool stream_failed_ = false;                              // GUARDED_BY(mu_)
  Clock::time_point next_send_;                             // GUARDED_BY(mu_)
  Clock::time_point deadline_;                              // GUARDED_BY(mu_)
  std::deque<etcdserverpb::LeaseKeepAliveResponse> queue_;  // GUARDED_BY(mu_)
  std::unique_ptr<Stream> stream_;                          // GUARDED_BY(mu_)
  std::thread thread_;
};

// Renews lease `id` once over a fresh LeaseKeepAlive stream (clientv3's
// KeepAliveOnce), retrying on UNAVAILABLE or INTERNAL until the command
// timeout. Errors: NotFound "etcdserver: requested lease not found" when the
// server answers TTL <= 0; the stream's error otherwise.
Result<etcdserverpb::LeaseKeepAliveResponse> KeepAliveOnce(Client& client, int64_t id);

}  // namespace etcdd::client
