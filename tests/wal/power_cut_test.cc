// Power cuts during group commit: a WAL written through a FaultEnv loses
// power after a seeded number of disk calls, everything not fsynced is
// dropped (or, in half of the runs, a random in-order prefix of it is kept),
// and the log is reopened with the real env. Every batch whose Save returned
// OK must be there, no entry may appear half-written, and the WAL must take
// appends again. Set ETCDD_SEED to replay one run; each run prints its seed
// on failure.
#include <cstdlib>
#include <optional>
#include <random>

#include "base/fault_env.h"
#include "wal_test_util.h"

namespace etcdd::wal::testing {
namespace {

constexpr int kRuns = 200;
constexpr int kBatchesPerRun = 40;

// The log after each batch a run tried to save, and each batch itself.
struct History {
  std::vector<std::vector<raftpb::Entry>> logs{{}};  // logs[0]: empty
  std::vector<std::vector<raftpb::Entry>> batches{{}};
};

std::vector<raftpb::Entry> After(const std::vector<raftpb::Entry>& log, uint64_t index) {
  std::vector<raftpb::Entry> out;
  for (const auto& e : log) {
    if (e.index() > index) out.push_back(e);
  }
  return out;
}

// True if `got` (entries after `from`) is the log after batch j >= acked, or
// the log before batch j > acked with a prefix of batch j's whole records
// (what a torn tail leaves once repaired).
::testing::AssertionResult IsDurableState(const History& h, size_t acked,
                                          const std::vector<raftpb::Entry>& got, uint64_t from) {
  for (size_t j = acked; j < h.logs.size(); ++j) {
    if (SameEntries(got, After(h.logs[j], from))) return ::testing::AssertionSuccess();
    if (j == acked) continue;
    const auto& batch = h.batches[j];
    std::vector<raftpb::Entry> base;
    for (const auto& e : h.logs[j - 1]) {
      if (e.index() < batch.front().index()) base.push_back(e);
    }
    for (size_t k = 1; k < batch.size(); ++k) {
      base.push_back(batch[k - 1]);
      if (SameEntries(got, After(base, from))) return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure()
         << got.size() << " entries after index " << from
         << " match no durable state at or after acknowledged batch " << acked << " (last index "
         << (got.empty() ? 0 : got.back().index()) << ", acknowledged log ends at "
         << (h.logs[acked].empty() ? 0 : h.logs[acked].back().index()) << ")";
}

// Writes batches like a Raft member: each appends 1-6 entries (sometimes
// rewriting an uncommitted suffix at a new term), commits some, and now and
// then a commit-only HardState (not synced) or a snapshot marker followed by
// release and purge. Stops at the first error. Returns how many batches
// were acknowledged (Save returned OK).
size_t WriteUntilPowerFails(Wal& wal, std::mt19937_64& rng, History* h) {
  uint64_t term = 1;
  uint64_t commit = 0;
  size_t acked = 0;
  for (int b = 1; b <= kBatchesPerRun; ++b) {
    std::vector<raftpb::Entry> log = h->logs.back();
    const uint64_t last = log.empty() ? 0 : log.back().index();
    uint64_t first = last + 1;
    if (rng() % 5 == 0 && last > commit) {
      first = commit + 1 + rng() % (last - commit);  // a new leader overwrites
      ++term;
    }
    auto batch = MakeEntries(first, first + rng() % 6, term, 10 + rng() % 600);
    log.resize(first - 1);  // the model keeps every entry: log[i] has index i + 1
    log.insert(log.end(), batch.begin(), batch.end());
    commit =
        std::max(commit, log.back().index() - std::min<uint64_t>(log.back().index(), rng() % 3));
    h->logs.push_back(log);
    h->batches.push_back(batch);
    if (!wal.Save(MakeState(term, 1, commit), batch).ok()) return acked;
    acked = h->logs.size() - 1;
    if (rng() % 4 == 0 && !wal.Save(MakeState(term, 1, log.back().index()), {}).ok()) break;
    if (rng() % 8 == 0 && commit > 0) {
      const uint64_t at = commit;
      const uint64_t at_term = log[at - 1].term();
      if (!wal.SaveSnapshot({at, at_term}).ok() || !wal.ReleaseTo(at).ok() ||
          !wal.PurgeReleased(2).ok()) {
        break;
      }
    }
  }
  return acked;
}

void RunOnce(uint64_t seed, const std::string& dir, Logger& logger) {
  std::mt19937_64 rng(seed);
  FaultEnv env;
  const Options faulty{4096 + 1024 * (rng() % 8), &env};
  env.CutPowerAfter(rng() % 200);
  History h;
  size_t acked = 0;
  {
    auto w = Wal::Create(dir, "meta", logger, faulty);
    if (w.ok()) acked = WriteUntilPowerFails(**w, rng, &h);
  }
  const auto mode =
      rng() % 2 == 0 ? FaultEnv::Unsynced::kDropAll : FaultEnv::Unsynced::kKeepRandomPrefix;
  ASSERT_TRUE(env.PowerCut(mode, rng()).ok());
  if (!Wal::Exists(dir)) {
    // The power failed before the first segment was durably in place;
    // nothing was acknowledged, and a restart creates the WAL again.
    ASSERT_EQ(acked, 0u);
    return;
  }

  const Options real{faulty.segment_bytes};
  auto markers = Wal::ValidSnapshotMarkers(dir, logger);
  ASSERT_TRUE(markers.ok()) << markers.status().ToString();
  ASSERT_FALSE(markers->empty());
  const SnapshotMarker from = markers->back();
  auto opened = Wal::Open(dir, from, logger, real);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  const std::vector<raftpb::Entry>& got = opened->second.entries;
  EXPECT_TRUE(IsDurableState(h, acked, got, from.index));
  // The member starts: the log takes appends and replays them.
  const uint64_t next = got.empty() ? from.index + 1 : got.back().index() + 1;
  const uint64_t term = 1000;
  ASSERT_TRUE(
      opened->first->Save(MakeState(term, 1, from.index), MakeEntries(next, next, term)).ok());
  opened->first.reset();
  auto again = Wal::Open(dir, from, logger, real);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_FALSE(again->second.entries.empty());
  EXPECT_EQ(again->second.entries.back().index(), next);
}

using WalPowerCutTest = WalTest;

TEST_F(WalPowerCutTest, AcknowledgedBatchesSurvivePowerCutDuringGroupCommit) {
  const char* fixed = std::getenv("ETCDD_SEED");
  const uint64_t base =
      fixed != nullptr ? std::strtoull(fixed, nullptr, 10) : std::random_device{}();
  const int runs = fixed != nullptr ? 1 : kRuns;
  std::printf("WalPowerCutTest: base seed %llu (%d runs; ETCDD_SEED=<seed> replays one)\n",
              static_cast<unsigned long long>(base), runs);
  for (int i = 0; i < runs; ++i) {
    const uint64_t seed = base + static_cast<uint64_t>(i);
    SCOPED_TRACE("ETCDD_SEED=" + std::to_string(seed));
    const std::string dir = root_ + "/run" + std::to_string(i);
    RunOnce(seed, dir, *logger_);
    std::filesystem::remove_all(dir);
    if (HasFatalFailure() || HasNonfatalFailure()) return;
  }
}

}  // namespace
}  // namespace etcdd::wal::testing
