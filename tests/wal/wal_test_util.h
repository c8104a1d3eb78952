// Helpers shared by the WAL tests: temp dirs, entries, raw segment bytes.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "base/log.h"
#include "wal/record.h"
#include "wal/segment.h"
#include "wal/wal.h"

namespace etcdd::wal {

// How gtest prints a marker (found by argument-dependent lookup).
inline void PrintTo(const SnapshotMarker& m, std::ostream* os) {
  *os << "{" << m.index << "," << m.term << "}";
}

}  // namespace etcdd::wal

namespace etcdd::wal::testing {

inline raftpb::Entry MakeEntry(uint64_t index, uint64_t term, const std::string& data) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(data);
  return e;
}

// Entries [first, last] at `term`, each with `bytes` of data naming it.
inline std::vector<raftpb::Entry> MakeEntries(uint64_t first, uint64_t last, uint64_t term,
                                              size_t bytes = 16) {
  std::vector<raftpb::Entry> out;
  for (uint64_t i = first; i <= last; ++i) {
    std::string data = "e" + std::to_string(i) + "t" + std::to_string(term) + ":";
    data.resize(std::max(bytes, data.size()), 'x');
    out.push_back(MakeEntry(i, term, data));
  }
  return out;
}

inline raftpb::HardState MakeState(uint64_t term, uint64_t vote, uint64_t commit) {
  raftpb::HardState s;
  s.set_term(term);
  s.set_vote(vote);
  s.set_commit(commit);
  return s;
}

inline bool SameEntries(const std::vector<raftpb::Entry>& a, const std::vector<raftpb::Entry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].SerializeAsString() != b[i].SerializeAsString()) return false;
  }
  return true;
}

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void WriteBytes(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Segment base names in `dir`, sorted.
inline std::vector<std::string> SegmentFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.size() > 4 && n.ends_with(".wal")) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Parsed segment names in `dir`, ordered by seq.
inline std::vector<internal::SegmentName> Segments(const std::string& dir) {
  std::vector<internal::SegmentName> out;
  for (const auto& f : SegmentFiles(dir)) {
    if (auto n = internal::ParseSegmentFileName(f)) out.push_back(*n);
  }
  return out;
}

// What a test wrote to a WAL, to compare replays with.
struct Written {
  std::vector<raftpb::Entry> entries;  // entries[i] has index i + 1
  std::vector<SnapshotMarker> markers;
  raftpb::HardState state;

  // Entries after `index`.
  std::vector<raftpb::Entry> After(uint64_t index) const {
    return {
        entries.begin() + static_cast<std::ptrdiff_t>(std::min<uint64_t>(index, entries.size())),
        entries.end()};
  }
};

// Appends entries first..last at term 1 in batches of 3 (200 bytes each, so
// a 4 KiB segment holds about 17), each batch committing itself, and a
// snapshot marker after every entry whose index is a multiple of `every`.
inline ::testing::AssertionResult WriteLog(Wal& w, uint64_t first, uint64_t last, uint64_t every,
                                           Written* out) {
  for (uint64_t i = first; i <= last; i += 3) {
    const uint64_t end = std::min(last, i + 2);
    auto batch = MakeEntries(i, end, 1, 200);
    out->state = MakeState(1, 1, end);
    if (Status s = w.Save(out->state, batch); !s.ok()) {
      return ::testing::AssertionFailure() << s.ToString();
    }
    out->entries.insert(out->entries.end(), batch.begin(), batch.end());
    for (uint64_t j = i; j <= end; ++j) {
      if (j % every != 0) continue;
      if (Status s = w.SaveSnapshot({j, 1}); !s.ok()) {
        return ::testing::AssertionFailure() << s.ToString();
      }
      out->markers.push_back({j, 1});
    }
  }
  return ::testing::AssertionSuccess();
}

struct RawRecord {
  size_t offset;
  size_t size;
};

// The records of a segment's bytes, in order, up to the first undecodable one.
inline std::vector<RawRecord> RawRecords(const std::string& data) {
  std::vector<RawRecord> out;
  size_t off = 0;
  for (;;) {
    auto d = internal::DecodeRecord(data, off);
    if (!d.record) return out;
    out.push_back({off, d.record->size});
    off += d.record->size;
  }
}

// A fresh temp dir, removed with everything in it on destruction, and a
// logger writing to a file in it so tests can check what was logged.
class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/etcdd-wal-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/wal";
    log_path_ = root_ + "/log.json";
    auto logger = Logger::Create({log_path_}, "info");
    ASSERT_TRUE(logger.ok()) << logger.status().ToString();
    logger_ = std::move(logger).value();
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string Log() const { return ReadBytes(log_path_); }
  std::string SegmentPath(size_t i) const { return dir_ + "/" + SegmentFiles(dir_).at(i); }

  std::string root_;
  std::string dir_;
  std::string log_path_;
  std::unique_ptr<Logger> logger_;
};

}  // namespace etcdd::wal::testing
