// Which snapshot markers a restart may open from (Wal::ValidSnapshotMarkers,
// etcd's ValidSnapshotEntries), and Open finding the segment to start at for
// a marker.
#include <unistd.h>

#include "wal_test_util.h"

namespace etcdd::wal::testing {
namespace {

constexpr uint64_t kSegment = 4096;

using WalSnapshotMarkersTest = WalTest;

std::vector<SnapshotMarker> WithStart(const std::vector<SnapshotMarker>& markers) {
  std::vector<SnapshotMarker> out{{0, 0}};
  out.insert(out.end(), markers.begin(), markers.end());
  return out;
}

// Bytes a Save of `entries` and `state` appends.
uint64_t SaveBytes(const std::vector<raftpb::Entry>& entries, const raftpb::HardState& state) {
  uint64_t n = internal::RecordBytes(state.ByteSizeLong());
  for (const auto& e : entries) n += internal::RecordBytes(e.ByteSizeLong());
  return n;
}

TEST_F(WalSnapshotMarkersTest, MarkersAcrossManyCutsAreListedInOrderAndEachOpens) {
  Written w;
  {
    auto wal = Wal::Create(dir_, "meta", *logger_, Options{kSegment});
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE(WriteLog(**wal, 1, 150, 10, &w));
  }
  ASSERT_GE(SegmentFiles(dir_).size(), 6u);
  auto markers = Wal::ValidSnapshotMarkers(dir_, *logger_);
  ASSERT_TRUE(markers.ok()) << markers.status().ToString();
  EXPECT_EQ(*markers, WithStart(w.markers));
  for (const SnapshotMarker& m : *markers) {
    SCOPED_TRACE("from marker " + std::to_string(m.index));
    auto opened = Wal::Open(dir_, m, *logger_, Options{kSegment});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_TRUE(SameEntries(opened->second.entries, w.After(m.index)));
    EXPECT_EQ(opened->second.hard_state.SerializeAsString(), w.state.SerializeAsString());
  }
}

TEST_F(WalSnapshotMarkersTest, FreshWalHasOnlyTheStart) {
  ASSERT_TRUE(Wal::Create(dir_, "meta", *logger_).ok());
  auto markers = Wal::ValidSnapshotMarkers(dir_, *logger_);
  ASSERT_TRUE(markers.ok()) << markers.status().ToString();
  EXPECT_EQ(*markers, (std::vector<SnapshotMarker>{{0, 0}}));
}

TEST_F(WalSnapshotMarkersTest, NoWalIsNotFound) {
  EXPECT_EQ(Wal::ValidSnapshotMarkers(dir_, *logger_).status().code(), Code::kNotFound);
  std::filesystem::create_directories(dir_);
  WriteBytes(dir_ + "/0000000000000000-0000000000000001.wal.broken", "x");
  EXPECT_EQ(Wal::ValidSnapshotMarkers(dir_, *logger_).status().code(), Code::kNotFound);
}

// etcd's rule: a marker ahead of the last saved commit index is not valid. A
// snapshot from the leader is saved before the HardState that commits it; if
// the crash comes between the two, the marker must not be used.
TEST_F(WalSnapshotMarkersTest, MarkerBeyondTheLastCommitIsNotValid) {
  auto wal = Wal::Create(dir_, "meta", *logger_);
  ASSERT_TRUE(wal.ok());
  ASSERT_TRUE((*wal)->Save(MakeState(1, 1, 3), MakeEntries(1, 5, 1)).ok());
  ASSERT_TRUE((*wal)->SaveSnapshot({3, 1}).ok());
  ASSERT_TRUE((*wal)->SaveSnapshot({100, 2}).ok());
  auto markers = Wal::ValidSnapshotMarkers(dir_, *logger_);
  ASSERT_TRUE(markers.ok()) << markers.status().ToString();
  EXPECT_EQ(*markers, (std::vector<SnapshotMarker>{{0, 0}, {3, 1}}));

  // Once a HardState committing it follows, the marker counts.
  ASSERT_TRUE((*wal)->Save(MakeState(2, 2, 100), {}).ok());
  markers = Wal::ValidSnapshotMarkers(dir_, *logger_);
  ASSERT_TRUE(markers.ok()) << markers.status().ToString();
  EXPECT_EQ(*markers, (std::vector<SnapshotMarker>{{0, 0}, {3, 1}, {100, 2}}));
}

TEST_F(WalSnapshotMarkersTest, ReadsWithoutLockingOrChangingAnOpenWal) {
  auto wal = Wal::Create(dir_, "meta", *logger_, Options{kSegment});
  ASSERT_TRUE(wal.ok());
  Written w;
  ASSERT_TRUE(WriteLog(**wal, 1, 40, 7, &w));
  const std::string before = ReadBytes(SegmentPath(SegmentFiles(dir_).size() - 1));
  auto markers = Wal::ValidSnapshotMarkers(dir_, *logger_);
  ASSERT_TRUE(markers.ok()) << markers.status().ToString();
  EXPECT_EQ(*markers, WithStart(w.markers));
  EXPECT_EQ(ReadBytes(SegmentPath(SegmentFiles(dir_).size() - 1)), before);
  // The open Wal still appends normally.
  ASSERT_TRUE(WriteLog(**wal, 41, 42, 7, &w));
}

TEST_F(WalSnapshotMarkersTest, TornTailEndsTheReadWithoutRepairingIt) {
  Written w;
  {
    auto wal = Wal::Create(dir_, "meta", *logger_, Options{kSegment});
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE(WriteLog(**wal, 1, 30, 10, &w));
  }
  // Tear the last marker record (30) in half.
  const std::string path = SegmentPath(SegmentFiles(dir_).size() - 1);
  std::string data = ReadBytes(path);
  const RawRecord last = RawRecords(data).back();
  std::fill(data.begin() + static_cast<std::ptrdiff_t>(last.offset + last.size / 2), data.end(),
            '\0');
  data[last.offset + last.size / 2] = 1;
  WriteBytes(path, data);

  auto markers = Wal::ValidSnapshotMarkers(dir_, *logger_);
  ASSERT_TRUE(markers.ok()) << markers.status().ToString();
  w.markers.pop_back();
  EXPECT_EQ(*markers, WithStart(w.markers));
  EXPECT_EQ(ReadBytes(path), data);
  EXPECT_FALSE(PathExists(path + ".broken"));
  EXPECT_NE(Log().find("torn tail ends the snapshot markers read"), std::string::npos);
}

TEST_F(WalSnapshotMarkersTest, CorruptionBeforeTheTailIsReported) {
  {
    auto wal = Wal::Create(dir_, "meta", *logger_, Options{kSegment});
    ASSERT_TRUE(wal.ok());
    Written w;
    ASSERT_TRUE(WriteLog(**wal, 1, 60, 10, &w));
  }
  ASSERT_GE(SegmentFiles(dir_).size(), 3u);
  const std::string path = SegmentPath(1);
  std::string data = ReadBytes(path);
  const RawRecord rec = RawRecords(data).at(3);
  data[rec.offset + rec.size - 1] ^= 0x10;
  WriteBytes(path, data);
  auto markers = Wal::ValidSnapshotMarkers(dir_, *logger_);
  EXPECT_EQ(markers.status().code(), Code::kDataLoss);
  EXPECT_NE(markers.status().message().find(path + " at offset " + std::to_string(rec.offset)),
            std::string::npos)
      << markers.status().ToString();

  // A missing segment is corruption too.
  std::filesystem::remove(path);
  EXPECT_EQ(Wal::ValidSnapshotMarkers(dir_, *logger_).status().code(), Code::kDataLoss);
}

// Open from a marker must start early enough to read it: here the marker is
// the record that fills its segment, and the next segment starts right after
// the marker's index.
TEST_F(WalSnapshotMarkersTest, OpenFindsMarkerWrittenJustBeforeACut) {
  const std::string meta = "meta";
  uint64_t offset = internal::RecordBytes(internal::EncodeSegmentHeader(0, 1).size()) +
                    internal::RecordBytes(meta.size());
  const uint64_t marker_bytes = internal::RecordBytes(16);
  auto w = Wal::Create(dir_, meta, *logger_, Options{kSegment});
  ASSERT_TRUE(w.ok());
  uint64_t index = 0;
  while (offset + 400 < kSegment) {
    ++index;
    auto batch = MakeEntries(index, index, 1, 100);
    ASSERT_TRUE((*w)->Save(MakeState(1, 1, index), batch).ok());
    offset += SaveBytes(batch, MakeState(1, 1, index));
  }
  // One last entry sized so that the marker after it crosses the limit.
  ++index;
  size_t data = 0;
  while (offset + SaveBytes(MakeEntries(index, index, 1, data), MakeState(1, 1, index)) <
         kSegment - marker_bytes) {
    ++data;
  }
  auto last = MakeEntries(index, index, 1, data);
  offset += SaveBytes(last, MakeState(1, 1, index));
  ASSERT_LT(offset, kSegment);
  ASSERT_GE(offset + marker_bytes, kSegment);
  ASSERT_TRUE((*w)->Save(MakeState(1, 1, index), last).ok());
  ASSERT_EQ(SegmentFiles(dir_).size(), 1u);
  ASSERT_TRUE((*w)->SaveSnapshot({index, 1}).ok());
  ASSERT_EQ(SegmentFiles(dir_).size(), 2u);
  ASSERT_EQ(Segments(dir_)[1].first_index, index + 1);
  w->reset();

  auto markers = Wal::ValidSnapshotMarkers(dir_, *logger_);
  ASSERT_TRUE(markers.ok()) << markers.status().ToString();
  EXPECT_EQ(markers->back(), (SnapshotMarker{index, 1}));
  auto opened = Wal::Open(dir_, {index, 1}, *logger_, Options{kSegment});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(opened->second.entries.empty());
  EXPECT_EQ(opened->second.hard_state.commit(), index);
}

// With the first segments deleted (by hand here), Open from a marker in a
// later segment works, Open from the start is refused, and only markers that
// remain openable are listed.
TEST_F(WalSnapshotMarkersTest, EarlierSegmentsDeletedByHand) {
  Written w;
  {
    auto wal = Wal::Create(dir_, "meta", *logger_, Options{kSegment});
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE(WriteLog(**wal, 1, 120, 10, &w));
  }
  auto segments = Segments(dir_);
  ASSERT_GE(segments.size(), 5u);
  for (size_t i = 0; i < 3; ++i) std::filesystem::remove(dir_ + "/" + segments[i].file);
  const uint64_t oldest = segments[3].first_index;

  std::vector<SnapshotMarker> want;
  for (const auto& m : w.markers) {
    if (m.index >= oldest) want.push_back(m);
  }
  auto markers = Wal::ValidSnapshotMarkers(dir_, *logger_);
  ASSERT_TRUE(markers.ok()) << markers.status().ToString();
  EXPECT_EQ(*markers, want);
  ASSERT_FALSE(want.empty());

  auto opened = Wal::Open(dir_, want.front(), *logger_, Options{kSegment});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(SameEntries(opened->second.entries, w.After(want.front().index)));
  EXPECT_EQ(opened->second.hard_state.SerializeAsString(), w.state.SerializeAsString());
  opened->first.reset();

  auto from_start = Wal::Open(dir_, {}, *logger_, Options{kSegment});
  EXPECT_EQ(from_start.status().code(), Code::kNotFound);
  EXPECT_NE(from_start.status().message().find("wal: file not found"), std::string::npos)
      << from_start.status().ToString();
}

}  // namespace
}  // namespace etcdd::wal::testing
