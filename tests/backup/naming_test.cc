// Backup and temporary file names.
#include "backup/naming.h"

#include <gtest/gtest.h>

namespace etcdd::backup {
namespace {

TEST(Naming, RoundTrips) {
  BackupName n{0xd1cfaf999eb97a2a, *ParseRfc3339("2024-01-02T03:04:05Z"), 42, BackupKind::kArchive};
  EXPECT_EQ(FormatBackupName(n), "d1cfaf999eb97a2a-20240102T030405Z-r42.tar.zst");
  EXPECT_EQ(ParseBackupName(FormatBackupName(n)), n);
  n.kind = BackupKind::kEncryptedArchive;
  EXPECT_EQ(ParseBackupName(FormatBackupName(n)), n);
  n.kind = BackupKind::kRaw;
  n.cluster_id = 7;
  EXPECT_EQ(FormatBackupName(n), "0000000000000007-20240102T030405Z-r42.db");
  EXPECT_EQ(ParseBackupName(FormatBackupName(n)), n);
}

TEST(Naming, RejectsOtherNames) {
  for (const char* s : {"", "notes.txt", "d1cfaf999eb97a2a-20240102T030405Z-r42.tar",
                        "d1cfaf999eb97a2a-20240102T030405Z-r.db",
                        "d1cfaf999eb97a2a-20240230T030405Z-r1.db",  // 30 February
                        "d1cfaf999eb97a2a-20240102T030405-r1.db", "xyz-20240102T030405Z-r1.db",
                        ".d1cfaf999eb97a2a-20240102T030405Z-r42.db.tmp-12",
                        "d1cfaf999eb97a2a-20240102T030405Z-r42.tar.zst.part"}) {
    EXPECT_FALSE(ParseBackupName(s)) << s;
  }
}

TEST(Naming, TempNames) {
  EXPECT_EQ(TempName("a.db", 123), ".a.db.tmp-123");
  EXPECT_EQ(ParseTempName(".a.db.tmp-123"), 123);
  EXPECT_FALSE(ParseTempName("a.db.tmp-123"));
  EXPECT_FALSE(ParseTempName(".a.db.tmp-"));
  EXPECT_FALSE(ParseTempName(".a.db.tmp-12x"));
}

TEST(Naming, Times) {
  auto t = ParseRfc3339("2024-02-29T23:59:59Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatRfc3339(*t), "2024-02-29T23:59:59Z");
  EXPECT_EQ(FormatCompactUtc(*t), "20240229T235959Z");
  EXPECT_FALSE(ParseRfc3339("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2024-02-29T24:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2024-02-29 23:59:59Z"));
}

}  // namespace
}  // namespace etcdd::backup
