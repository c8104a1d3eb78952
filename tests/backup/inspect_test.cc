// SnapshotStatus and VerifySnapshot on etcd-shaped snapshot files built here
// with lib/snap's BboltWriter: mvccpb.KeyValue values under revision keys,
// meta's compaction marks, the SHA-256 trailer. A good file passes every
// check with the numbers worked out by hand; each kind of damage fails the
// check that covers it, naming the file and what is wrong.
#include "backup/inspect.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "backup/snapshot_digest.h"
#include "base/crc32c.h"
#include "base/file.h"
#include "etcd_snapshot_files.h"
#include "mvccpb/kv.pb.h"
#include "snap/bbolt_writer.h"

namespace etcdd::backup {
namespace {

using testing::Big64;
using testing::Db;
using testing::Entries;
using testing::Kv;
using testing::RevKey;
using testing::Tombstone;
using Outcome = VerifyCheck::Outcome;

// The history every test starts from (revision 1 is etcd's empty store):
//   2 put a=1   3 put b=1   4 put a=2   5 del b   6 put c=1   7 put a=3
// then compacted at 4 (finished): at or below 4 only each key's latest
// entry there stays, and only if it is a put, so a@2 is gone while b@3 and
// a@4 remain. Live at 7: a and c.
Entries History() {
  return {{RevKey(3, 0), Kv("b", 3, 3, 1, "1")},
          {RevKey(4, 0), Kv("a", 2, 4, 2, "2")},
          {RevKey(5, 0, true), Tombstone("b")},
          {RevKey(6, 0), Kv("c", 6, 6, 1, "1")},
          {RevKey(7, 0), Kv("a", 2, 7, 3, "3")}};
}

Entries Meta(int64_t finished, int64_t scheduled) {
  return {{"consistent_index", Big64(12)},
          {"finishedCompactRev", RevKey(finished, 0)},
          {"scheduledCompactRev", RevKey(scheduled, 0)}};
}

Db EtcdDb(Entries keys = History(), Entries meta = Meta(4, 4)) {
  return {{"alarm", {}},
          {"auth", {{"authEnabled", std::string(1, '\0')}}},
          {"cluster", {{"clusterVersion", "3.4.0"}}},
          {"key", std::move(keys)},
          {"lease", {}},
          {"members", {{"8e9e05c52164694d", "{\"id\":1}"}}},
          {"meta", std::move(meta)}};
}

class InspectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "inspect-XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `db` as an etcd snapshot (bbolt file, then its SHA-256 unless
  // `digest` is false) and returns its path.
  std::string Write(const Db& db, bool digest = true, const std::string& name = "s.db") {
    return testing::WriteSnapshot(dir_ + "/" + name, db, digest);
  }

  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void Overwrite(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  }

  static Manifest ManifestFor(const std::string& path, const VerifyReport& r) {
    Manifest m;
    m.revision = r.revision;
    m.compact_revision = r.compact_revision;
    m.key_count = r.live_keys;
    m.hash_kv = r.hash_kv;
    m.snapshot_size = r.digest.file_size;
    m.sha256 = r.digest.sha256;
    return m;
  }

  static const VerifyCheck& Check(const VerifyReport& r, const std::string& name) {
    for (const auto& c : r.checks) {
      if (c.name == name) return c;
    }
    static const VerifyCheck kMissing{"missing", Outcome::kFailed, "no such check"};
    return kMissing;
  }

  std::string dir_;
};

uint32_t ExpectedStatusHash(const Db& db) {
  uint32_t crc = 0;
  for (const auto& [bucket, entries] : db) {
    crc = Crc32c(crc, bucket);
    for (const auto& [k, v] : entries) crc = Crc32c(Crc32c(crc, k), v);
  }
  return crc;
}

TEST_F(InspectTest, StatusIsEtcdctlsNumbers) {
  Db db = EtcdDb();
  std::string path = Write(db);
  auto s = SnapshotStatus(path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->hash, ExpectedStatusHash(db));
  EXPECT_EQ(s->revision, 7);
  EXPECT_EQ(s->total_key, 5 + 3 + 1 + 1 + 1);  // key, meta, auth, cluster, members
  EXPECT_EQ(static_cast<uint64_t>(s->total_size), std::filesystem::file_size(path) - kSha256Size);
}

TEST_F(InspectTest, StatusWithoutDigestReadsTheWholeFile) {
  std::string path = Write(EtcdDb(), /*digest=*/false);
  auto s = SnapshotStatus(path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(static_cast<uint64_t>(s->total_size), std::filesystem::file_size(path));
}

TEST_F(InspectTest, StatusOfAMissingFileSaysStatLikeEtcdctl) {
  auto s = SnapshotStatus(dir_ + "/nope.db");
  EXPECT_EQ(s.status().code(), Code::kNotFound);
  EXPECT_EQ(s.status().message(), "stat " + dir_ + "/nope.db: no such file or directory");
}

TEST_F(InspectTest, VerifyPassesAGoodFileWithHandComputedHashKV) {
  std::string path = Write(EtcdDb());
  auto r = VerifySnapshot(path, std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok()) << r->FirstFailure().ToString();
  EXPECT_EQ(r->revision, 7);
  EXPECT_EQ(r->compact_revision, 4);
  EXPECT_EQ(r->live_keys, 2);  // a and c; b is deleted
  // HashByRev(7) with compact 4: at or below 4 only the live values at 7
  // count; b@3 is not one (b's latest is a tombstone), nor is a@4 (a@7 is).
  uint32_t want = Crc32c(0, "key");
  for (const auto& [k, v] : History()) {
    if (k == RevKey(3, 0) || k == RevKey(4, 0)) continue;
    want = Crc32c(Crc32c(want, k), v);
  }
  ASSERT_TRUE(r->hash_kv.has_value());
  EXPECT_EQ(*r->hash_kv, want);
  EXPECT_EQ(Check(*r, "manifest").outcome, Outcome::kSkipped);
  EXPECT_EQ(Check(*r, "digest").outcome, Outcome::kOk);
}

TEST_F(InspectTest, HashKVWithoutCompactionHashesEverything) {
  Entries meta = {{"consistent_index", Big64(3)}};
  std::string path = Write(EtcdDb(History(), meta));
  auto r = VerifySnapshot(path, std::nullopt);
  ASSERT_TRUE(r.ok() && r->ok()) << r->FirstFailure().ToString();
  EXPECT_EQ(r->compact_revision, -1);
  uint32_t want = Crc32c(0, "key");
  for (const auto& [k, v] : History()) want = Crc32c(Crc32c(want, k), v);
  EXPECT_EQ(r->hash_kv.value_or(0), want);
}

TEST_F(InspectTest, VerifyAgreesWithAMatchingManifest) {
  std::string path = Write(EtcdDb());
  auto first = VerifySnapshot(path, std::nullopt);
  ASSERT_TRUE(first.ok());
  auto r = VerifySnapshot(path, ManifestFor(path, *first));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok()) << r->FirstFailure().ToString();
  EXPECT_EQ(Check(*r, "manifest").outcome, Outcome::kOk);
  EXPECT_NE(Check(*r, "hash_kv").detail.find("equals the manifest's"), std::string::npos);
}

TEST_F(InspectTest, ManifestMismatchesAreNamed) {
  std::string path = Write(EtcdDb());
  auto first = VerifySnapshot(path, std::nullopt);
  ASSERT_TRUE(first.ok());
  Manifest m = ManifestFor(path, *first);
  m.key_count = 9;
  m.hash_kv = *m.hash_kv + 1;
  auto r = VerifySnapshot(path, m, "backup.tar.zst:snapshot.db");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(Check(*r, "hash_kv").outcome, Outcome::kFailed);
  const VerifyCheck& mc = Check(*r, "manifest");
  EXPECT_EQ(mc.outcome, Outcome::kFailed);
  EXPECT_NE(mc.detail.find("key_count 9 but the file has 2"), std::string::npos) << mc.detail;
  EXPECT_NE(mc.detail.find("backup.tar.zst:snapshot.db"), std::string::npos);

  m = ManifestFor(path, *first);
  m.revision = 8;  // later than the file: impossible for a manifest
  m.sha256 = std::string(64, '0');
  r = VerifySnapshot(path, m);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(Check(*r, "manifest").detail.find("revision 8 but the file has 7"), std::string::npos);
  EXPECT_NE(Check(*r, "manifest").detail.find("sha256 000"), std::string::npos);
  EXPECT_NE(Check(*r, "hash_kv").detail.find("not compared"), std::string::npos);
}

TEST_F(InspectTest, ManifestRevisionTakenBeforeTheSnapshotIsAccepted) {
  std::string path = Write(EtcdDb());
  auto first = VerifySnapshot(path, std::nullopt);
  ASSERT_TRUE(first.ok());
  Manifest m = ManifestFor(path, *first);
  m.revision = 6;
  m.key_count = 1;  // at revision 6; not comparable with the file's
  auto r = VerifySnapshot(path, m);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok()) << r->FirstFailure().ToString();
}

TEST_F(InspectTest, BadDigestIsNamed) {
  std::string path = Write(EtcdDb());
  std::string data = Read(path);
  data.back() ^= 1;
  Overwrite(path, data);
  auto s = SnapshotStatus(path);
  EXPECT_EQ(s.status().code(), Code::kDataLoss);
  EXPECT_NE(s.status().message().find("sha256 mismatch"), std::string::npos);
  EXPECT_EQ(s.status().file(), path);
  auto r = VerifySnapshot(path, std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Check(*r, "digest").outcome, Outcome::kFailed);
  EXPECT_EQ(Check(*r, "bbolt").outcome, Outcome::kOk);  // the body itself is intact
}

TEST_F(InspectTest, FlippedBodyByteFailsTheDigest) {
  std::string path = Write(EtcdDb());
  std::string data = Read(path);
  data[5000] ^= 0x40;
  Overwrite(path, data);
  auto r = VerifySnapshot(path, std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(Check(*r, "digest").outcome, Outcome::kFailed);
}

TEST_F(InspectTest, TruncatedFileFailsTheStructureCheck) {
  std::string path = Write(EtcdDb());
  std::string data = Read(path);
  Overwrite(path, data.substr(0, data.size() - 4096));
  auto s = SnapshotStatus(path);
  EXPECT_EQ(s.status().code(), Code::kDataLoss) << s.status().ToString();
  auto r = VerifySnapshot(path, std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Check(*r, "bbolt").outcome, Outcome::kFailed);
  EXPECT_NE(Check(*r, "bbolt").detail.find(path), std::string::npos);
  EXPECT_EQ(Check(*r, "key").name, "missing");  // not walked after a bad tree
}

// One damaged key bucket, and the words its failure must contain.
struct KeyDamage {
  const char* what;
  Entries keys;
  std::string expect;
};

TEST_F(InspectTest, KeyBucketDamageIsNamed) {
  Entries bad_value = History();
  bad_value[3].second = "\xff\xff\xff";
  Entries bad_mod = History();
  bad_mod[3].second = Kv("c", 6, 5, 1, "1");
  Entries gap = History();
  gap[4].second = Kv("a", 2, 7, 4, "3");
  Entries not_rev = History();
  not_rev.insert(not_rev.begin(), {std::string("\x00\x00", 2), Kv("z", 1, 1, 1, "")});
  Entries twice = History();
  twice.insert(twice.begin() + 4, {RevKey(6, 0, true), Tombstone("c")});
  Entries keyless = History();
  keyless[2].second = Tombstone("");
  Entries old_tomb = History();
  old_tomb.insert(old_tomb.begin(), {RevKey(2, 0, true), Tombstone("q")});
  Entries create = History();
  create[3].second = Kv("c", 7, 6, 1, "1");
  std::vector<KeyDamage> cases = {
      {"value", bad_value, "revision 6/0: value (3 bytes) is not an mvccpb.KeyValue"},
      {"mod_revision", bad_mod, "revision 6/0, key 63: mod_revision 5 is not the entry's"},
      {"version gap", gap, "version 4 follows version 2 at revision 4"},
      {"not a revision", not_rev, "key 0000 (2 bytes) is not a revision"},
      {"put and tombstone", twice, "revision 6/0 (tombstone): revision stored twice"},
      {"tombstone without key", keyless, "revision 5/0 (tombstone): value has no key"},
      {"uncompacted tombstone", old_tomb, "tombstone at or below the finished compaction"},
      {"create after mod", create, "create_revision 7 not in 1..mod_revision"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    std::string path = Write(EtcdDb(c.keys), true, std::string("k-") + c.what + ".db");
    auto r = VerifySnapshot(path, std::nullopt);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const VerifyCheck& k = Check(*r, "key");
    EXPECT_EQ(k.outcome, Outcome::kFailed);
    EXPECT_NE(k.detail.find(c.expect), std::string::npos) << k.detail;
    EXPECT_NE(k.detail.find(path), std::string::npos) << k.detail;
    EXPECT_NE(k.detail.find("bucket key"), std::string::npos) << k.detail;
    EXPECT_EQ(r->FirstFailure().code(), Code::kDataLoss);
  }
}

TEST_F(InspectTest, MetaDamageIsNamed) {
  auto r = VerifySnapshot(Write(EtcdDb(History(), Meta(5, 4)), true, "m1.db"), std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(Check(*r, "meta").detail.find("finishedCompactRev 5 is past scheduledCompactRev 4"),
            std::string::npos);
  Entries short_rev = {{"finishedCompactRev", "abc"}};
  r = VerifySnapshot(Write(EtcdDb(History(), short_rev), true, "m2.db"), std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(Check(*r, "meta").detail.find("bucket meta: finishedCompactRev value 616263"),
            std::string::npos);
  Db no_meta = EtcdDb();
  no_meta.erase("meta");
  r = VerifySnapshot(Write(no_meta, true, "m3.db"), std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(Check(*r, "meta").detail.find("no bucket meta"), std::string::npos);
}

TEST_F(InspectTest, NoDigestIsSkippedNotFailed) {
  auto r = VerifySnapshot(Write(EtcdDb(), /*digest=*/false), std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(Check(*r, "digest").outcome, Outcome::kSkipped);
}

}  // namespace
}  // namespace etcdd::backup
