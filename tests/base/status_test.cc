#include "base/status.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace etcdd
