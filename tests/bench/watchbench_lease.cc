// watchbench's lease modes: LeaseGrant throughput and LeaseKeepAlive stream
// throughput. See watchbench.cc for what each measures.
#include <algorithm>
#include <mutex>
#include <thread>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "watchbench.h"

namespace watchbench {
namespace {

using LeaseStubs = std::vector<std::unique_ptr<etcdserverpb::Lease::Stub>>;

grpc::Status Internal(std::string msg) {
  return grpc::Status(grpc::StatusCode::INTERNAL, std::move(msg));
}

LeaseStubs NewStubs(const Channels& channels) {
  LeaseStubs stubs;
  for (const auto& ch : channels) stubs.push_back(etcdserverpb::Lease::NewStub(ch));
  return stubs;
}

// One LeaseGrant with a server-chosen id; stores the id in *id when given.
grpc::Status Grant(etcdserverpb::Lease::Stub& stub, int ttl_s, int64_t* id) {
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(ttl_s);
  etcdserverpb::LeaseGrantResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(10));
  grpc::Status st = stub.LeaseGrant(&ctx, req, &resp);
  if (st.ok() && !resp.error().empty()) return Internal("lease grant: " + resp.error());
  if (st.ok() && id != nullptr) *id = resp.id();
  return st;
}

// Sends `requests` keep-alives for `ids` (round robin) on one stream with up
// to `window` unanswered; every response must report a live lease (TTL > 0).
grpc::Status KeepAlive(etcdserverpb::Lease::Stub& stub, const std::vector<int64_t>& ids,
                       int requests, int window, double timeout_s) {
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(timeout_s));
  auto rw = stub.LeaseKeepAlive(&ctx);
  int sent = 0;
  int received = 0;
  bool writable = true;
  auto send = [&] {
    etcdserverpb::LeaseKeepAliveRequest req;
    req.set_id(ids[sent % ids.size()]);
    ++sent;
    writable = rw->Write(req);
  };
  while (writable && sent < std::min(window, requests)) send();
  etcdserverpb::LeaseKeepAliveResponse resp;
  while (received < sent && rw->Read(&resp)) {
    ++received;
    if (resp.ttl() <= 0) {
      const int64_t dead = resp.id();
      ctx.TryCancel();
      while (rw->Read(&resp)) {
      }
      rw->Finish();  // CANCELLED, as asked
      return Internal("keep-alive of lease " + std::to_string(dead) + ": not found");
    }
    if (writable && sent < requests) send();
  }
  rw->WritesDone();
  grpc::Status st = rw->Finish();
  if (st.ok() && received < requests)
    return Internal("keep-alive stream ended after " + std::to_string(received) + " responses");
  return st;
}

}  // namespace

Outcome RunLeaseGrant(const Options& o) {
  Outcome out;
  Channels channels = Dial(o.endpoint, std::min(o.conns, o.clients));
  if (out.status = Connect(channels, o.timeout_s); !out.status.ok()) return out;
  LeaseStubs stubs = NewStubs(channels);
  Load load = RunUnary(o.clients, o.total, [&](int client, int) {
    return Grant(*stubs[client % stubs.size()], o.ttl, nullptr);
  });
  if (out.status = load.error; !out.status.ok()) return out;
  out.fields.Add("clients", o.clients);
  out.fields.Add("conns", static_cast<int>(channels.size()));
  out.fields.Add("total", o.total);
  out.fields.Add("seconds", load.Seconds());
  out.fields.Add("grants_per_s", load.PerSecond());
  out.fields.Add("p50_ms", load.PercentileMs(0.5));
  out.fields.Add("p99_ms", load.PercentileMs(0.99));
  return out;
}

Outcome RunLeaseKeepAlive(const Options& o) {
  Outcome out;
  Channels channels = Dial(o.endpoint, std::min(o.conns, o.streams));
  if (out.status = Connect(channels, o.timeout_s); !out.status.ok()) return out;
  LeaseStubs stubs = NewStubs(channels);
  std::vector<int64_t> ids(o.leases);
  Load granted = RunUnary(std::min(o.clients, o.leases), o.leases, [&](int client, int n) {
    return Grant(*stubs[client % stubs.size()], o.ttl, &ids[n]);
  });
  if (out.status = granted.error; !out.status.ok()) return out;

  std::mutex mu;  // guards out.status
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int s = 0; s < o.streams; ++s) {
    std::vector<int64_t> mine;  // leases s, s + S, ...; lease s mod L when S > L
    for (int j = s; j < o.leases; j += o.streams) mine.push_back(ids[j]);
    if (mine.empty()) mine.push_back(ids[s % o.leases]);
    const int requests = o.total / o.streams + (s < o.total % o.streams ? 1 : 0);
    if (requests == 0) continue;
    threads.emplace_back([&, s, requests, mine = std::move(mine)] {
      grpc::Status st = KeepAlive(*stubs[s % stubs.size()], mine, requests, o.window, o.timeout_s);
      std::lock_guard<std::mutex> lock(mu);
      if (!st.ok() && out.status.ok()) out.status = st;
    });
  }
  for (auto& t : threads) t.join();
  const double secs = Seconds(start, Clock::now());
  if (!out.status.ok()) return out;
  out.fields.Add("leases", o.leases);
  out.fields.Add("streams", o.streams);
  out.fields.Add("conns", static_cast<int>(channels.size()));
  out.fields.Add("window", o.window);
  out.fields.Add("total", o.total);
  out.fields.Add("seconds", secs);
  out.fields.Add("requests_per_s", static_cast<double>(o.total) / secs);
  return out;
}

}  // namespace watchbench
