// What Open does with damaged logs: torn tails of the last segment are cut
// off (logged, original kept aside); every other damage is refused with a
// Corruption naming the file and byte offset.
#include <unistd.h>

#include "wal/segment.h"
#include "wal_test_util.h"

namespace etcdd::wal::testing {
namespace {

constexpr uint64_t kSegment = 16384;

class WalRecoveryTest : public WalTest {
 protected:
  // A WAL whose last segment ends with: entries 1..3 + HardState, then the
  // final Save's records `final_entries` + `final_state` (if non-empty).
  void BuildWal(const std::vector<raftpb::Entry>& final_entries,
                const raftpb::HardState& final_state) {
    auto w = Wal::Create(dir_, "meta", *logger_, Options{kSegment});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Save(MakeState(1, 1, 1), MakeEntries(1, 3, 1, 40)).ok());
    ASSERT_TRUE((*w)->Save(final_state, final_entries).ok());
  }

  // Builds a multi-segment WAL of several short Saves.
  void BuildMultiSegmentWal() {
    auto w = Wal::Create(dir_, "meta", *logger_, Options{kSegment});
    ASSERT_TRUE(w.ok());
    for (uint64_t i = 1; i <= 45; i += 3) {
      ASSERT_TRUE((*w)->Save(MakeState(1, 1, i), MakeEntries(i, i + 2, 1, 1000)).ok());
    }
    ASSERT_GE(SegmentFiles(dir_).size(), 3u);
  }

  // Writes `damaged` as the only segment, opens it and checks that the last
  // record is dropped exactly when damaged, and that the WAL works after.
  // Returns whether the damage was a torn tail that Open repaired.
  bool CheckTornTail(const std::string& original, const std::string& damaged, size_t rec_off,
                     const std::vector<raftpb::Entry>& all, size_t survivors_if_torn);

  // Truncates, and separately zeroes, the last record of the only segment at
  // every byte offset and checks each outcome.
  void TornAtEveryOffset(const std::vector<raftpb::Entry>& all, size_t survivors_if_torn);

  void ExpectCorruptionAt(const std::string& file, size_t offset) {
    auto opened = Wal::Open(dir_, {}, *logger_, Options{kSegment});
    ASSERT_FALSE(opened.ok()) << file << " offset " << offset;
    EXPECT_EQ(opened.status().code(), Code::kDataLoss);
    EXPECT_NE(opened.status().message().find(file + " at offset " + std::to_string(offset)),
              std::string::npos)
        << opened.status().message();
  }
};

bool AllZero(std::string_view s) { return s.find_first_not_of('\0') == std::string_view::npos; }

bool WalRecoveryTest::CheckTornTail(const std::string& original, const std::string& damaged,
                                    size_t rec_off, const std::vector<raftpb::Entry>& all,
                                    size_t survivors_if_torn) {
  const std::string path = SegmentPath(0);
  const size_t log_mark = Log().size();
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    if (e.path().string().find(".broken") != std::string::npos) std::filesystem::remove(e.path());
  }
  WriteBytes(path, damaged);
  const bool intact = damaged.size() == original.size() && damaged == original;
  const bool torn = !intact && !AllZero(std::string_view(damaged).substr(rec_off));
  const size_t survivors = intact ? all.size() : survivors_if_torn;
  std::vector<raftpb::Entry> want(all.begin(),
                                  all.begin() + static_cast<std::ptrdiff_t>(survivors));
  {
    auto opened = Wal::Open(dir_, {}, *logger_, Options{kSegment});
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) return torn;
    EXPECT_TRUE(SameEntries(opened->second.entries, want));
    const std::string logged = Log().substr(log_mark);
    EXPECT_EQ(logged.find("repaired torn tail") != std::string::npos, torn) << logged;
    EXPECT_EQ(PathExists(path + ".broken"), torn);
    if (torn) {
      EXPECT_EQ(ReadBytes(path + ".broken"), damaged);
    }
    std::string repaired = ReadBytes(path);
    EXPECT_EQ(repaired.size(), kSegment);
    if (!intact) {
      EXPECT_TRUE(AllZero(std::string_view(repaired).substr(rec_off)));
    }
    EXPECT_TRUE(opened->first->Save(MakeState(2, 2, 2), MakeEntries(survivors + 1, 9, 2)).ok());
  }
  auto reopened = Wal::Open(dir_, {}, *logger_, Options{kSegment});
  EXPECT_TRUE(reopened.ok()) << reopened.status().ToString();
  if (!reopened.ok()) return torn;
  for (auto& e : MakeEntries(survivors + 1, 9, 2)) want.push_back(e);
  EXPECT_TRUE(SameEntries(reopened->second.entries, want));
  EXPECT_EQ(reopened->second.hard_state.term(), 2u);
  return torn;
}

void WalRecoveryTest::TornAtEveryOffset(const std::vector<raftpb::Entry>& all,
                                        size_t survivors_if_torn) {
  const std::string original = ReadBytes(SegmentPath(0));
  const RawRecord rec = RawRecords(original).back();
  size_t repaired = 0;
  for (size_t k = 0; k < rec.size; ++k) {
    SCOPED_TRACE("offset " + std::to_string(k) + " of the last record");
    repaired += CheckTornTail(original, original.substr(0, rec.offset + k), rec.offset, all,
                              survivors_if_torn);
    std::string zeroed = original;
    std::fill(zeroed.begin() + static_cast<std::ptrdiff_t>(rec.offset + k), zeroed.end(), '\0');
    repaired += CheckTornTail(original, zeroed, rec.offset, all, survivors_if_torn);
    if (HasFailure()) return;
  }
  // Nearly every cut leaves non-zero bytes of the record behind.
  EXPECT_GT(repaired, rec.size);
}

TEST_F(WalRecoveryTest, TornFinalEntryAtEveryOffset) {
  // The final Save holds one entry and no HardState: the last record is an entry.
  BuildWal(MakeEntries(4, 4, 1, 100), raftpb::HardState());
  auto all = MakeEntries(1, 3, 1, 40);
  all.push_back(MakeEntries(4, 4, 1, 100)[0]);
  TornAtEveryOffset(all, 3);
}

TEST_F(WalRecoveryTest, TornFinalHardStateAtEveryOffset) {
  // The final Save holds entries 4..5 then a HardState, which is the last record.
  BuildWal(MakeEntries(4, 5, 1, 40), MakeState(1, 1, 5));
  TornAtEveryOffset(MakeEntries(1, 5, 1, 40), 5);
}

TEST_F(WalRecoveryTest, GarbageAfterLastRecordIsTornTail) {
  BuildWal(MakeEntries(4, 4, 1), raftpb::HardState());
  std::string data = ReadBytes(SegmentPath(0));
  size_t end = RawRecords(data).back().offset + RawRecords(data).back().size;
  data.replace(end, 5, "\x13garb");
  WriteBytes(SegmentPath(0), data);
  auto opened = Wal::Open(dir_, {}, *logger_, Options{kSegment});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->second.entries.size(), 4u);
  EXPECT_NE(Log().find("repaired torn tail"), std::string::npos);
  EXPECT_TRUE(PathExists(SegmentPath(0) + ".broken"));
}

TEST_F(WalRecoveryTest, FlippedBitInEveryRecordOfEarlierSegmentsIsCorruption) {
  BuildMultiSegmentWal();
  const auto files = SegmentFiles(dir_);
  for (size_t s = 0; s + 1 < files.size(); ++s) {
    const std::string path = dir_ + "/" + files[s];
    const std::string original = ReadBytes(path);
    auto records = RawRecords(original);
    ASSERT_GE(records.size(), 3u);
    // Every record, including the last one of the segment and its prologue.
    for (const RawRecord& rec : records) {
      for (size_t at : {size_t{0}, size_t{5}, size_t{9}, size_t{12}, size_t{14}, size_t{16},
                        rec.size / 2, rec.size - 1}) {
        SCOPED_TRACE(files[s] + " record at " + std::to_string(rec.offset) + " byte " +
                     std::to_string(at));
        std::string damaged = original;
        damaged[rec.offset + at] ^= 0x10;
        WriteBytes(path, damaged);
        ExpectCorruptionAt(path, rec.offset);
      }
    }
    WriteBytes(path, original);
  }
  EXPECT_EQ(Log().find("repaired"), std::string::npos);
}

TEST_F(WalRecoveryTest, FlippedBitInNonFinalRecordOfLastSegmentIsCorruption) {
  BuildWal(MakeEntries(4, 6, 1, 40), MakeState(1, 1, 6));
  const std::string path = SegmentPath(0);
  const std::string original = ReadBytes(path);
  auto records = RawRecords(original);
  ASSERT_GE(records.size(), 6u);
  for (size_t r = 0; r + 1 < records.size(); ++r) {
    const RawRecord rec = records[r];
    for (size_t at = 0; at < rec.size; ++at) {
      SCOPED_TRACE("record " + std::to_string(r) + " byte " + std::to_string(at));
      std::string damaged = original;
      damaged[rec.offset + at] ^= static_cast<char>(1 << (at % 8));
      WriteBytes(path, damaged);
      ExpectCorruptionAt(path, rec.offset);
      // Refusing to open changes nothing on disk.
      EXPECT_EQ(ReadBytes(path), damaged);
      EXPECT_FALSE(PathExists(path + ".broken"));
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST_F(WalRecoveryTest, MissingMiddleSegmentIsAnError) {
  BuildMultiSegmentWal();
  ASSERT_EQ(::unlink(SegmentPath(1).c_str()), 0);
  auto opened = Wal::Open(dir_, {}, *logger_, Options{kSegment});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kDataLoss);
  EXPECT_NE(opened.status().message().find("missing segment"), std::string::npos)
      << opened.status().message();
}

TEST_F(WalRecoveryTest, SegmentWhoseFirstIndexDoesNotFollowOnIsAnError) {
  BuildMultiSegmentWal();
  auto name = internal::ParseSegmentFileName(SegmentFiles(dir_)[1]);
  ASSERT_TRUE(name);
  std::filesystem::rename(SegmentPath(1),
                          dir_ + "/" + internal::SegmentFileName(name->seq, name->first_index + 1));
  auto opened = Wal::Open(dir_, {}, *logger_, Options{kSegment});
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("does not follow on"), std::string::npos)
      << opened.status().message();
}

TEST_F(WalRecoveryTest, StaleTempSegmentIsIgnoredAndRemoved) {
  BuildWal(MakeEntries(4, 4, 1), raftpb::HardState());
  const std::string tmp = dir_ + "/" + internal::SegmentFileName(1, 5) + ".tmp";
  WriteBytes(tmp, "partial");
  auto opened = Wal::Open(dir_, {}, *logger_, Options{kSegment});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->second.entries.size(), 4u);
  EXPECT_FALSE(PathExists(tmp));
}

}  // namespace
}  // namespace etcdd::wal::testing
