// The backup directory: temporary files, listing, pruning, the lock.
#include "backup/catalog.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "backup/output_file.h"

namespace etcdd::backup {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "catalog-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Touch(const std::string& name) { ASSERT_TRUE(WriteFileAtomic(dir_ + "/" + name, "x").ok()); }
  std::vector<std::string> Files() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }
  // A pid that no process has: a child that already exited.
  static pid_t DeadPid() {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    waitpid(pid, nullptr, 0);
    return pid;
  }

  std::string dir_;
};

TEST_F(CatalogTest, OutputFileAppearsOnlyOnCommit) {
  {
    auto out = OutputFile::Create(Env::Default(), dir_, "b.db");
    ASSERT_TRUE(out.ok());
    ASSERT_TRUE(out->Append("data").ok());
    EXPECT_EQ(Files(), std::vector<std::string>{".b.db.tmp-" + std::to_string(getpid())});
  }
  EXPECT_TRUE(Files().empty());  // destroyed without Commit: removed
  auto out = OutputFile::Create(Env::Default(), dir_, "b.db");
  ASSERT_TRUE(out->Append("data").ok());
  ASSERT_EQ(*out->Commit(), dir_ + "/b.db");
  EXPECT_EQ(Files(), std::vector<std::string>{"b.db"});
}

TEST_F(CatalogTest, ListsOnlyBackupsOldestFirst) {
  const std::string older = "00000000000000aa-20240101T000000Z-r5.tar.zst";
  const std::string newer = "00000000000000aa-20240102T000000Z-r9.db";
  Touch(newer);
  Touch(older);
  Touch(".00000000000000aa-20240103T000000Z-r10.db.tmp-1");
  Touch("notes.txt");
  Touch(kLockFileName);
  auto list = ListBackups(dir_, false, std::nullopt);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, older);
  EXPECT_EQ((*list)[1].name, newer);
  EXPECT_EQ((*list)[1].parsed.revision, 9);
  EXPECT_EQ(ListBackups(dir_ + "/missing", false, std::nullopt).status().code(), Code::kNotFound);
}

TEST_F(CatalogTest, RemovesOnlyStaleTempFilesOfBackups) {
  const std::string dead = std::to_string(DeadPid());
  const std::string live = std::to_string(getppid());
  const std::string name = "00000000000000aa-20240101T000000Z-r5.tar.zst";
  Touch("." + name + ".tmp-" + dead);       // stale: removed
  Touch("." + name + ".part.tmp-" + dead);  // stale download: removed
  Touch("." + name + ".tmp-" + live);       // a running save: kept
  Touch(".someone-else.tmp-" + dead);       // not ours: kept
  auto removed = RemoveStaleTempFiles(Env::Default(), dir_);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->size(), 2u);
  EXPECT_EQ(Files(),
            (std::vector<std::string>{"." + name + ".tmp-" + live, ".someone-else.tmp-" + dead}));
}

TEST_F(CatalogTest, PruneRemovesWhatThePolicyDoesNotKeep) {
  const std::vector<std::string> names = {
      "00000000000000aa-20240101T000000Z-r1.tar.zst",
      "00000000000000aa-20240102T000000Z-r2.tar.zst",
      "00000000000000aa-20240103T000000Z-r3.tar.zst",
  };
  for (const auto& n : names) Touch(n);
  Touch("notes.txt");
  auto dry = Prune(Env::Default(), dir_, {.last = 1}, true);
  ASSERT_TRUE(dry.ok());
  EXPECT_TRUE(dry->removed.empty());
  EXPECT_EQ(Files().size(), 4u);
  auto done = Prune(Env::Default(), dir_, {.last = 1}, false);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->removed.size(), 2u);
  EXPECT_EQ(Files(), (std::vector<std::string>{names[2], "notes.txt"}));
  EXPECT_EQ(Prune(Env::Default(), dir_, {}, false).status().code(), Code::kInvalidArgument);
}

TEST_F(CatalogTest, LockIsExclusiveAndWaits) {
  auto first = DirectoryLock::Acquire(dir_, milliseconds(0));
  ASSERT_TRUE(first.ok());
  // flock locks belong to open file descriptions: a second open in this
  // process conflicts just as another process would.
  auto second = DirectoryLock::Acquire(dir_, milliseconds(100));
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("--lock-timeout"), std::string::npos);
  { DirectoryLock released = std::move(first).value(); }
  EXPECT_TRUE(DirectoryLock::Acquire(dir_, milliseconds(0)).ok());
}

}  // namespace
}  // namespace etcdd::backup
