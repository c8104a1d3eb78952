// Releasing and purging segments after a snapshot (Wal::ReleaseTo and
// Wal::PurgeReleased: etcd's ReleaseLockTo and purgeFile with --max-wals),
// and restarting from what is left.
#include <random>

#include "wal_test_util.h"

namespace etcdd::wal::testing {
namespace {

constexpr uint64_t kSegment = 4096;

class WalPurgeTest : public WalTest {
 protected:
  // A WAL of entries 1..last with a marker every `every` entries, left open.
  void Build(uint64_t last, uint64_t every) {
    auto w = Wal::Create(dir_, "meta", *logger_, Options{kSegment});
    ASSERT_TRUE(w.ok());
    wal_ = std::move(w).value();
    ASSERT_TRUE(WriteLog(*wal_, 1, last, every, &written_));
  }

  // Position of the segment Open starts at for a marker at `index`: the last
  // one whose first index is <= index.
  static size_t SegmentOf(const std::vector<internal::SegmentName>& segments, uint64_t index) {
    size_t i = 0;
    while (i + 1 < segments.size() && segments[i + 1].first_index <= index) ++i;
    return i;
  }

  static std::vector<std::string> Files(const std::vector<internal::SegmentName>& segments,
                                        size_t from) {
    std::vector<std::string> out;
    for (size_t i = from; i < segments.size(); ++i) out.push_back(segments[i].file);
    return out;
  }

  void ExpectOpensFrom(const SnapshotMarker& m) {
    auto opened = Wal::Open(dir_, m, *logger_, Options{kSegment});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_TRUE(SameEntries(opened->second.entries, written_.After(m.index)));
    EXPECT_EQ(opened->second.hard_state.SerializeAsString(), written_.state.SerializeAsString());
    EXPECT_EQ(opened->second.metadata, "meta");
  }

  std::unique_ptr<Wal> wal_;
  Written written_;
};

TEST_F(WalPurgeTest, PurgeKeepsTheSegmentOfTheReleasedMarkerAndAllAfter) {
  Build(200, 20);
  const auto before = Segments(dir_);
  ASSERT_GE(before.size(), 10u);
  const size_t keep = SegmentOf(before, 120);
  ASSERT_GT(keep, 2u);

  ASSERT_TRUE(wal_->ReleaseTo(120).ok());
  ASSERT_TRUE(wal_->PurgeReleased(1).ok());
  EXPECT_EQ(SegmentFiles(dir_), Files(before, keep));
  const std::string log = Log();
  for (size_t i = 0; i < keep; ++i) {
    EXPECT_NE(log.find("\"purged file\""), std::string::npos);
    EXPECT_NE(log.find(dir_ + "/" + before[i].file), std::string::npos) << log;
  }
  wal_.reset();

  ExpectOpensFrom({120, 1});
  ExpectOpensFrom({200, 1});
  // What the purge took can no longer be opened from.
  auto from_start = Wal::Open(dir_, {}, *logger_, Options{kSegment});
  EXPECT_EQ(from_start.status().code(), Code::kNotFound) << from_start.status().ToString();
  EXPECT_NE(from_start.status().message().find("wal: file not found"), std::string::npos);
  EXPECT_EQ(Wal::Open(dir_, {20, 1}, *logger_, Options{kSegment}).status().code(), Code::kNotFound);

  auto markers = Wal::ValidSnapshotMarkers(dir_, *logger_);
  ASSERT_TRUE(markers.ok()) << markers.status().ToString();
  ASSERT_FALSE(markers->empty());
  EXPECT_GE(markers->front().index, before[keep].first_index);
  EXPECT_LE(markers->front().index, 120u);
  EXPECT_EQ(markers->back(), (SnapshotMarker{200, 1}));
}

TEST_F(WalPurgeTest, MaxSegmentsBoundsHowManyFilesStay) {
  Build(240, 20);
  const auto before = Segments(dir_);
  ASSERT_GE(before.size(), 12u);
  ASSERT_TRUE(wal_->ReleaseTo(240).ok());
  // Oldest first, until 5 are left.
  ASSERT_TRUE(wal_->PurgeReleased(5).ok());
  EXPECT_EQ(SegmentFiles(dir_), Files(before, before.size() - 5));
  ASSERT_TRUE(wal_->PurgeReleased(5).ok());
  EXPECT_EQ(SegmentFiles(dir_).size(), 5u);
  ASSERT_TRUE(wal_->PurgeReleased(2).ok());
  EXPECT_EQ(SegmentFiles(dir_), Files(before, before.size() - 2));
  wal_.reset();
  ExpectOpensFrom({240, 1});
}

TEST_F(WalPurgeTest, MaxSegmentsZeroKeepsEverything) {
  Build(200, 20);
  const auto files = SegmentFiles(dir_);
  ASSERT_TRUE(wal_->ReleaseTo(200).ok());
  ASSERT_TRUE(wal_->PurgeReleased(0).ok());
  EXPECT_EQ(SegmentFiles(dir_), files);
  EXPECT_EQ(Log().find("purged file"), std::string::npos);
}

TEST_F(WalPurgeTest, NothingIsPurgedBeforeARelease) {
  Build(200, 20);
  const auto files = SegmentFiles(dir_);
  ASSERT_TRUE(wal_->PurgeReleased(1).ok());
  EXPECT_EQ(SegmentFiles(dir_), files);
  // Releasing to before the second segment keeps everything too.
  ASSERT_TRUE(wal_->ReleaseTo(Segments(dir_)[1].first_index - 1).ok());
  ASSERT_TRUE(wal_->PurgeReleased(1).ok());
  EXPECT_EQ(SegmentFiles(dir_), files);
}

TEST_F(WalPurgeTest, ReleasingNeverMovesBack) {
  Build(200, 20);
  const auto before = Segments(dir_);
  ASSERT_TRUE(wal_->ReleaseTo(160).ok());
  ASSERT_TRUE(wal_->ReleaseTo(40).ok());
  ASSERT_TRUE(wal_->PurgeReleased(1).ok());
  EXPECT_EQ(SegmentFiles(dir_), Files(before, SegmentOf(before, 160)));
}

TEST_F(WalPurgeTest, ReleaseBeyondTheLogIsRefused) {
  Build(30, 10);
  const auto files = SegmentFiles(dir_);
  EXPECT_EQ(wal_->ReleaseTo(31).code(), Code::kInvalidArgument);
  ASSERT_TRUE(wal_->PurgeReleased(1).ok());
  EXPECT_EQ(SegmentFiles(dir_), files);
}

// Even released up to its last index, the WAL keeps the segment it appends
// to, and goes on appending and cutting.
TEST_F(WalPurgeTest, TheSegmentBeingWrittenIsNeverPurged) {
  Build(100, 50);
  ASSERT_LE(Segments(dir_).back().first_index, 100u) << "the marker at 100 must not end a segment";
  const std::string current = SegmentFiles(dir_).back();
  ASSERT_TRUE(wal_->ReleaseTo(100).ok());
  ASSERT_TRUE(wal_->PurgeReleased(1).ok());
  EXPECT_EQ(SegmentFiles(dir_), std::vector<std::string>{current});
  ASSERT_TRUE(WriteLog(*wal_, 101, 160, 50, &written_));
  EXPECT_GT(SegmentFiles(dir_).size(), 2u);
  wal_.reset();
  ExpectOpensFrom({100, 1});
  ExpectOpensFrom({150, 1});
}

TEST_F(WalPurgeTest, SpareAndBrokenFilesAreNeitherCountedNorDeleted) {
  Build(200, 20);
  const auto before = Segments(dir_);
  const std::vector<std::string> others = {before[0].file + ".broken", "notes.txt"};
  for (const auto& f : others) WriteBytes(dir_ + "/" + f, "x");
  ASSERT_TRUE(wal_->ReleaseTo(200).ok());
  ASSERT_TRUE(wal_->PurgeReleased(3).ok());
  EXPECT_EQ(SegmentFiles(dir_), Files(before, before.size() - 3));
  for (const auto& f : others) EXPECT_TRUE(PathExists(dir_ + "/" + f)) << f;
  wal_.reset();
  ExpectOpensFrom({200, 1});
}

// A snapshot taken behind the log has its marker written in a segment that
// starts after the marker's index. Once a later release purges the segment
// Open would need for it, the marker is no longer listed as valid.
TEST_F(WalPurgeTest, MarkerWhoseStartSegmentWasPurgedIsNotValid) {
  Build(60, 1000);
  const uint64_t current_first = Segments(dir_).back().first_index;
  ASSERT_GT(current_first, 20u);
  ASSERT_TRUE(wal_->SaveSnapshot({20, 1}).ok());
  ASSERT_TRUE(WriteLog(*wal_, 61, 63, 61, &written_));
  ASSERT_EQ(Segments(dir_).back().first_index, current_first) << "no cut expected";
  ASSERT_TRUE(wal_->ReleaseTo(61).ok());
  ASSERT_TRUE(wal_->PurgeReleased(1).ok());
  ASSERT_EQ(SegmentFiles(dir_).size(), 1u);
  wal_.reset();

  auto markers = Wal::ValidSnapshotMarkers(dir_, *logger_);
  ASSERT_TRUE(markers.ok()) << markers.status().ToString();
  EXPECT_EQ(*markers, (std::vector<SnapshotMarker>{{61, 1}}));
  EXPECT_EQ(Wal::Open(dir_, {20, 1}, *logger_, Options{kSegment}).status().code(), Code::kNotFound);
  ExpectOpensFrom({61, 1});
}

// Segments before the one Open started at count as released: the snapshot
// Open started from is durable.
TEST_F(WalPurgeTest, SegmentsBeforeWhereOpenStartedAreReleased) {
  Build(200, 20);
  wal_.reset();
  const auto before = Segments(dir_);
  auto opened = Wal::Open(dir_, {140, 1}, *logger_, Options{kSegment});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  wal_ = std::move(opened->first);
  ASSERT_TRUE(wal_->PurgeReleased(1).ok());
  EXPECT_EQ(SegmentFiles(dir_), Files(before, SegmentOf(before, 140)));
}

// The restart a server does: list the valid markers, open from the newest,
// keep writing; then a torn tail after a purge is repaired as usual.
TEST_F(WalPurgeTest, RestartFromTheNewestValidMarkerAfterPurgeAndTornTail) {
  Build(200, 30);
  ASSERT_TRUE(wal_->ReleaseTo(180).ok());
  ASSERT_TRUE(wal_->PurgeReleased(2).ok());
  wal_.reset();

  auto markers = Wal::ValidSnapshotMarkers(dir_, *logger_);
  ASSERT_TRUE(markers.ok()) << markers.status().ToString();
  ASSERT_EQ(markers->back(), (SnapshotMarker{180, 1}));
  {
    auto opened = Wal::Open(dir_, markers->back(), *logger_, Options{kSegment});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_TRUE(SameEntries(opened->second.entries, written_.After(180)));
    EXPECT_EQ(opened->second.hard_state.SerializeAsString(), written_.state.SerializeAsString());
    ASSERT_TRUE(WriteLog(*opened->first, 201, 215, 30, &written_));
  }
  // Tear the final HardState record; its batch (213..215) stays, as only the
  // HardState is lost.
  const std::string path = SegmentPath(SegmentFiles(dir_).size() - 1);
  std::string data = ReadBytes(path);
  const RawRecord last = RawRecords(data).back();
  std::fill(data.begin() + static_cast<std::ptrdiff_t>(last.offset + 3), data.end(), '\0');
  WriteBytes(path, data);

  auto opened = Wal::Open(dir_, {180, 1}, *logger_, Options{kSegment});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_NE(Log().find("repaired torn tail"), std::string::npos);
  EXPECT_TRUE(SameEntries(opened->second.entries, written_.After(180)));
  EXPECT_EQ(opened->second.hard_state.commit(), 212u);
}

// Random batches (with conflicting rewrites above the commit index),
// snapshots at the commit index, releases, purges with random limits and
// restarts from the newest valid marker replay what a model holds.
TEST_F(WalPurgeTest, RandomizedReleasePurgeAndRestartMatchModel) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937 rng(seed);
  const Options opts{kSegment};
  std::vector<raftpb::Entry> model;  // model[i] has index i + 1
  raftpb::HardState state;
  SnapshotMarker snap;
  uint64_t term = 1;
  auto created = Wal::Create(dir_, "meta", *logger_, opts);
  ASSERT_TRUE(created.ok());
  wal_ = std::move(created).value();
  for (int step = 0; step < 150; ++step) {
    const uint64_t last = model.size();
    const uint64_t commit = state.commit();
    uint64_t first = last + 1;
    if (rng() % 5 == 0 && last > commit) first = commit + 1 + rng() % (last - commit);
    if (first <= last) ++term;
    auto batch = MakeEntries(first, first + rng() % 5, term, 50 + rng() % 400);
    model.resize(first - 1);
    model.insert(model.end(), batch.begin(), batch.end());
    state = MakeState(term, 1, std::min<uint64_t>(model.size(), commit + rng() % 6));
    ASSERT_TRUE(wal_->Save(state, batch).ok());
    if (rng() % 6 == 0 && state.commit() > snap.index) {
      snap = {state.commit(), model[state.commit() - 1].term()};
      ASSERT_TRUE(wal_->SaveSnapshot(snap).ok());
      ASSERT_TRUE(wal_->ReleaseTo(snap.index).ok());
      ASSERT_TRUE(wal_->PurgeReleased(rng() % 4).ok());
    }
    if (rng() % 15 == 0) {
      wal_.reset();
      auto markers = Wal::ValidSnapshotMarkers(dir_, *logger_);
      ASSERT_TRUE(markers.ok()) << markers.status().ToString();
      ASSERT_EQ(markers->back(), snap);
      auto opened = Wal::Open(dir_, snap, *logger_, opts);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      std::vector<raftpb::Entry> want(model.begin() + static_cast<std::ptrdiff_t>(snap.index),
                                      model.end());
      ASSERT_TRUE(SameEntries(opened->second.entries, want));
      ASSERT_EQ(opened->second.hard_state.SerializeAsString(), state.SerializeAsString());
      wal_ = std::move(opened->first);
    }
  }
}

}  // namespace
}  // namespace etcdd::wal::testing
