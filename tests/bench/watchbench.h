// watchbench internals: the options and helpers its modes share. Used only by
// the watchbench program (tests/bench/watchbench*.cc); not a library.
//
// Thread-safety: Options, Fields and Load are plain values owned by one thread.
// RunUnary starts and joins its own threads; its `call` runs concurrently on
// them. Channels are grpc::Channel, safe to share between threads.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace watchbench {

using Clock = std::chrono::steady_clock;
using Channels = std::vector<std::shared_ptr<grpc::Channel>>;

struct Options {
  std::string endpoint = "127.0.0.1:2379";
  std::string mode = "watch";  // watch | stalled | memory | lease-grant | lease-keepalive
  int watchers = 1000;         // watch, memory: watchers created
  int streams = 100;           // watch, memory: Watch streams; lease-keepalive: streams
  int conns = 10;              // connections the streams (or unary clients) spread over
  std::string keys = "same";   // same: every watcher on one key; distinct: watcher i on key i
  int puts = 1000;             // watch, stalled: puts by the writer (per phase for stalled)
  int put_clients = 10;        // concurrent writers (one connection per 10 writers)
  int val_size = 64;           // put value size in bytes
  int stalled = 100;           // stalled: streams that never read after their creation
  int server_pid = 0;          // memory (required), stalled (optional): server's pid for VmRSS
  int clients = 100;           // lease-grant: concurrent unary clients
  int total = 10000;           // lease-grant: grants; lease-keepalive: keep-alive requests
  int leases = 1000;           // lease-keepalive: leases kept alive
  int window = 16;             // lease-keepalive: requests in flight per stream
  int ttl = 3600;              // lease TTL in seconds (long: no expiry during a run)
  double timeout_s = 60;       // limit for each wait: creations, events, a keep-alive stream
};

// The members of one JSON object, in insertion order.
class Fields {
 public:
  void Add(std::string_view name, double value);
  void Add(std::string_view name, int64_t value);
  void Add(std::string_view name, int value) { Add(name, static_cast<int64_t>(value)); }
  void Add(std::string_view name, std::string_view value);
  // The members without braces: "a":1,"b":"x" (empty when none were added).
  const std::string& body() const { return body_; }

 private:
  void Name(std::string_view name);
  std::string body_;
};

// A string as a JSON string literal, quotes included.
std::string JsonString(std::string_view s);

// What a mode returns: its figures, or the first RPC error that stopped it
// (UNIMPLEMENTED: the server lacks the service).
struct Outcome {
  grpc::Status status;
  Fields fields;
};

// `n` channels to `endpoint`, each its own TCP connection. With
// `stream_window_bytes` > 0 a stream's HTTP/2 receive window stays that size
// (no BDP probing), so a stream the application does not read stalls its
// sender after that many bytes; by default gRPC C++ grows windows and buffers
// hundreds of MB that nobody reads.
Channels Dial(const std::string& endpoint, int n, int stream_window_bytes = 0);

// Waits until every channel is connected; UNAVAILABLE after `timeout_s`.
grpc::Status Connect(const Channels& channels, double timeout_s);

// The result of a closed-loop load of unary calls.
struct Load {
  int64_t done = 0;                // calls that succeeded
  Clock::time_point start, end;    // before the first call, after the last
  std::vector<double> latency_ms;  // sorted, one per successful call
  grpc::Status error;              // the first failure (the load stops at it)

  double Seconds() const;
  double PerSecond() const { return static_cast<double>(done) / Seconds(); }
  double PercentileMs(double p) const;  // p in [0, 1]; 0 when empty
};

// Runs `total` calls `call(client, n)` (n = 0..total-1, each once) on
// `clients` threads, each issuing its next call when the previous returns.
// Stops at the first failed call.
Load RunUnary(int clients, int total, const std::function<grpc::Status(int, int)>& call);

// Puts `total` values of `val_size` bytes with `clients` concurrent writers
// over their own connections; put n writes key_of(n).
Load RunPuts(const std::string& endpoint, int clients, int total, int val_size,
             const std::function<std::string(int)>& key_of);

// A deadline `timeout_s` from now, for a ClientContext.
std::chrono::system_clock::time_point DeadlineIn(double timeout_s);

// VmRSS of process `pid` in KiB (/proc/<pid>/status); -1 if unreadable.
int64_t RssKiB(int pid);

// Key n zero-padded to 6 digits under `prefix`.
std::string NumberedKey(std::string_view prefix, int n);

double Seconds(Clock::time_point from, Clock::time_point to);

Outcome RunWatch(const Options& o);           // watchbench_watch.cc
Outcome RunStalled(const Options& o);         // watchbench_watch.cc
Outcome RunMemory(const Options& o);          // watchbench_watch.cc
Outcome RunLeaseGrant(const Options& o);      // watchbench_lease.cc
Outcome RunLeaseKeepAlive(const Options& o);  // watchbench_lease.cc

}  // namespace watchbench
