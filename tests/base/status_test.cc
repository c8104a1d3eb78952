#include "base/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace etcdd {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(Status, CarriesCodeAndMessage) {
  Status s = Status::OutOfRange("etcdserver: mvcc: required revision is a future revision");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kOutOfRange);
  EXPECT_EQ(s.ToString(), "OUT_OF_RANGE: etcdserver: mvcc: required revision is a future revision");
  EXPECT_EQ(s.Annotate("wal").message(),
            "wal: etcdserver: mvcc: required revision is a future revision");
}

TEST(Status, CorruptionNamesTheLocation) {
  Status s = Status::Corruption("crc mismatch", "0000.wal at offset 4096");
  EXPECT_EQ(s.code(), Code::kDataLoss);
  EXPECT_EQ(s.message(), "crc mismatch (0000.wal at offset 4096)");
}

TEST(Result, PropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().message(), "odd");
  EXPECT_TRUE(Quarter(8).status().ok());
}

TEST(StatusTest, IOErrorKeepsErrnoThroughAnnotate) {
  Status s = Status::IOError("write /x/wal", ENOSPC)
                 .Annotate("failed to save Raft hard state and entries");
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_EQ(s.sys_errno(), ENOSPC);
  EXPECT_TRUE(s.IsIOError(ENOSPC));
  EXPECT_EQ(s.message(),
            "failed to save Raft hard state and entries: write /x/wal: No space left on device");
  EXPECT_EQ(s.ToString().rfind("IO_ERROR: ", 0), 0u);
}

TEST(StatusTest, CorruptionKeepsFileAndOffset) {
  Status s = Status::Corruption("wal: crc chain broken", "/d/0.wal", 4096);
  EXPECT_EQ(s.code(), Code::kDataLoss);
  EXPECT_EQ(s.message(), "wal: crc chain broken (/d/0.wal at offset 4096)");
  EXPECT_EQ(s.file(), "/d/0.wal");
  EXPECT_EQ(s.offset(), 4096u);
  Status t = Status::Corruption("bad", "/d/f");
  EXPECT_EQ(t.file(), "/d/f");
  EXPECT_FALSE(t.offset().has_value());
  EXPECT_EQ(Status::Internal("x").sys_errno(), 0);
}

}  // namespace
}  // namespace etcdd
