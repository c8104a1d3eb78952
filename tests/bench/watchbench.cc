// watchbench: watch and lease load for any etcd v3 endpoint (etcd or etcdd),
// so one run measures both on the same machine. Driven by watch_compare.py.
//
//   watchbench --mode watch --watchers 10000 --streams 100 --keys same --puts 200
//   watchbench --mode watch --watchers 10000 --streams 100 --keys distinct --puts 20000
//   watchbench --mode stalled --stalled 100 --puts 20000
//   watchbench --mode memory --watchers 10000 --streams 100 --server-pid 1234
//   watchbench --mode lease-grant --clients 100 --conns 10 --total 10000
//   watchbench --mode lease-keepalive --leases 1000 --streams 10 --window 16 --total 100000
//
// Modes:
//   watch    --watchers N spread over --streams S (watcher i on stream i mod S,
//            stream s on connection s mod --conns), like etcd's benchmark tool
//            (`benchmark watch --streams S --watch-per-stream N/S`). --keys same:
//            all watch one key; distinct: watcher i watches key i. Once every
//            watcher is confirmed (created response), --put-clients writers do
//            --puts puts (same: to the key; distinct: put n to key n mod N), so
//            same delivers puts x N events and distinct delivers puts events.
//            events_per_s = events delivered / (first put sent .. last event
//            received); puts_per_s = puts / (first put sent .. last put acked).
//            event_responses counts the WatchResponses that carried them: etcd
//            batches a watcher's events when it falls behind, so events per
//            response (and events_per_s) vary from run to run.
//   stalled  put throughput with no watcher, then with --stalled streams that
//            each watch the written key, read their created response and never
//            read again. Their connections keep HTTP/2's 64 KiB stream window
//            (gRPC C++ would otherwise grow it and buffer everything), so the
//            server's sends block within a few hundred events and etcd parks
//            the watchers as slow (etcd_debugging_mvcc_slow_watcher_total).
//            Each phase does --puts puts. With --server-pid, also the server's
//            VmRSS growth over the stalled phase.
//   memory   server VmRSS (--server-pid) before opening the streams and after
//            every one of --watchers idle watchers is confirmed; bytes_per_watcher
//            = difference / N. Use a fresh server: a Go heap that grew earlier
//            hides the cost.
//   lease-grant      --total unary LeaseGrant calls (TTL --ttl) from --clients
//            threads over --conns connections: grants/s and latency.
//   lease-keepalive  grants --leases leases, then --streams LeaseKeepAlive
//            streams send --total requests in all (stream s renews leases s,
//            s+S, ...), keeping up to --window requests in flight: requests/s
//            (each request gets one response; every response must carry TTL > 0).
//
// Prints one JSON line: {"mode":...,<figures>}. When the server answers
// UNIMPLEMENTED, prints {"mode":...,"unsupported":"<message>"} and exits 3; on
// another error, {"mode":...,"error":"<code>: <message>"} and exits 1.
#include "watchbench.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "etcdserverpb/rpc.grpc.pb.h"

namespace watchbench {

void Fields::Name(std::string_view name) {
  if (!body_.empty()) body_ += ',';
  body_ += JsonString(name);
  body_ += ':';
}

void Fields::Add(std::string_view name, double value) {
  Name(name);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  body_ += buf;
}

void Fields::Add(std::string_view name, int64_t value) {
  Name(name);
  body_ += std::to_string(value);
}

void Fields::Add(std::string_view name, std::string_view value) {
  Name(name);
  body_ += JsonString(value);
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

Channels Dial(const std::string& endpoint, int n, int stream_window_bytes) {
  Channels channels;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);  // a real connection per channel
    args.SetMaxReceiveMessageSize(-1);
    if (stream_window_bytes > 0) {
      args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
      args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, stream_window_bytes);
    }
    channels.push_back(
        grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

grpc::Status Connect(const Channels& channels, double timeout_s) {
  auto deadline = DeadlineIn(timeout_s);
  for (const auto& ch : channels) {
    if (!ch->WaitForConnected(deadline))
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "could not connect");
  }
  return grpc::Status::OK;
}

double Load::Seconds() const { return watchbench::Seconds(start, end); }

double Load::PercentileMs(double p) const {
  if (latency_ms.empty()) return 0;
  return latency_ms[static_cast<size_t>(p * static_cast<double>(latency_ms.size() - 1))];
}

Load RunUnary(int clients, int total, const std::function<grpc::Status(int, int)>& call) {
  Load load;
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;  // guards load.error
  std::vector<std::vector<double>> latencies(clients);
  load.start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (int n; !failed.load() && (n = next.fetch_add(1)) < total;) {
        auto t0 = Clock::now();
        grpc::Status st = call(c, n);
        if (!st.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (!failed.exchange(true)) load.error = st;
          return;
        }
        latencies[c].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  load.end = Clock::now();
  for (auto& l : latencies) load.latency_ms.insert(load.latency_ms.end(), l.begin(), l.end());
  std::sort(load.latency_ms.begin(), load.latency_ms.end());
  load.done = static_cast<int64_t>(load.latency_ms.size());
  return load;
}

Load RunPuts(const std::string& endpoint, int clients, int total, int val_size,
             const std::function<std::string(int)>& key_of) {
  Channels channels = Dial(endpoint, (clients + 9) / 10);
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs;
  for (const auto& ch : channels) stubs.push_back(etcdserverpb::KV::NewStub(ch));
  const std::string value(val_size, 'v');
  return RunUnary(clients, total, [&](int client, int n) {
    etcdserverpb::PutRequest req;
    req.set_key(key_of(n));
    req.set_value(value);
    etcdserverpb::PutResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineIn(10));
    return stubs[client % stubs.size()]->Put(&ctx, req, &resp);
  });
}

std::chrono::system_clock::time_point DeadlineIn(double timeout_s) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(timeout_s));
}

int64_t RssKiB(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

std::string NumberedKey(std::string_view prefix, int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06d", n);
  return std::string(prefix) + buf;
}

double Seconds(Clock::time_point from, Clock::time_point to) {
  return std::max(std::chrono::duration<double>(to - from).count(), 1e-9);
}

}  // namespace watchbench

namespace {

void AddOptions(CLI::App& app, watchbench::Options& o) {
  app.add_option("--endpoint,--endpoints", o.endpoint, "host:port");
  app.add_option("--mode", o.mode)
      ->check(CLI::IsMember({"watch", "stalled", "memory", "lease-grant", "lease-keepalive"}));
  app.add_option("--watchers", o.watchers)->check(CLI::PositiveNumber);
  app.add_option("--streams", o.streams)->check(CLI::PositiveNumber);
  app.add_option("--conns", o.conns)->check(CLI::PositiveNumber);
  app.add_option("--keys", o.keys)->check(CLI::IsMember({"same", "distinct"}));
  app.add_option("--puts", o.puts)->check(CLI::PositiveNumber);
  app.add_option("--put-clients", o.put_clients)->check(CLI::PositiveNumber);
  app.add_option("--val-size", o.val_size)->check(CLI::NonNegativeNumber);
  app.add_option("--stalled", o.stalled)->check(CLI::PositiveNumber);
  app.add_option("--server-pid", o.server_pid)->check(CLI::PositiveNumber);
  app.add_option("--clients", o.clients)->check(CLI::PositiveNumber);
  app.add_option("--total", o.total)->check(CLI::PositiveNumber);
  app.add_option("--leases", o.leases)->check(CLI::PositiveNumber);
  app.add_option("--window", o.window)->check(CLI::PositiveNumber);
  app.add_option("--ttl", o.ttl)->check(CLI::PositiveNumber);
  app.add_option("--timeout", o.timeout_s, "seconds allowed for each wait")
      ->check(CLI::PositiveNumber);
}

watchbench::Outcome Run(const watchbench::Options& o) {
  if (o.mode == "watch") return watchbench::RunWatch(o);
  if (o.mode == "stalled") return watchbench::RunStalled(o);
  if (o.mode == "memory") return watchbench::RunMemory(o);
  if (o.mode == "lease-grant") return watchbench::RunLeaseGrant(o);
  return watchbench::RunLeaseKeepAlive(o);
}

}  // namespace

int main(int argc, char** argv) {
  watchbench::Options o;
  CLI::App app{"watchbench: etcd v3 watch and lease load generator"};
  AddOptions(app, o);
  CLI11_PARSE(app, argc, argv);
  if (o.mode == "memory" && o.server_pid == 0) {
    std::fprintf(stderr, "--mode memory needs --server-pid\n");
    return 2;
  }
  watchbench::Outcome out = Run(o);
  std::string head = "{\"mode\":" + watchbench::JsonString(o.mode);
  if (out.status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    std::printf("%s,\"unsupported\":%s}\n", head.c_str(),
                watchbench::JsonString(out.status.error_message()).c_str());
    return 3;
  }
  if (!out.status.ok()) {
    std::string msg = std::to_string(out.status.error_code()) + ": " + out.status.error_message();
    std::printf("%s,\"error\":%s}\n", head.c_str(), watchbench::JsonString(msg).c_str());
    return 1;
  }
  std::printf("%s,%s}\n", head.c_str(), out.fields.body().c_str());
  return 0;
}
