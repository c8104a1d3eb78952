// A single member writing its WAL and snapshot files through a FaultEnv:
// power cuts during group commit, a power cut right after the WAL was
// released and purged, and a WAL append failing with ENOSPC or EIO. After
// each, the member restarts on the same data dir with the real env and
// every acknowledged put is there. Seeds are printed; ETCDD_SEED=<seed>
// replays one run.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "base/fault_env.h"
#include "base/log.h"
#include "server/server.h"

namespace etcdd::server {
namespace {

std::string ValueOf(const std::string& key) { return "value-of-" + key + std::string(40, 'v'); }

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/etcdd-server-fault-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    log_path_ = root_ + "/log.json";
    auto logger = Logger::Create({log_path_}, "warn");
    ASSERT_TRUE(logger.ok()) << logger.status().ToString();
    logger_ = std::move(logger).value();
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  ServerConfig Config(const std::string& dir, Env* env) {
    ServerConfig c;
    c.data_dir = dir;
    c.initial_cluster["default"] = {*ParseUrl("http://127.0.0.1:2380")};
    c.initial_advertise_peer_urls = c.initial_cluster["default"];
    c.listen_peer_urls = {*ParseUrl("http://127.0.0.1:0")};
    c.heartbeat_interval_ms = 2;
    c.election_timeout_ms = 10;
    c.wal_segment_bytes = 16 << 10;
    c.snapshot_count = 50;
    c.max_wals = 1;
    c.env = env;
    c.on_fatal = [this](std::string_view what, const Status& cause) {
      std::lock_guard lock(fatal_mu_);
      fatal_calls_.push_back({std::string(what), cause});
    };
    return c;
  }

  std::unique_ptr<EtcdServer> Start(const ServerConfig& cfg) {
    auto s = EtcdServer::Start(cfg, *logger_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return nullptr;
    Status ready = (*s)->WaitReady(std::chrono::seconds(10));
    EXPECT_TRUE(ready.ok()) << ready.ToString();
    return ready.ok() ? std::move(s).value() : nullptr;
  }

  // Puts keys "<prefix><i>" from `threads` threads at once (so proposals
  // share fsyncs); returns which were acknowledged and which failed.
  static std::map<std::string, Status> PutConcurrently(EtcdServer& s, const std::string& prefix,
                                                       int threads, int per_thread) {
    std::vector<std::pair<std::string, std::future<Status>>> pending;
    std::mutex mu;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          const std::string key = prefix + std::to_string(t * per_thread + i);
          etcdserverpb::PutRequest req;
          req.set_key(key);
          req.set_value(ValueOf(key));
          auto p = std::make_shared<std::promise<Status>>();
          {
            std::lock_guard lock(mu);
            pending.emplace_back(key, p->get_future());
          }
          s.Put(req, [p](Result<etcdserverpb::PutResponse> r) { p->set_value(r.status()); });
        }
      });
    }
    for (auto& w : workers) w.join();
    std::map<std::string, Status> out;
    for (auto& [key, f] : pending) out[key] = f.get();
    return out;
  }

  static Result<std::optional<std::string>> Get(EtcdServer& s, const std::string& key) {
    etcdserverpb::RangeRequest req;
    req.set_key(key);
    ASSIGN_OR_RETURN(auto resp, s.Range(req));
    if (resp.kvs_size() == 0) return std::optional<std::string>();
    return std::optional<std::string>(resp.kvs(0).value());
  }

  // Every acknowledged key is there; every key that is there is whole.
  void ExpectDurable(EtcdServer& s, const std::map<std::string, Status>& puts) {
    for (const auto& [key, status] : puts) {
      auto got = Get(s, key);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      if (status.ok()) {
        EXPECT_TRUE(got->has_value()) << "acknowledged put of " << key << " lost";
      }
      if (got->has_value()) {
        EXPECT_EQ(**got, ValueOf(key));
      }
    }
  }

  std::string Log() const {
    std::ifstream in(log_path_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string root_;
  std::string log_path_;
  std::unique_ptr<Logger> logger_;
  std::mutex fatal_mu_;
  std::vector<std::pair<std::string, Status>> fatal_calls_;
};

uint64_t BaseSeed(int* runs, int default_runs) {
  const char* fixed = std::getenv("ETCDD_SEED");
  *runs = fixed != nullptr ? 1 : default_runs;
  return fixed != nullptr ? std::strtoull(fixed, nullptr, 10) : std::random_device{}();
}

// The power fails at a random disk call while 4 clients put concurrently
// (group commit). Restarted with the real env, the member starts and holds
// every acknowledged put; a put that failed is absent or whole.
TEST_F(FaultTest, PowerCutDuringGroupCommitKeepsEveryAcknowledgedPut) {
  int runs = 0;
  const uint64_t base = BaseSeed(&runs, 200);
  std::printf("PowerCutDuringGroupCommit: base seed %llu (%d runs)\n",
              static_cast<unsigned long long>(base), runs);
  int cut_during_writes = 0;  // runs where the power failed before the last put
  for (int i = 0; i < runs; ++i) {
    const uint64_t seed = base + static_cast<uint64_t>(i);
    SCOPED_TRACE("ETCDD_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const std::string dir = root_ + "/m" + std::to_string(i);
    FaultEnv env;
    ServerConfig cfg = Config(dir, &env);
    cfg.snapshot_count = 10 + rng() % 30;
    std::map<std::string, Status> puts;
    {
      auto s = Start(cfg);
      ASSERT_NE(s, nullptr);
      env.CutPowerAfter(rng() % 40);
      for (int round = 0; round < 6; ++round) {
        puts.merge(PutConcurrently(*s, "k" + std::to_string(round) + "-", 4, 2));
      }
      bool all_ok = true;
      for (const auto& [k, st] : puts) all_ok = all_ok && st.ok();
      if (!all_ok) {
        // Only a lost disk fails a put here, and it is fatal.
        ++cut_during_writes;
        EXPECT_TRUE(s->FatalError().IsIOError(EIO)) << s->FatalError().ToString();
      }
      env.CutPowerAfter(0);  // whatever is left unsynced is lost with the power
      s->Stop();
    }
    const auto mode =
        rng() % 2 == 0 ? FaultEnv::Unsynced::kDropAll : FaultEnv::Unsynced::kKeepRandomPrefix;
    ASSERT_TRUE(env.PowerCut(mode, rng()).ok());
    auto s = Start(Config(dir, nullptr));
    ASSERT_NE(s, nullptr);
    ExpectDurable(*s, puts);
    s.reset();
    std::filesystem::remove_all(dir);
    if (HasFailure()) return;
  }
  std::printf("PowerCutDuringGroupCommit: the power failed while putting in %d of %d runs\n",
              cut_during_writes, runs);
}

// Snapshots every 10 entries with --max-wals=1 purge WAL segments while
// clients write; the power then fails. The WAL no longer holds the entries
// of the purged segments, so the backend must have them durably: the member
// restarts and every acknowledged put is there.
TEST_F(FaultTest, PowerCutAfterWalPurgeLosesNothingTheBackendWasToHold) {
  FaultEnv env;
  const std::string dir = root_ + "/m";
  ServerConfig cfg = Config(dir, &env);
  cfg.snapshot_count = 10;
  cfg.wal_segment_bytes = 8 << 10;
  std::map<std::string, Status> puts;
  {
    auto s = Start(cfg);
    ASSERT_NE(s, nullptr);
    // Rounds of a few concurrent puts: a round is one or two group commits,
    // so snapshots (and purges) happen between them.
    for (int round = 0; round < 40; ++round) {
      puts.merge(PutConcurrently(*s, "k" + std::to_string(round) + "-", 4, 2));
    }
    for (const auto& [k, st] : puts) ASSERT_TRUE(st.ok()) << k << ": " << st.ToString();
    env.CutPowerAfter(0);
    s->Stop();
  }
  // The first segment is gone: the test covered a release and purge.
  std::string files;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/member/wal")) {
    files += e.path().filename().string() + " ";
  }
  ASSERT_FALSE(std::filesystem::exists(dir + "/member/wal/0000000000000000-0000000000000001.wal"))
      << files << Log();
  ASSERT_TRUE(env.PowerCut().ok());
  auto s = Start(Config(dir, nullptr));
  ASSERT_NE(s, nullptr);
  ExpectDurable(*s, puts);
}

// A WAL append fails with the parameter's errno (after a short write): the
// put is not acknowledged, the member refuses writes from then on, the fatal
// handler gets the errno and the log etcd's message; with the disk healthy
// again it restarts with every acknowledged put.
class WalAppendErrorTest : public FaultTest, public ::testing::WithParamInterface<int> {};

TEST_P(WalAppendErrorTest, StopsWritesLogsEtcdsMessageAndRestartsCleanly) {
  const int err = GetParam();
  FaultEnv env;
  const std::string dir = root_ + "/m";
  std::map<std::string, Status> before;
  std::map<std::string, Status> during;
  {
    auto s = Start(Config(dir, &env));
    ASSERT_NE(s, nullptr);
    before = PutConcurrently(*s, "before", 2, 10);
    for (const auto& [k, st] : before) ASSERT_TRUE(st.ok()) << k << ": " << st.ToString();
    // The next WAL write stops after 7 bytes and fails, as on a full disk.
    env.InjectFault({FaultEnv::Op::kWrite, err, 0, UINT64_MAX, 7, "/wal/"});
    during = PutConcurrently(*s, "during", 2, 5);
    for (const auto& [k, st] : during) {
      EXPECT_FALSE(st.ok()) << k << " acknowledged although its WAL append failed";
    }
    EXPECT_TRUE(s->FatalError().IsIOError(err)) << s->FatalError().ToString();
    auto late = PutConcurrently(*s, "late", 1, 1);
    EXPECT_EQ(late.begin()->second.message(), s->FatalError().message());
    s->Stop();
  }
  {
    std::lock_guard lock(fatal_mu_);
    ASSERT_EQ(fatal_calls_.size(), 1u);
    EXPECT_EQ(fatal_calls_[0].first, "failed to save Raft hard state and entries");
    EXPECT_EQ(fatal_calls_[0].second.sys_errno(), err);
  }
  const std::string log = Log();
  EXPECT_NE(log.find(R"("level":"fatal")"), std::string::npos) << log;
  EXPECT_NE(log.find("failed to save Raft hard state and entries"), std::string::npos) << log;
  EXPECT_NE(log.find(std::strerror(err)), std::string::npos) << log;

  env.ClearFaults();  // space is back; the process restarts (no power cut)
  auto s = Start(Config(dir, nullptr));
  ASSERT_NE(s, nullptr);
  ExpectDurable(*s, before);
  ExpectDurable(*s, during);
  auto after = PutConcurrently(*s, "after", 1, 3);
  for (const auto& [k, st] : after) EXPECT_TRUE(st.ok()) << k << ": " << st.ToString();
}

INSTANTIATE_TEST_SUITE_P(Errno, WalAppendErrorTest, ::testing::Values(ENOSPC, EIO),
                         [](const auto& info) { return info.param == ENOSPC ? "ENOSPC" : "EIO"; });

}  // namespace
}  // namespace etcdd::server
