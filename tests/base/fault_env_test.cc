// FaultEnv keeps what was synced and loses the rest on a power cut; injected
// faults fail calls with their errno, after a short write if asked.
#include "base/fault_env.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>

#include "base/file.h"

namespace etcdd {
namespace {

class FaultEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/etcdd-faultenv-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Read(const std::string& name) {
    auto r = ReadFile(dir_ + "/" + name);
    return r.ok() ? *r : "<" + r.status().ToString() + ">";
  }
  std::unique_ptr<File> Open(FaultEnv& env, const std::string& name, Env::OpenMode mode) {
    auto f = env.OpenFile(dir_ + "/" + name, mode);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? std::move(f).value() : nullptr;
  }
  std::string dir_;
};

TEST_F(FaultEnvTest, PowerCutKeepsSyncedBytesAndDropsTheRest) {
  FaultEnv env;
  auto f = Open(env, "a", Env::OpenMode::kCreate);
  ASSERT_TRUE(env.SyncDir(dir_).ok());
  ASSERT_TRUE(f->WriteAt(0, "synced").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->WriteAt(2, "XXXXXXXXXX").ok());  // overwrites and extends
  EXPECT_EQ(Read("a"), "syXXXXXXXXXX");
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(Read("a"), "synced");
  EXPECT_TRUE(f->WriteAt(0, "late").IsIOError(EIO));  // the power stays off
}

TEST_F(FaultEnvTest, PowerCutUndoesDirectoryChangesNotSynced) {
  FaultEnv env;
  auto old_file = Open(env, "old", Env::OpenMode::kCreate);
  ASSERT_TRUE(old_file->WriteAt(0, "old").ok());
  ASSERT_TRUE(old_file->Sync().ok());
  ASSERT_TRUE(env.SyncDir(dir_).ok());
  auto tmp = Open(env, "new.tmp", Env::OpenMode::kCreate);
  ASSERT_TRUE(tmp->WriteAt(0, "new").ok());
  ASSERT_TRUE(tmp->Sync().ok());
  ASSERT_TRUE(env.RenameFile(dir_ + "/new.tmp", dir_ + "/old").ok());
  EXPECT_EQ(Read("old"), "new");
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(Read("old"), "old");
  EXPECT_FALSE(PathExists(dir_ + "/new.tmp"));  // its creation was not synced either
}

TEST_F(FaultEnvTest, RemovalIsUndoneUntilTheDirectoryIsSynced) {
  FaultEnv env;
  auto f = Open(env, "a", Env::OpenMode::kCreate);
  ASSERT_TRUE(f->WriteAt(0, "data").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(env.SyncDir(dir_).ok());
  ASSERT_TRUE(env.RemoveFile(dir_ + "/a").ok());
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(Read("a"), "data");
}

TEST_F(FaultEnvTest, InjectedFaultShortWritesThenFailsWithItsErrno) {
  FaultEnv env;
  env.InjectFault({FaultEnv::Op::kWrite, ENOSPC, /*skip=*/1, /*count=*/1, /*short_bytes=*/3, ""});
  auto f = Open(env, "a", Env::OpenMode::kCreate);
  ASSERT_TRUE(f->WriteAt(0, "first").ok());
  Status s = f->WriteAt(5, "second");
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_EQ(s.sys_errno(), ENOSPC);
  EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s.message();
  EXPECT_EQ(Read("a"), "firstsec");
  EXPECT_TRUE(f->WriteAt(0, "third").ok());  // used up
  EXPECT_EQ(env.FaultsHit(), 1u);
}

TEST_F(FaultEnvTest, PowerGoesOffAfterTheGivenNumberOfCalls) {
  FaultEnv env;
  auto f = Open(env, "a", Env::OpenMode::kCreate);  // 1 call
  env.CutPowerAfter(2);
  EXPECT_TRUE(f->WriteAt(0, "a").ok());
  EXPECT_TRUE(f->Sync().ok());
  EXPECT_FALSE(env.PowerIsOff());
  EXPECT_TRUE(f->WriteAt(1, "b").IsIOError(EIO));
  EXPECT_TRUE(env.PowerIsOff());
  EXPECT_EQ(env.OpCount(), 4u);
}

TEST_F(FaultEnvTest, FilesWrittenOutsideGoBackToTheirLastNotedSync) {
  FaultEnv env;
  const std::string path = dir_ + "/data.mdb";
  ASSERT_TRUE(WriteFileAtomic(path, "v1").ok());
  env.NoteSyncedOutside(path);
  ASSERT_TRUE(WriteFileAtomic(path, "v2 unsynced").ok());
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(Read("data.mdb"), "v1");
}

TEST_F(FaultEnvTest, KeepRandomPrefixKeepsWritesInOrder) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    FaultEnv env;
    auto f = Open(env, "a" + std::to_string(seed), Env::OpenMode::kCreate);
    ASSERT_TRUE(env.SyncDir(dir_).ok());
    ASSERT_TRUE(f->WriteAt(0, "0123").ok());
    ASSERT_TRUE(f->WriteAt(4, "4567").ok());
    ASSERT_TRUE(env.PowerCut(FaultEnv::Unsynced::kKeepRandomPrefix, seed).ok());
    const std::string got = Read("a" + std::to_string(seed));
    EXPECT_EQ(got, std::string("01234567").substr(0, got.size()));
  }
}

}  // namespace
}  // namespace etcdd
