// SnapshotDir: file names and which files a restart removes.
#include "snap/snapshot_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "base/file.h"

namespace etcdd::snap {
namespace {

TEST(SnapshotDir, NamesFiles) {
  SnapshotDir d("/data/member/snap");
  EXPECT_EQ(d.ReceivedPath(0x2a), "/data/member/snap/000000000000002a.snap.db");
  EXPECT_EQ(d.SendPath(0x8e9e05c52164694d, 3), "/data/member/snap/send-8e9e05c52164694d-3.snap.db");
  EXPECT_EQ(d.ExportPath(4), "/data/member/snap/export-4.snap.db");
}

TEST(SnapshotDir, RemovesWhatNoRestartNeeds) {
  std::string templ = ::testing::TempDir() + "snapdir-XXXXXX";
  ASSERT_NE(::mkdtemp(templ.data()), nullptr);
  SnapshotDir d(templ + "/snap");
  ASSERT_TRUE(d.Create().ok());
  const std::vector<std::string> names = {
      "0000000000000010.snap.db",       // installed (backend at 20)
      "0000000000000014.snap.db",       // at the backend's index
      "0000000000000030.snap.db",       // received, not yet installed: kept
      "0000000000000040.snap.db.part",  // an unfinished reception
      "send-1a-2.snap.db",              // a copy being sent when the member stopped
      "export-7.snap.db",               // a client's Maintenance.Snapshot, idem
      "notes.txt",                      // not ours: kept
  };
  for (const auto& n : names) ASSERT_TRUE(WriteFileAtomic(d.dir() + "/" + n, "x").ok());
  auto logger = Logger::Stderr(LogLevel::kError);
  d.RemoveStale(20, *logger);
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(d.dir())) {
    left.push_back(e.path().filename().string());
  }
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"0000000000000030.snap.db", "notes.txt"}));
  std::filesystem::remove_all(templ);
}

}  // namespace
}  // namespace etcdd::snap
