#include "base/crc32c.h"

#include <gtest/gtest.h>

namespace etcdd {
namespace {

TEST(Crc32c, MatchesTheStandardCheckValue) {
  // The CRC-32C check value from RFC 3720 (iSCSI) for "123456789".
  EXPECT_EQ(Crc32c(0, "123456789"), 0xE3069283u);
}

TEST(Crc32c, EmptyInputLeavesTheSeed) {
  EXPECT_EQ(Crc32c(0, ""), 0u);
  EXPECT_EQ(Crc32c(0x1234u, ""), 0x1234u);
}

TEST(Crc32c, ExtendsARunningChecksum) {
  EXPECT_EQ(Crc32c(Crc32c(0, "1234"), "56789"), Crc32c(0, "123456789"));
}

}  // namespace
}  // namespace etcdd
