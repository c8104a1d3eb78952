// Ping-pong micro-benchmark for lib/transport: member A sends a message to B,
// B's Handler sends it straight back, and A's main thread waits for it. Prints
// the p50/p99 round trip (two peer crossings) over N round trips.
// Usage: transport_pingpong [round_trips=20000]. Run by hand; not a ctest test.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include "base/log.h"
#include "transport/transport.h"

namespace {

using etcdd::transport::Options;
using etcdd::transport::Transport;
using Clock = std::chrono::steady_clock;

struct Pong {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t last = 0;  // index of the last message that came back
};

Options Opts(uint64_t id) {
  Options o;
  o.member_id = id;
  o.cluster_id = 0x1000;
  return o;
}

raftpb::Message Msg(uint64_t from, uint64_t to, uint64_t index) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_APP);
  m.set_from(from);
  m.set_to(to);
  m.set_index(index);
  return m;
}

std::unique_ptr<Transport> StartOrDie(const Options& o, etcdd::transport::Handler h,
                                      etcdd::Logger& log) {
  auto t = Transport::Start(
      o, {etcdd::Url{"http", "127.0.0.1", 0}}, std::move(h),
      [](const raftpb::Message&, std::string) { return etcdd::Status::Ok(); }, log);
  if (!t.ok()) {
    std::fprintf(stderr, "start: %s\n", t.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(t).value();
}

// One round trip of message `i`; false if it did not come back within 1 s.
bool RoundTrip(Transport& a, Pong& pong, uint64_t i) {
  std::vector<raftpb::Message> msgs;
  msgs.push_back(Msg(1, 2, i));
  a.Send(std::move(msgs));
  std::unique_lock lk(pong.mu);
  return pong.cv.wait_for(lk, std::chrono::seconds(1), [&] { return pong.last >= i; });
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  auto log = etcdd::Logger::Stderr(etcdd::LogLevel::kError);
  Pong pong;
  Transport* b_ptr = nullptr;
  auto a = StartOrDie(
      Opts(1),
      [&](raftpb::Message m) {
        std::lock_guard lk(pong.mu);
        pong.last = m.index();
        pong.cv.notify_all();
      },
      *log);
  auto b = StartOrDie(
      Opts(2),
      [&](raftpb::Message m) {
        std::vector<raftpb::Message> back;
        back.push_back(Msg(2, 1, m.index()));
        b_ptr->Send(std::move(back));
      },
      *log);
  b_ptr = b.get();
  const std::string a_url = "http://127.0.0.1:" + std::to_string(a->ListenPorts()[0]);
  const std::string b_url = "http://127.0.0.1:" + std::to_string(b->ListenPorts()[0]);
  if (!a->AddPeer(2, {b_url}).ok() || !b->AddPeer(1, {a_url}).ok()) return 1;
  uint64_t idx = 0;
  int lost = 0;
  for (int i = 0; i < 2000; ++i) RoundTrip(*a, pong, ++idx);  // warm-up, connect
  std::vector<double> us;
  us.reserve(n);
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    if (!RoundTrip(*a, pong, ++idx)) {
      ++lost;
      continue;
    }
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  if (us.empty()) return 1;
  auto pct = [&](double p) { return us[static_cast<size_t>(p * (us.size() - 1))]; };
  std::printf("round trips %zu lost %d  p50 %.1f us  p90 %.1f us  p99 %.1f us  max %.1f us\n",
              us.size(), lost, pct(0.5), pct(0.9), pct(0.99), us.back());
  b->Stop();
  a->Stop();
  return 0;
}
