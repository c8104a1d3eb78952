// Watches over one gRPC Watch stream, with the semantics of etcd's Go client
// (clientv3 watch.go), which etcdctl and the concurrency recipes rely on.
//
//   Watcher w(client, /*require_leader=*/true);
//   int id = w.Watch(create_request);
//   client::WatchResponse r;
//   while (w.Next(id, &r)) { ...r.response.events()...; if (!r.err.ok()) ... }
//
// What a watch delivers, as clientv3 does:
//   - The server's "created" acknowledgement is swallowed; every other
//     response for the watch is delivered in order: events, progress
//     notifications, and a final canceled one.
//   - Progress notifications that the server broadcasts (watch id -1, the
//     answer to RequestProgress) go to every watch on the stream.
//   - A watch whose start revision was compacted ends with a response
//     carrying compact_revision and canceled, whose err is "etcdserver: mvcc:
//     required revision has been compacted".
//   - A watch the server cancels for another reason (cancel_reason, or no
//     compact revision) ends without a final response.
//   - When the stream breaks with UNAVAILABLE or INTERNAL, the watcher waits
//     for a reachable endpoint (failing over among Config::endpoints), opens
//     a new stream and re-creates every watch from the revision after the
//     last one it delivered, so no event is lost or repeated.
//   - Any other stream error, and "etcdserver: no leader" when
//     require_leader is set, ends every watch with a final response whose
//     err is that error (canceled set, no header: clientv3's closeErr
//     response).
//   - Close() ends every watch without a final response.
//
// The stream opens when the first watch is added and reopens for watches
// added after it failed. require_leader sends clientv3's "hasleader"
// metadata (WithRequireLeader): a member without a leader then refuses.
//
// Thread-safety: all methods may be called concurrently; Next for one watch
// from one thread at a time. Ownership: the Watcher borrows `client`, which
// must outlive it; its destructor closes the stream and joins its thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "base/status.h"
#include "client/client.h"
#include "etcdserverpb/rpc.pb.h"

namespace etcdd::client {

// One response on a watch, as clientv3.WatchResponse.
struct WatchResponse {
  // header, events, compact_revision and canceled as the server sent them;
  // watch_id, created, cancel_reason and fragment cleared. No header on a
  // response made up for a failed stream.
  etcdserverpb::WatchResponse response;
  // clientv3's WatchResponse.Err(): Ok while the watch goes on; on the last
  // response the reason it ended ("etcdserver: mvcc: required revision has
  // been compacted", the stream's error).
  Status err;

  // clientv3's IsProgressNotify: no events, not canceled, and a revision.
  bool IsProgressNotify() const;
};

class Watcher {
 public:
  Watcher(Client& client, bool require_leader);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Starts a watch for `request` (key, range_end, start_revision, prev_kv,
  // progress_notify, filters) and returns its handle for Next. Does not
  // wait for the server; a watch the server refuses ends with a final
  // response carrying the refusal. After Close() the watch ends at once.
  int Watch(const etcdserverpb::WatchCreateRequest& request);

  // Blocks until the watch `handle` has a response and stores it in `out`;
  // returns false once the watch has ended and its responses are consumed.
  bool Next(int handle, WatchResponse* out);

  // Asks the server for a progress notification on every watch of the
  // stream (clientv3's RequestProgress). Without an open stream there is
  // nobody to notify and nothing is sent. Errors: Unavailable when the
  // request cannot be written (the stream broke; it is being reopened).
  Status RequestProgress();

  // Ends every watch and stops the stream. Idempotent; safe from any thread.
  void Close();

 private:
  struct Sub;
  struct Stream;

  void Run();
  bool OpenStream(bool after_failure);
  void ReadStream(Stream* stream);
  void Dispatch(etcdserverpb::WatchResponse resp);                              // with mu_ held
  void Deliver(Sub& sub, const etcdserverpb::WatchResponse& resp, Status err);  // mu_ held
  void EndAll(const Status& err);                                               // mu_ held
  void SendNextCreate();                                                        // mu_ held
  Status Send(const etcdserverpb::WatchRequest& req);                           // mu_ held

  Client& client_;
  const bool require_leader_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;                       // GUARDED_BY(mu_)
  int next_handle_ = 0;                       // GUARDED_BY(mu_)
  std::map<int, std::unique_ptr<Sub>> subs_;  // GUARDED_BY(mu_); live watches
  std::deque<int> creating_;                  // GUARDED_BY(mu_); awaiting "created", in send order
  std::map<int64_t, int> by_server_id_;       // GUARDED_BY(mu_)
  std::unique_ptr<Stream> stream_;            // GUARDED_BY(mu_); the open stream, if any
  std::thread thread_;
};

}  // namespace etcdd::client
