// Manifests, archives and their encryption: what is written reads back, and
// every kind of damage is an error that leaves nothing behind.
#include "backup/archive.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "backup/catalog.h"
#include "backup/output_file.h"
#include "backup/snapshot_digest.h"
#include "base/file.h"

namespace etcdd::backup {
namespace {

namespace fs = std::filesystem;

Manifest SampleManifest() {
  ClusterFacts c;
  c.cluster_id = 0xd1cfaf999eb97a2a;
  c.source_member_id = 0xbdae9bbc11dd390d;
  c.members = {{"a", 0xbdae9bbc11dd390d, {"http://127.0.0.1:2380"}, false},
               {"b", 0x1234, {"http://10.0.0.2:2380", "http://10.0.0.3:2380"}, true}};
  c.revision = 99;
  c.raft_index = 120;
  c.raft_term = 3;
  c.compact_revision = 50;
  c.hash_kv = 4000000000u;
  SnapshotFileFacts f{0, "", std::nullopt, 7};
  return BuildManifest(c, f, "0.1.0", *ParseRfc3339("2024-05-06T07:08:09Z"));
}

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "backup-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    // A fake snapshot: random bytes then their SHA-256, > 1 chunk of everything.
    std::mt19937 rng(1);
    std::string body(300 * 1024 + 17, '\0');
    for (char& c : body) c = static_cast<char>(rng());
    Sha256 sha;
    sha.Update(body);
    auto digest = sha.Final();
    snapshot_ = body + std::string(digest.begin(), digest.end());
    snapshot_path_ = dir_ + "/in.db";
    ASSERT_TRUE(WriteFileAtomic(snapshot_path_, snapshot_).ok());
    manifest_ = SampleManifest();
    manifest_.snapshot_size = snapshot_.size();
    Sha256 whole;
    whole.Update(snapshot_);
    manifest_.sha256 = HexDigest(whole.Final());
    key_.fill(0x42);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes an archive of the fixture's snapshot to `name`.
  std::string Write(const std::string& name, const std::optional<EncryptionKey>& key) {
    auto out = OutputFile::Create(Env::Default(), dir_, name);
    EXPECT_TRUE(out.ok());
    Status st = WriteArchive(manifest_, snapshot_path_, key,
                             [&](std::string_view b) { return out->Append(b); });
    EXPECT_TRUE(st.ok()) << st.ToString();
    auto path = out->Commit();
    EXPECT_TRUE(path.ok());
    return *path;
  }

  // Files in the temp dir other than the inputs and outputs the test made.
  std::vector<std::string> Leftovers() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(extract_dir())) out.push_back(e.path().string());
    return out;
  }
  std::string extract_dir() {
    std::string d = dir_ + "/extract";
    fs::create_directories(d);
    return d;
  }

  std::string dir_, snapshot_, snapshot_path_;
  Manifest manifest_;
  EncryptionKey key_{};
};

TEST_F(ArchiveTest, ManifestJsonRoundTrips) {
  auto back = ManifestFromJson(ManifestToJson(manifest_), "m");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, manifest_);
  EXPECT_EQ(manifest_.key_count, 7);  // from the file facts
  Manifest unknown = manifest_;
  unknown.hash_kv.reset();
  unknown.key_count.reset();
  unknown.compact_revision.reset();
  EXPECT_NE(ManifestToJson(unknown).find("\"hash_kv\": null"), std::string::npos);
  EXPECT_EQ(*ManifestFromJson(ManifestToJson(unknown), "m"), unknown);
}

TEST_F(ArchiveTest, ManifestRejectsGarbageAndNewerVersions) {
  EXPECT_EQ(ManifestFromJson("nope", "m").status().code(), Code::kDataLoss);
  EXPECT_EQ(ManifestFromJson("{\"format_version\": 1}", "m").status().code(), Code::kDataLoss);
  EXPECT_EQ(ManifestFromJson("{\"format_version\": 2}", "m").status().code(),
            Code::kFailedPrecondition);
}

TEST_F(ArchiveTest, ArchiveRoundTrips) {
  std::string path = Write("a.tar.zst", std::nullopt);
  EXPECT_EQ(*DetectFormat(path), BackupFormat::kArchive);
  auto opened = OpenBackup(Env::Default(), path, std::nullopt, extract_dir());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->format, BackupFormat::kArchive);
  EXPECT_EQ(*opened->manifest, manifest_);
  EXPECT_EQ(*ReadFile(opened->snapshot_path), snapshot_);
  EXPECT_EQ(**ReadManifest(path, std::nullopt), manifest_);
  std::string extracted = opened->snapshot_path;
  { OpenedBackup gone = std::move(opened).value(); }
  EXPECT_FALSE(PathExists(extracted));
}

TEST_F(ArchiveTest, BareSnapshotIsItsOwnFile) {
  EXPECT_EQ(*DetectFormat(snapshot_path_), BackupFormat::kBareSnapshot);
  auto opened = OpenBackup(Env::Default(), snapshot_path_, std::nullopt, extract_dir());
  ASSERT_TRUE(opened.ok());
  EXPECT_FALSE(opened->manifest);
  EXPECT_EQ(opened->snapshot_path, snapshot_path_);
  EXPECT_FALSE(*ReadManifest(snapshot_path_, std::nullopt));
}

TEST_F(ArchiveTest, EncryptedArchiveNeedsTheRightKey) {
  std::string path = Write("a.tar.zst.enc", key_);
  EXPECT_EQ(*DetectFormat(path), BackupFormat::kEncryptedArchive);
  auto opened = OpenBackup(Env::Default(), path, key_, extract_dir());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened->manifest, manifest_);
  EXPECT_EQ(*ReadFile(opened->snapshot_path), snapshot_);
  EXPECT_EQ(**ReadManifest(path, key_), manifest_);

  EncryptionKey wrong = key_;
  wrong[31] ^= 1;
  auto bad = OpenBackup(Env::Default(), path, wrong, extract_dir());
  EXPECT_EQ(bad.status().code(), Code::kDataLoss);
  EXPECT_NE(bad.status().message().find("wrong key or corrupt file"), std::string::npos);
  auto none = OpenBackup(Env::Default(), path, std::nullopt, extract_dir());
  EXPECT_EQ(none.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(*ReadManifest(path, std::nullopt));  // list shows it without a manifest
  { OpenedBackup gone = std::move(opened).value(); }
  EXPECT_TRUE(Leftovers().empty());
}

// Every truncation point and a flipped bit anywhere fail with the same
// error and leave no extracted file.
TEST_F(ArchiveTest, DamagedEncryptedArchivesAreRejected) {
  std::string path = Write("a.tar.zst.enc", key_);
  std::string good = *ReadFile(path);
  const std::vector<size_t> cuts = {0,
                                    5,
                                    kEnvelopeHeaderSize,
                                    kEnvelopeHeaderSize + 10,
                                    kEnvelopeHeaderSize + kDefaultChunkSize + kTagSize,
                                    good.size() / 2,
                                    good.size() - 1};
  std::vector<std::string> damaged;
  for (size_t cut : cuts) damaged.push_back(good.substr(0, cut));
  for (size_t at : {size_t{3}, size_t{10}, size_t{30}, good.size() / 2, good.size() - 1}) {
    std::string flipped = good;
    flipped[at] ^= 0x10;
    damaged.push_back(flipped);
  }
  for (size_t i = 0; i < damaged.size(); ++i) {
    std::string p = dir_ + "/damaged.enc";
    ASSERT_TRUE(WriteFileAtomic(p, damaged[i]).ok());
    auto r = OpenBackup(Env::Default(), p, key_, extract_dir());
    // A damaged magic makes it not look encrypted at all: then it is read as
    // a bare snapshot (the bbolt reader rejects it later).
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("wrong key or corrupt file"), std::string::npos)
          << "case " << i << ": " << r.status().ToString();
    } else {
      EXPECT_EQ(r->format, BackupFormat::kBareSnapshot) << "case " << i;
    }
    EXPECT_TRUE(Leftovers().empty()) << "case " << i;
  }
}

TEST_F(ArchiveTest, DamagedPlainArchiveIsCorruption) {
  std::string path = Write("a.tar.zst", std::nullopt);
  std::string good = *ReadFile(path);
  for (size_t cut : {good.size() / 2, good.size() - 20}) {
    ASSERT_TRUE(WriteFileAtomic(dir_ + "/cut.tar.zst", good.substr(0, cut)).ok());
    auto r = OpenBackup(Env::Default(), dir_ + "/cut.tar.zst", std::nullopt, extract_dir());
    EXPECT_FALSE(r.ok()) << cut;
    EXPECT_TRUE(Leftovers().empty());
  }
}

TEST(EncryptionKey, ParsesRawAndHexOnly) {
  std::string raw(32, '\x01');
  EXPECT_TRUE(ParseEncryptionKey(raw, "k").ok());
  std::string hex(64, 'a');
  auto k = ParseEncryptionKey(hex + "\n", "k");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ((*k)[0], 0xaa);
  for (std::string bad : {std::string(), std::string(31, 'x'), std::string(64, 'g'),
                          std::string(63, 'a'), std::string(33, '\x01')}) {
    auto r = ParseEncryptionKey(bad, "k");
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad.size();
    EXPECT_NE(r.status().message().find("32 raw bytes or 64 hex digits"), std::string::npos);
  }
}

TEST(Encryption, ChunkBoundaries) {
  EncryptionKey key{};
  key.fill(7);
  for (size_t size : {size_t{0}, size_t{1}, size_t{1024}, size_t{1025}, size_t{4096}}) {
    std::string plain(size, 'p');
    std::string sealed;
    auto enc = Encryptor::Start(
        key,
        [&](std::string_view b) {
          sealed.append(b);
          return Status::Ok();
        },
        1024);
    ASSERT_TRUE(enc.ok());
    ASSERT_TRUE((*enc)->Write(plain).ok());
    ASSERT_TRUE((*enc)->Finish().ok());
    size_t pos = 0;
    auto dec = Decryptor::Open(
        key,
        [&](char* buf, size_t n) -> Result<size_t> {
          size_t k = std::min(n, sealed.size() - pos);
          std::memcpy(buf, sealed.data() + pos, k);
          pos += k;
          return k;
        },
        "mem");
    ASSERT_TRUE(dec.ok());
    std::string back;
    for (;;) {
      auto chunk = (*dec)->Next();
      ASSERT_TRUE(chunk.ok()) << size;
      if (chunk->empty()) break;
      back.append(*chunk);
    }
    EXPECT_EQ(back, plain) << size;
  }
}

TEST(TrailerCheck, AcceptsAnySplitAndRejectsDamage) {
  std::string body(5000, 'b');
  Sha256 sha;
  sha.Update(body);
  auto d = sha.Final();
  std::string stream = body + std::string(d.begin(), d.end());
  for (size_t piece : {size_t{1}, size_t{7}, size_t{32}, size_t{33}, size_t{4096}, stream.size()}) {
    TrailerCheck check;
    for (size_t i = 0; i < stream.size(); i += piece) check.Update(stream.substr(i, piece));
    EXPECT_TRUE(check.Finish().ok()) << piece;
    EXPECT_EQ(check.bytes(), stream.size());
  }
  TrailerCheck bad;
  bad.Update(stream.substr(0, stream.size() - 1) + "x");
  EXPECT_EQ(bad.Finish().code(), Code::kDataLoss);
  TrailerCheck cut;
  cut.Update(stream.substr(0, 4096));
  EXPECT_EQ(cut.Finish().code(), Code::kDataLoss);
  TrailerCheck tiny;
  tiny.Update("abc");
  EXPECT_EQ(tiny.Finish().code(), Code::kDataLoss);
}

}  // namespace
}  // namespace etcdd::backup
