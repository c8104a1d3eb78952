// Randomized simulation of 3- and 5-member groups (see sim.h): safety checked
// after every step under message loss, duplication, reordering, partitions,
// crashes and restarts; liveness checked once the faults stop.
#include "sim.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace etcdd::raft::sim {
namespace {

// RAFT_SIM_SEEDS overrides the number of seeds per test (soak runs);
// RAFT_SIM_SEED the first seed (to replay a failure: RAFT_SIM_SEED=<seed>
// RAFT_SIM_SEEDS=1 raft_test --gtest_filter=Simulation.<test>).
int Seeds(int fallback) {
  const char* env = std::getenv("RAFT_SIM_SEEDS");
  return env != nullptr ? std::atoi(env) : fallback;
}

uint64_t FirstSeed(uint64_t fallback) {
  const char* env = std::getenv("RAFT_SIM_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : fallback;
}

// The raft library aborts on a broken invariant, before gtest can print the
// seed; a SIGABRT handler prints it (only async-signal-safe calls).
char abort_note[128];

void PrintSeedOnAbort(int) {
  ssize_t unused = write(STDERR_FILENO, abort_note, std::strlen(abort_note));
  (void)unused;
}

void RunSeeds(Options base, int seeds, int chaos_steps) {
  std::signal(SIGABRT, PrintSeedOnAbort);
  base.seed = FirstSeed(base.seed);
  Stats total;
  for (int i = 0; i < seeds; ++i) {
    Options o = base;
    o.seed = base.seed + static_cast<uint64_t>(i);
    const std::string note = "seed " + std::to_string(o.seed) + " (" + std::to_string(o.members) +
                             " members); replay with RAFT_SIM_SEED=" + std::to_string(o.seed) +
                             " RAFT_SIM_SEEDS=1";
    std::snprintf(abort_note, sizeof(abort_note), "raft sim aborted at %s\n", note.c_str());
    SCOPED_TRACE(note);
    Cluster c(o);
    c.Chaos(chaos_steps);
    ASSERT_FALSE(::testing::Test::HasFailure()) << "safety violated during chaos";
    c.Heal();
    EXPECT_TRUE(c.Converge("after-heal", 300)) << "no leader/commit within 300 ticks of healing:\n"
                                               << c.DebugString();
    ASSERT_FALSE(::testing::Test::HasFailure());
    const Stats& s = c.stats();
    total.elections += s.elections;
    total.crashes += s.crashes;
    total.reads_answered += s.reads_answered;
    total.max_commit += s.max_commit;
    total.snapshots_installed += s.snapshots_installed;
    total.conf_changes_applied += s.conf_changes_applied;
    total.transfers += s.transfers;
    total.isolated_snapshots += s.isolated_snapshots;
  }
  std::signal(SIGABRT, SIG_DFL);
  // The runs must have exercised something.
  EXPECT_GT(total.elections, seeds);
  EXPECT_GT(total.max_commit, static_cast<uint64_t>(seeds) * 10);
  EXPECT_GT(total.reads_answered, 0);
  if (base.crashes) {
    EXPECT_GT(total.crashes, 0);
  }
  if (base.compaction) {
    EXPECT_GT(total.snapshots_installed, 0);
  }
  if (base.isolate_one) {
    // Most isolated members fell behind compaction and needed a snapshot.
    EXPECT_GT(total.isolated_snapshots, seeds / 2);
  }
  if (base.conf_changes) {
    EXPECT_GT(total.conf_changes_applied, 0);
  }
  std::printf(
      "[ sim      ] %d seeds: %d elections, %d crashes, %d reads, %llu commits, %d snapshots "
      "installed, %d conf changes applied, %d transfers\n",
      seeds, total.elections, total.crashes, total.reads_answered,
      static_cast<unsigned long long>(total.max_commit), total.snapshots_installed,
      total.conf_changes_applied, total.transfers);
}

TEST(Simulation, ThreeMembers) {
  Options o;
  o.members = 3;
  o.seed = 1000;
  RunSeeds(o, Seeds(150), 20000);
}

TEST(Simulation, FiveMembers) {
  Options o;
  o.members = 5;
  o.seed = 5000;
  RunSeeds(o, Seeds(80), 20000);
}

TEST(Simulation, FiveMembersHeavyLoss) {
  Options o;
  o.members = 5;
  o.seed = 9000;
  o.drop = 0.3;
  o.duplicate = 0.1;
  o.reorder_window = 20;
  RunSeeds(o, Seeds(40), 20000);
}

// A member cut off during the whole chaos phase while the others compact
// their logs: after healing it catches up from a snapshot (no membership
// changes, so it stays a member).
TEST(Simulation, LongPartitionedMemberCatchesUpFromSnapshot) {
  Options o;
  o.members = 3;
  o.seed = 17000;
  o.isolate_one = true;
  o.conf_changes = false;
  RunSeeds(o, Seeds(40), 10000);
}

TEST(Simulation, WithoutPreVoteAndCheckQuorum) {
  Options o;
  o.members = 3;
  o.seed = 13000;
  o.pre_vote = false;
  o.check_quorum = false;
  RunSeeds(o, Seeds(60), 20000);
}

}  // namespace
}  // namespace etcdd::raft::sim
