// Behaviour of a healthy WAL: round trips, conflict resolution on replay,
// segment cuts, snapshot markers, locking and sticky errors.
#include <sys/resource.h>

#include <csignal>
#include <random>

#include "wal/segment.h"
#include "wal_test_util.h"

namespace etcdd::wal::testing {
namespace {

constexpr uint64_t kSmallSegment = 4096;

using WalBasicTest = WalTest;

TEST_F(WalBasicTest, CreateSaveReopenRoundTrip) {
  {
    auto w = Wal::Create(dir_, "cluster-meta", *logger_);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Save(MakeState(1, 2, 3), MakeEntries(1, 10, 1)).ok());
  }
  auto opened = Wal::Open(dir_, {}, *logger_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& [w, c] = *opened;
  EXPECT_EQ(c.metadata, "cluster-meta");
  EXPECT_EQ(c.hard_state.SerializeAsString(), MakeState(1, 2, 3).SerializeAsString());
  EXPECT_TRUE(SameEntries(c.entries, MakeEntries(1, 10, 1)));

  ASSERT_TRUE(w->Save(MakeState(2, 2, 10), MakeEntries(11, 12, 2)).ok());
  w.reset();
  auto again = Wal::Open(dir_, {}, *logger_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto want = MakeEntries(1, 10, 1);
  for (auto& e : MakeEntries(11, 12, 2)) want.push_back(e);
  EXPECT_TRUE(SameEntries(again->second.entries, want));
  EXPECT_EQ(again->second.hard_state.commit(), 10u);
  EXPECT_EQ(Log().find("warn"), std::string::npos) << Log();
}

TEST_F(WalBasicTest, FreshWalReplaysEmpty) {
  ASSERT_FALSE(Wal::Exists(dir_));
  ASSERT_TRUE(Wal::Create(dir_, "", *logger_).ok());
  EXPECT_TRUE(Wal::Exists(dir_));
  auto opened = Wal::Open(dir_, {}, *logger_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(opened->second.metadata.empty());
  EXPECT_TRUE(opened->second.entries.empty());
  EXPECT_EQ(opened->second.hard_state.term(), 0u);
  // The segment keeps its preallocated size.
  EXPECT_EQ(std::filesystem::file_size(SegmentPath(0)), kDefaultSegmentBytes);
}

TEST_F(WalBasicTest, CreateRefusesExistingWal) {
  ASSERT_TRUE(Wal::Create(dir_, "m", *logger_).ok());
  auto again = Wal::Create(dir_, "m", *logger_);
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);

  const std::string other = root_ + "/other";
  std::filesystem::create_directories(other);
  WriteBytes(other + "/stray.wal", "x");
  EXPECT_EQ(Wal::Create(other, "m", *logger_).status().code(), Code::kAlreadyExists);
}

TEST_F(WalBasicTest, OpenWithoutSegmentsIsNotFound) {
  EXPECT_EQ(Wal::Open(dir_, {}, *logger_).status().code(), Code::kNotFound);
  std::filesystem::create_directories(dir_);
  EXPECT_EQ(Wal::Open(dir_, {}, *logger_).status().code(), Code::kNotFound);
}

TEST_F(WalBasicTest, EmptySaveWritesNothing) {
  auto w = Wal::Create(dir_, "m", *logger_);
  ASSERT_TRUE(w.ok());
  std::string before = ReadBytes(SegmentPath(0));
  ASSERT_TRUE((*w)->Save(raftpb::HardState(), {}).ok());
  EXPECT_EQ(ReadBytes(SegmentPath(0)), before);
}

TEST_F(WalBasicTest, SecondOpenWhileInUseIsRefused) {
  ASSERT_TRUE(Wal::Create(dir_, "m", *logger_).ok());
  auto first = Wal::Open(dir_, {}, *logger_);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Wal::Open(dir_, {}, *logger_).status().code(), Code::kFailedPrecondition);
}

TEST_F(WalBasicTest, ConflictingSuffixLaterRecordsWin) {
  {
    auto w = Wal::Create(dir_, "m", *logger_);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Save(MakeState(1, 1, 2), MakeEntries(1, 5, 1)).ok());
    // A new leader overwrote 3.. with its own entries.
    ASSERT_TRUE((*w)->Save(MakeState(2, 2, 2), MakeEntries(3, 4, 2)).ok());
  }
  auto opened = Wal::Open(dir_, {}, *logger_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto want = MakeEntries(1, 2, 1);
  for (auto& e : MakeEntries(3, 4, 2)) want.push_back(e);
  EXPECT_TRUE(SameEntries(opened->second.entries, want));
  EXPECT_EQ(opened->second.hard_state.term(), 2u);
}

TEST_F(WalBasicTest, SegmentsAreCutAndReplayedInOrder) {
  Options opts{kSmallSegment};
  std::vector<raftpb::Entry> want;
  {
    auto w = Wal::Create(dir_, "meta", *logger_, opts);
    ASSERT_TRUE(w.ok());
    for (uint64_t i = 1; i <= 60; i += 3) {
      auto batch = MakeEntries(i, i + 2, 1, 300);
      ASSERT_TRUE((*w)->Save(MakeState(1, 1, i), batch).ok());
      want.insert(want.end(), batch.begin(), batch.end());
    }
    // Conflict straddling a cut: rewrite from 50 at term 2.
    auto batch = MakeEntries(50, 52, 2, 300);
    ASSERT_TRUE((*w)->Save(MakeState(2, 3, 49), batch).ok());
    want.resize(49);
    want.insert(want.end(), batch.begin(), batch.end());
  }
  auto files = SegmentFiles(dir_);
  ASSERT_GE(files.size(), 4u);
  for (size_t i = 0; i < files.size(); ++i) {
    auto name = internal::ParseSegmentFileName(files[i]);
    ASSERT_TRUE(name);
    EXPECT_EQ(name->seq, i);
  }
  EXPECT_EQ(internal::ParseSegmentFileName(files[0])->first_index, 1u);
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/" + files.back()), kSmallSegment);
  auto opened = Wal::Open(dir_, {}, *logger_, opts);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->second.metadata, "meta");
  EXPECT_TRUE(SameEntries(opened->second.entries, want));
  EXPECT_EQ(opened->second.hard_state.SerializeAsString(), MakeState(2, 3, 49).SerializeAsString());
  EXPECT_NE(Log().find("created a new WAL segment"), std::string::npos);
}

TEST_F(WalBasicTest, NewSegmentCarriesHardStateAndChainAcrossReopen) {
  Options opts{kSmallSegment};
  {
    auto w = Wal::Create(dir_, "meta", *logger_, opts);
    ASSERT_TRUE(w.ok());
    // One big batch fills the first segment and forces a cut right after it.
    ASSERT_TRUE((*w)->Save(MakeState(3, 1, 7), MakeEntries(1, 8, 3, 600)).ok());
  }
  ASSERT_EQ(SegmentFiles(dir_).size(), 2u);
  EXPECT_EQ(internal::ParseSegmentFileName(SegmentFiles(dir_)[1])->first_index, 9u);
  // Reading only the new segment still yields the HardState.
  {
    auto w = Wal::Open(dir_, {}, *logger_, opts);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_EQ(w->second.hard_state.commit(), 7u);
    ASSERT_TRUE(w->first->Save(MakeState(3, 1, 9), MakeEntries(9, 9, 3)).ok());
  }
  auto opened = Wal::Open(dir_, {}, *logger_, opts);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->second.entries.size(), 9u);
  EXPECT_EQ(opened->second.hard_state.commit(), 9u);
}

TEST_F(WalBasicTest, OpenFromSnapshotReturnsOnlyLaterEntries) {
  Options opts{kSmallSegment};
  {
    auto w = Wal::Create(dir_, "meta", *logger_, opts);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Save(MakeState(1, 1, 20), MakeEntries(1, 20, 1, 200)).ok());
    ASSERT_TRUE((*w)->SaveSnapshot({15, 1}).ok());
    ASSERT_TRUE((*w)->Save(MakeState(1, 1, 30), MakeEntries(21, 30, 1, 200)).ok());
  }
  ASSERT_GE(SegmentFiles(dir_).size(), 2u);
  auto opened = Wal::Open(dir_, {15, 1}, *logger_, opts);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(SameEntries(opened->second.entries, MakeEntries(16, 30, 1, 200)));
  EXPECT_EQ(opened->second.hard_state.commit(), 30u);
  opened->first.reset();

  EXPECT_EQ(Wal::Open(dir_, {15, 2}, *logger_, opts).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Wal::Open(dir_, {16, 1}, *logger_, opts).status().code(), Code::kNotFound);
}

// Entries 4..6 are rewritten from 4 (dropping 5 and 6) before the commit
// reaches 5 and a snapshot is taken there. Replaying after the snapshot must
// not bring back the dropped entry 6, although the rewrite itself is skipped.
TEST_F(WalBasicTest, RewriteBeforeTheSnapshotDropsEntriesAfterIt) {
  {
    auto w = Wal::Create(dir_, "meta", *logger_);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Save(MakeState(1, 1, 3), MakeEntries(1, 6, 1)).ok());
    ASSERT_TRUE((*w)->Save(MakeState(2, 2, 3), MakeEntries(4, 5, 2)).ok());
    ASSERT_TRUE((*w)->Save(MakeState(2, 2, 5), {}).ok());
    ASSERT_TRUE((*w)->SaveSnapshot({5, 2}).ok());
  }
  auto opened = Wal::Open(dir_, {5, 2}, *logger_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(opened->second.entries.empty());
  opened->first.reset();
  auto from_start = Wal::Open(dir_, {}, *logger_);
  ASSERT_TRUE(from_start.ok()) << from_start.status().ToString();
  auto want = MakeEntries(1, 3, 1);
  for (auto& e : MakeEntries(4, 5, 2)) want.push_back(e);
  EXPECT_TRUE(SameEntries(from_start->second.entries, want));
}

TEST_F(WalBasicTest, SnapshotFromLeaderAheadOfLogStartsNextSegmentAfterIt) {
  Options opts{kSmallSegment};
  {
    auto w = Wal::Create(dir_, "meta", *logger_, opts);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Save(MakeState(1, 1, 3), MakeEntries(1, 5, 1)).ok());
    // Installing a snapshot from the leader at 100, then following on.
    ASSERT_TRUE((*w)->SaveSnapshot({100, 4}).ok());
    ASSERT_TRUE((*w)->Save(MakeState(4, 2, 100), {}).ok());
    ASSERT_TRUE((*w)->Save(MakeState(4, 2, 110), MakeEntries(101, 130, 4, 300)).ok());
  }
  auto files = SegmentFiles(dir_);
  ASSERT_GE(files.size(), 2u);
  EXPECT_EQ(internal::ParseSegmentFileName(files[1])->first_index, 131u);
  auto opened = Wal::Open(dir_, {100, 4}, *logger_, opts);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(SameEntries(opened->second.entries, MakeEntries(101, 130, 4, 300)));
}

TEST_F(WalBasicTest, ErrorsAreSticky) {
  Options opts{64 << 10};
  auto w = Wal::Create(dir_, "m", *logger_, opts);
  ASSERT_TRUE(w.ok());
  // Limit file sizes so the write past the preallocated size fails with EFBIG.
  struct rlimit old;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = old;
  lim.rlim_cur = opts.segment_bytes;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  Status first = (*w)->Save(MakeState(1, 1, 1), MakeEntries(1, 200, 1, 1000));
  Status second = (*w)->Save(MakeState(1, 1, 1), MakeEntries(1, 1, 1));
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(first.ok());
  EXPECT_EQ(second.code(), first.code());
  EXPECT_EQ(second.message(), first.message());
  EXPECT_EQ((*w)->SaveSnapshot({1, 1}).message(), first.message());
}

// A random sequence of batches, conflicting rewrites, snapshot markers and
// reopens replays to the log a model keeps.
TEST_F(WalBasicTest, RandomizedSavesMatchModel) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937 rng(seed);
  Options opts{8192};
  std::vector<raftpb::Entry> model;
  raftpb::HardState state;
  uint64_t term = 1;
  auto w = Wal::Create(dir_, "meta", *logger_, opts);
  ASSERT_TRUE(w.ok());
  std::unique_ptr<Wal> wal = std::move(w).value();
  for (int step = 0; step < 60; ++step) {
    uint64_t last = model.empty() ? 0 : model.back().index();
    uint64_t commit = state.commit();
    uint64_t first = last + 1;
    if (rng() % 4 == 0 && last > commit) first = commit + 1 + rng() % (last - commit);
    if (first <= last) ++term;
    auto batch = MakeEntries(first, first + rng() % 6, term, rng() % 700);
    model.resize(first - 1);
    model.insert(model.end(), batch.begin(), batch.end());
    state = MakeState(term, 1, std::min<uint64_t>(model.back().index(), commit + rng() % 4));
    ASSERT_TRUE(wal->Save(state, batch).ok());
    if (rng() % 8 == 0) {
      wal.reset();
      auto opened = Wal::Open(dir_, {}, *logger_, opts);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      ASSERT_TRUE(SameEntries(opened->second.entries, model));
      ASSERT_EQ(opened->second.hard_state.SerializeAsString(), state.SerializeAsString());
      wal = std::move(opened->first);
    }
  }
  wal.reset();
  auto opened = Wal::Open(dir_, {}, *logger_, opts);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(SameEntries(opened->second.entries, model));
}

}  // namespace
}  // namespace etcdd::wal::testing
