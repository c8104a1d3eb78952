// Hand-run micro-benchmark of lib/mvcc (never run in CI, no assertions):
// batched put throughput, concurrent point reads, and memory after N keys.
//   mvcc_bench [keys=100000] [value_bytes=256] [batch=1000] [readers=4] [reads=400000]
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mvcc/store.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

long StatusKiB(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(f, line)) {
    if (line.rfind(prefix, 0) == 0) return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
  }
  return -1;
}

long RssKiB() { return StatusKiB("VmRSS"); }

std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "/bench/key/%08d", i);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const int keys = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int value_bytes = argc > 2 ? std::atoi(argv[2]) : 256;
  const int batch = argc > 3 ? std::atoi(argv[3]) : 1000;
  const int readers = argc > 4 ? std::atoi(argv[4]) : 4;
  const int reads = argc > 5 ? std::atoi(argv[5]) : 400000;

  std::string dir = (std::filesystem::temp_directory_path() / "mvcc_bench.XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) return 1;
  const long rss0 = RssKiB();
  auto opened = etcdd::mvcc::Store::Open(dir, etcdd::mvcc::Options());
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  auto store = std::move(opened).value();
  const std::string value(value_bytes, 'v');

  // Puts: `keys` new keys, then as many overwrites of random keys.
  std::mt19937 rng(1);
  etcdserverpb::PutRequest put;
  put.set_value(value);
  for (int round = 0; round < 2; ++round) {
    const auto start = Clock::now();
    for (int i = 0; i < keys; i += batch) {
      auto txn = std::move(store->BeginWrite()).value();
      for (int j = i; j < std::min(keys, i + batch); ++j) {
        put.set_key(Key(round == 0 ? j : static_cast<int>(rng() % keys)));
        if (!txn->Put(put).ok()) return 1;
      }
      txn->SetConsistentIndex(static_cast<uint64_t>(i), 1);
      if (!txn->Commit().ok()) return 1;
    }
    const double s = Seconds(start);
    std::printf("%s puts: %d in %.3f s = %.0f puts/s (batch %d)\n",
                round == 0 ? "create" : "overwrite", keys, s, keys / s, batch);
  }
  std::printf(
      "rss: %ld KiB before open, %ld KiB after %d keys x 2 revisions (anon %ld, file %ld; heap "
      "in use %zu KiB); db %.1f MiB\n",
      rss0, RssKiB(), keys, StatusKiB("RssAnon"), StatusKiB("RssFile"), mallinfo2().uordblks / 1024,
      store->DbSizeBytes() / 1048576.0);

  // Point reads from `readers` threads.
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < readers; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 r(static_cast<unsigned>(t));
      etcdserverpb::RangeRequest req;
      for (int i = 0; i < reads / readers; ++i) {
        req.set_key(Key(static_cast<int>(r() % keys)));
        auto resp = store->Range(req);
        if (!resp.ok() || resp->kvs_size() != 1) std::abort();
      }
    });
  }
  for (auto& t : threads) t.join();
  double s = Seconds(start);
  std::printf("point reads: %d from %d threads in %.3f s = %.0f reads/s\n", reads, readers, s,
              reads / s);

  // Range of 100 keys.
  start = Clock::now();
  etcdserverpb::RangeRequest req;
  req.set_limit(100);
  const int ranges = 20000;
  for (int i = 0; i < ranges; ++i) {
    req.set_key(Key(static_cast<int>(rng() % keys)));
    req.set_range_end("/bench/key0");
    if (!store->Range(req).ok()) return 1;
  }
  s = Seconds(start);
  std::printf("range limit 100: %d in %.3f s = %.0f ranges/s\n", ranges, s, ranges / s);
  std::printf("rss at end: %ld KiB\n", RssKiB());
  store.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
