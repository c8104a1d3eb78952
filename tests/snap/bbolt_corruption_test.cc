// BboltReader on damaged files: every damage it can see is a Corruption
// naming the file and an offset, never a crash or a wrong answer passed off
// as right. Randomized tests print their seed.
#include <gtest/gtest.h>
#include <lmdb.h>

#include <fstream>
#include <random>

#include "base/file.h"
#include "bbolt_test_util.h"
#include "snap/bbolt_format.h"

namespace etcdd::snap::testing {
namespace {

using bbolt::Load16;
using bbolt::Load32;
using bbolt::Load64;
using bbolt::Store64;

constexpr uint64_t kPage = 4096;

// A database with a three-level bucket, overflow values, an inline bucket and
// an empty one.
Db SampleDb(int keys = 20000) {
  Db db;
  for (int i = 1; i <= keys; ++i) db["key"].emplace_back(RevKey(i, 0), "value");
  db["big"] = {{"a", std::string(9000, 'a')}, {"b", ""}, {"c", std::string(5000, 'c')}};
  db["inline"] = {{"x", "1"}, {"y", "2"}};
  db["empty"] = {};
  return db;
}

// Opens `path` and reads everything (ReadDb, then Check).
Status ReadAll(const std::string& path, uint64_t data_bytes = 0, Db* out = nullptr) {
  ASSIGN_OR_RETURN(auto reader, BboltReader::Open(path, data_bytes));
  ASSIGN_OR_RETURN(Db db, ReadDb(reader));
  if (out != nullptr) *out = std::move(db);
  return reader.Check();
}

// A Corruption naming `path` and an offset inside `size` bytes.
void ExpectCorruption(const Status& s, const std::string& path, uint64_t size) {
  ASSERT_EQ(s.code(), Code::kDataLoss) << s.ToString();
  EXPECT_EQ(s.file(), path);
  ASSERT_TRUE(s.offset().has_value()) << s.ToString();
  EXPECT_LE(*s.offset(), size) << s.ToString();
}

// Rewrites both meta pages' checksums after a test edited them.
void ResealMetas(std::string& file) {
  for (int i = 0; i < 2; ++i) {
    char* p = file.data() + i * kPage;
    Store64(p + bbolt::kMetaChecksumAt, bbolt::MetaChecksum(p));
  }
}

class BboltCorruptionTest : public BboltTest {
 protected:
  void SetUp() override {
    BboltTest::SetUp();
    db_ = SampleDb();
    ASSERT_TRUE(WriteDb(Path("good"), db_, 3).ok());
    auto bytes = ReadFile(Path("good"));
    ASSERT_TRUE(bytes.ok());
    good_ = *bytes;
  }

  // Writes `bytes` to "bad" and returns its path.
  std::string Bad(const std::string& bytes) {
    std::ofstream(Path("bad"), std::ios::binary | std::ios::trunc) << bytes;  // no fsync: fast
    return Path("bad");
  }

  // The value of top-level bucket `name` in the root leaf (the last page),
  // and its offset in the file.
  std::pair<std::string_view, uint64_t> BucketValue(std::string_view name) const {
    uint64_t root = Load64(good_.data() + bbolt::kMetaRootAt);
    const char* page = good_.data() + root * kPage;
    EXPECT_EQ(Load16(page + bbolt::kHeaderFlagsAt), bbolt::kLeafPage);
    for (int i = 0; i < Load16(page + bbolt::kHeaderCountAt); ++i) {
      const char* e = page + 16 + 16 * i;
      const char* key = e + Load32(e + 4);
      if (std::string_view(key, Load32(e + 8)) == name) {
        const char* value = key + Load32(e + 8);
        return {std::string_view(value, Load32(e + 12)), value - good_.data()};
      }
    }
    ADD_FAILURE() << "no bucket " << name;
    return {};
  }

  Db db_;
  std::string good_;
};

TEST_F(BboltCorruptionTest, TheSampleReadsBackWhole) {
  Db got;
  ASSERT_TRUE(ReadAll(Path("good"), 0, &got).ok());
  EXPECT_TRUE(got == db_);
}

TEST_F(BboltCorruptionTest, TruncationAnywhereIsCorruption) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::vector<uint64_t> sizes = {0, 1, 15, 16, 79, 80, 4095, 4096, 4176, 8192, 12288};
  for (int i = 0; i < 60; ++i) sizes.push_back(rng() % good_.size());
  for (uint64_t p = kPage; p < good_.size(); p += 7 * kPage) sizes.push_back(p);
  sizes.push_back(good_.size() - 1);
  for (uint64_t size : sizes) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::string path = Bad(good_.substr(0, size));
    ExpectCorruption(ReadAll(path), path, good_.size());
    // The same through data_bytes, the way a snapshot's trailer is cut off.
    if (size > 0) ExpectCorruption(ReadAll(Path("good"), size), Path("good"), good_.size());
  }
}

TEST_F(BboltCorruptionTest, DataBytesBeyondTheFileIsCorruption) {
  ExpectCorruption(BboltReader::Open(Path("good"), good_.size() + 1).status(), Path("good"),
                   good_.size());
  EXPECT_EQ(BboltReader::Open(Path("none")).status().code(), Code::kNotFound);
}

TEST_F(BboltCorruptionTest, AFlipInOneMetaFallsBackToTheOtherAndInBothIsCorruption) {
  for (size_t byte = 0; byte < bbolt::kMetaEnd; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      SCOPED_TRACE("byte " + std::to_string(byte) + " bit " + std::to_string(bit));
      std::string bad = good_;
      bad[byte] ^= static_cast<char>(1 << bit);
      auto reader = BboltReader::Open(Bad(bad));
      ASSERT_TRUE(reader.ok()) << reader.status().ToString();
      EXPECT_EQ(reader->meta().page, 1);
      bad[kPage + byte] ^= static_cast<char>(1 << bit);
      ExpectCorruption(BboltReader::Open(Bad(bad)).status(), Path("bad"), good_.size());
    }
  }
}

TEST_F(BboltCorruptionTest, TheMetaWithTheHigherTxidWins) {
  std::string file = good_;
  Store64(file.data() + kPage + bbolt::kMetaTxidAt, 4);
  ResealMetas(file);
  auto reader = BboltReader::Open(Bad(file));
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->meta().page, 1);
  EXPECT_EQ(reader->txid(), 4u);
  Store64(file.data() + bbolt::kMetaTxidAt, 5);
  ResealMetas(file);
  reader = BboltReader::Open(Bad(file));
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->meta().page, 0);
}

TEST_F(BboltCorruptionTest, AHighWaterMarkPastTheFileIsCorruption) {
  std::string file = good_;
  for (int i = 0; i < 2; ++i) {
    Store64(file.data() + i * kPage + bbolt::kMetaPgidAt, good_.size() / kPage + 1);
  }
  ResealMetas(file);
  ExpectCorruption(BboltReader::Open(Bad(file)).status(), Path("bad"), good_.size());
}

// Every bit of every page header and element table, except the last leaf
// element's sizes (whose value may end anywhere in the page), is checked:
// Check() finds each flip. Sampled, seeded.
TEST_F(BboltCorruptionTest, FlipsInPageStructureAreFound) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::vector<uint64_t> structural;  // byte offsets
  for (uint64_t pgid = 2; pgid < good_.size() / kPage;) {
    const char* p = good_.data() + pgid * kPage;
    uint16_t flags = Load16(p + bbolt::kHeaderFlagsAt), count = Load16(p + bbolt::kHeaderCountAt);
    uint64_t end = 16 + 16 * uint64_t{count};
    if (flags == bbolt::kLeafPage && count > 0) end -= 8;  // the last element's ksize, vsize
    for (uint64_t b = 0; b < end; ++b) structural.push_back(pgid * kPage + b);
    pgid += 1 + Load32(p + bbolt::kHeaderOverflowAt);
  }
  for (int i = 0; i < 1500; ++i) {
    uint64_t at = structural[rng() % structural.size()];
    int bit = static_cast<int>(rng() % 8);
    SCOPED_TRACE("offset " + std::to_string(at) + " bit " + std::to_string(bit));
    std::string bad = good_;
    bad[at] ^= static_cast<char>(1 << bit);
    ExpectCorruption(ReadAll(Bad(bad)), Path("bad"), good_.size());
  }
}

// Flips anywhere past the metas: an error or a database, never a crash.
TEST_F(BboltCorruptionTest, FlipsAnywhereNeverCrash) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  int found = 0;
  for (int i = 0; i < 500; ++i) {
    std::string bad = good_;
    for (int flips = 1 + rng() % 4; flips > 0; --flips) {
      bad[2 * kPage + rng() % (good_.size() - 2 * kPage)] ^= static_cast<char>(1 << (rng() % 8));
    }
    Status s = ReadAll(Bad(bad));
    if (!s.ok()) {
      ExpectCorruption(s, Path("bad"), good_.size());
      ++found;
    }
  }
  EXPECT_GT(found, 0);
}

TEST_F(BboltCorruptionTest, FlipsInAnInlineBucketPageAreFound) {
  auto [value, offset] = BucketValue("inline");
  ASSERT_EQ(Load64(value.data()), 0u);  // inline
  uint64_t page_at = offset + bbolt::kBucketHeaderSize;
  // Header, then two elements (an inline page has no padding: all checked).
  for (uint64_t b = 0; b < 16 + 2 * 16; ++b) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good_;
      bad[page_at + b] ^= static_cast<char>(1 << bit);
      SCOPED_TRACE("byte " + std::to_string(b) + " bit " + std::to_string(bit));
      ExpectCorruption(ReadAll(Bad(bad)), Path("bad"), good_.size());
    }
  }
}

TEST_F(BboltCorruptionTest, APageIdPastTheHighWaterMarkIsCorruption) {
  auto [value, offset] = BucketValue("key");
  uint64_t root = Load64(value.data());
  ASSERT_EQ(Load16(good_.data() + root * kPage + bbolt::kHeaderFlagsAt), bbolt::kBranchPage);
  std::string bad = good_;
  uint64_t field = root * kPage + 16 + 8;  // element 0's pgid
  Store64(bad.data() + field, good_.size() / kPage + 3);
  Status s = ReadAll(Bad(bad));
  ExpectCorruption(s, Path("bad"), good_.size());
  EXPECT_EQ(s.offset(), field);
  EXPECT_NE(s.message().find("high water mark"), std::string::npos) << s.ToString();
}

TEST_F(BboltCorruptionTest, ACycleIsCorruption) {
  auto [value, offset] = BucketValue("key");
  uint64_t root = Load64(value.data());
  const char* page = good_.data() + root * kPage;
  // The root's last child is a branch; point its last child back at the root.
  uint64_t child = Load64(page + 16 + 16 * (Load16(page + bbolt::kHeaderCountAt) - 1) + 8);
  const char* child_page = good_.data() + child * kPage;
  ASSERT_EQ(Load16(child_page + bbolt::kHeaderFlagsAt), bbolt::kBranchPage);
  std::string bad = good_;
  uint64_t field = child * kPage + 16 + 16 * (Load16(child_page + bbolt::kHeaderCountAt) - 1) + 8;
  Store64(bad.data() + field, root);
  Status s = ReadAll(Bad(bad));
  ExpectCorruption(s, Path("bad"), good_.size());
  EXPECT_NE(s.message().find("reached twice"), std::string::npos) << s.ToString();
}

TEST_F(BboltCorruptionTest, RandomBytesAreCorruption) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (size_t size : {1, 100, 4096, 8192, 65536, 300000}) {
    std::string bytes(size, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    ExpectCorruption(ReadAll(Bad(bytes)), Path("bad"), size);
  }
  // Valid metas, garbage pages.
  std::string bad = good_;
  for (size_t i = 2 * kPage; i < bad.size(); ++i) bad[i] = static_cast<char>(rng());
  ExpectCorruption(ReadAll(Bad(bad)), Path("bad"), good_.size());
}

TEST_F(BboltCorruptionTest, AnLmdbFileIsCorruption) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_open(env, dir_.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  MDB_dbi dbi;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
  std::string k = "key", v = "value";
  MDB_val key{k.size(), k.data()}, val{v.size(), v.data()};
  ASSERT_EQ(mdb_put(txn, dbi, &key, &val, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  Status s = ReadAll(Path("data.mdb"));
  ExpectCorruption(s, Path("data.mdb"), std::filesystem::file_size(Path("data.mdb")));
}

}  // namespace
}  // namespace etcdd::snap::testing
