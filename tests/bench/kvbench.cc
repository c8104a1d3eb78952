// kvbench: a load generator for any etcd v3 endpoint (etcd or etcdd), so one
// run measures both on the same machine.
//
//   kvbench --endpoints 127.0.0.1:2379 --op put --clients 100 --conns 10 --total 20000
//   kvbench --endpoints 127.0.0.1:2379 --op range --consistency s --total 50000
//   kvbench --endpoints 127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379 --op put ...
//
// With several endpoints, connection i dials endpoint i mod N and client c
// uses connection c mod --conns, as etcd's tools/benchmark does: the load is
// spread over the members given, and a caller that wants "leader only" passes
// the leader's endpoint alone (tools/benchmark's --target-leader).
//
// Keys are --key-size bytes (zero-padded decimal) drawn uniformly from
// --key-space; values are --val-size bytes. Prints one JSON line: op,
// clients, number of endpoints, total requests, errors, seconds, throughput (requests/s) and
// latency percentiles in ms.
//
// --cacert dials TLS (verifying the server with that CA); --user/--password
// authenticate once and send the token with every call, as clients of a
// cluster with auth on do.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "etcdserverpb/rpc.grpc.pb.h"

namespace {

struct Options {
  std::vector<std::string> endpoints = {"127.0.0.1:2379"};
  std::string op = "put";
  std::string consistency = "l";
  int clients = 1;
  int conns = 1;
  int total = 10000;
  int key_space = 100000;
  int key_size = 8;
  int val_size = 256;
  bool sequential_keys = false;  // put keys 0..total-1 once each (to fill a store)
  std::string cacert;            // TLS: the server's CA (PEM file); empty: plaintext
  std::string user, password;    // auth: one Authenticate, then its token on every call
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}

std::string Key(int n, int size) {
  std::string k = std::to_string(n);
  if (static_cast<int>(k.size()) < size) k.insert(0, size - k.size(), '0');
  return k;
}

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[i];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"kvbench: etcd v3 load generator"};
  app.add_option("--endpoints,--endpoint", o.endpoints, "host:port[,host:port...]")->delimiter(',');
  app.add_option("--op", o.op)->check(CLI::IsMember({"put", "range"}));
  app.add_option("--consistency", o.consistency)->check(CLI::IsMember({"l", "s"}));
  app.add_option("--clients", o.clients)->check(CLI::PositiveNumber);
  app.add_option("--conns", o.conns)->check(CLI::PositiveNumber);
  app.add_option("--total", o.total)->check(CLI::PositiveNumber);
  app.add_option("--key-space", o.key_space)->check(CLI::PositiveNumber);
  app.add_option("--key-size", o.key_size)->check(CLI::PositiveNumber);
  app.add_option("--val-size", o.val_size)->check(CLI::NonNegativeNumber);
  app.add_flag("--sequential-keys", o.sequential_keys);
  app.add_option("--cacert", o.cacert, "TLS: verify the server with this CA bundle");
  app.add_option("--user", o.user, "authenticate as this user");
  app.add_option("--password", o.password);
  CLI11_PARSE(app, argc, argv);

  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!o.cacert.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(o.cacert);
    creds = grpc::SslCredentials(ssl);
  }
  std::string token;
  if (!o.user.empty()) {
    auto auth = etcdserverpb::Auth::NewStub(grpc::CreateChannel(o.endpoints[0], creds));
    grpc::ClientContext ctx;
    etcdserverpb::AuthenticateRequest req;
    req.set_name(o.user);
    req.set_password(o.password);
    etcdserverpb::AuthenticateResponse resp;
    if (grpc::Status st = auth->Authenticate(&ctx, req, &resp); !st.ok()) {
      std::fprintf(stderr, "authenticate: %s\n", st.error_message().c_str());
      return 1;
    }
    token = resp.token();
  }

  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs;
  for (int i = 0; i < o.conns; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);  // a real connection per stub
    args.SetMaxReceiveMessageSize(-1);
    stubs.push_back(etcdserverpb::KV::NewStub(
        grpc::CreateCustomChannel(o.endpoints[i % o.endpoints.size()], creds, args)));
  }
  const std::string value(o.val_size, 'v');
  std::atomic<int> next{0};
  std::atomic<int> errors{0};
  std::vector<std::vector<double>> latencies(o.clients);
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 rng(c + 1);
      std::uniform_int_distribution<int> pick(0, o.key_space - 1);
      auto& stub = *stubs[c % stubs.size()];
      for (int n; (n = next.fetch_add(1)) < o.total;) {
        std::string key = Key(o.sequential_keys ? n : pick(rng), o.key_size);
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        if (!token.empty()) ctx.AddMetadata("token", token);
        auto t0 = std::chrono::steady_clock::now();
        grpc::Status st;
        if (o.op == "put") {
          etcdserverpb::PutRequest req;
          req.set_key(key);
          req.set_value(value);
          etcdserverpb::PutResponse resp;
          st = stub.Put(&ctx, req, &resp);
        } else {
          etcdserverpb::RangeRequest req;
          req.set_key(key);
          req.set_serializable(o.consistency == "s");
          etcdserverpb::RangeResponse resp;
          st = stub.Range(&ctx, req, &resp);
        }
        auto t1 = std::chrono::steady_clock::now();
        if (!st.ok()) {
          if (errors.fetch_add(1) == 0)
            std::fprintf(stderr, "error: %s\n", st.error_message().c_str());
          continue;
        }
        latencies[c].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  std::printf(
      "{\"op\":\"%s\",\"consistency\":\"%s\",\"clients\":%d,\"endpoints\":%zu,\"total\":%d,"
      "\"errors\":%d,"
      "\"seconds\":%.3f,\"throughput\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f}\n",
      o.op.c_str(), o.consistency.c_str(), o.clients, o.endpoints.size(), o.total, errors.load(),
      secs, static_cast<double>(all.size()) / secs, Percentile(all, 0.5), Percentile(all, 0.9),
      Percentile(all, 0.99));
  return errors.load() == 0 ? 0 : 1;
}
