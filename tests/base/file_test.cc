#include "base/file.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace etcdd {
namespace {

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/etcdd-file-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(FileTest, WriteFileAtomicReplacesContents) {
  std::string path = dir_ + "/f";
  ASSERT_TRUE(WriteFileAtomic(path, "one").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "two").ok());
  EXPECT_EQ(*ReadFile(path), "two");
  EXPECT_FALSE(PathExists(path + ".tmp"));
}

TEST_F(FileTest, ReadMissingFileIsNotFound) {
  EXPECT_EQ(ReadFile(dir_ + "/missing").status().code(), Code::kNotFound);
}

TEST_F(FileTest, CreateDirsMakesParents) {
  ASSERT_TRUE(CreateDirs(dir_ + "/a/b/c").ok());
  EXPECT_TRUE(PathExists(dir_ + "/a/b/c"));
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/plain", "x").ok());
  EXPECT_EQ(CreateDirs(dir_ + "/plain").code(), Code::kFailedPrecondition);
}

TEST_F(FileTest, DirLockIsExclusive) {
  auto first = DirLock::Acquire(dir_);
  ASSERT_TRUE(first.ok());
  auto second = DirLock::Acquire(dir_);
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace etcdd
