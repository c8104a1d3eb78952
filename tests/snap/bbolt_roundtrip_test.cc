// BboltWriter and BboltReader: what the writer writes, the reader reads back
// exactly, whatever the shape of the data; the writer refuses what bbolt
// would not store.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "bbolt_test_util.h"

namespace etcdd::snap::testing {
namespace {

class BboltRoundTripTest : public BboltTest {
 protected:
  // Writes `db` (buckets in `order`), reads it back and compares; runs Check.
  void RoundTrip(const Db& db, std::vector<std::string> order = {}) {
    auto size = WriteDb(Path("db"), db, 7, std::move(order));
    ASSERT_TRUE(size.ok()) << size.status().ToString();
    EXPECT_EQ(*size % BboltWriter::kPageSize, 0u);
    EXPECT_EQ(*size, std::filesystem::file_size(Path("db")));
    auto reader = BboltReader::Open(Path("db"));
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    EXPECT_EQ(reader->page_size(), 4096u);
    EXPECT_EQ(reader->txid(), 7u);
    EXPECT_EQ(reader->high_water_pgid() * 4096, *size);
    auto got = ReadDb(*reader);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(*got == db) << "read back differs";
    Status check = reader->Check();
    EXPECT_TRUE(check.ok()) << check.ToString();
  }
};

TEST_F(BboltRoundTripTest, EmptyDatabase) { RoundTrip({}); }

TEST_F(BboltRoundTripTest, EmptyAndTinyBucketsAreInline) {
  Db db{{"empty", {}}, {"one", {{"k", ""}}}, {"two", {{"a", "1"}, {"b", std::string(900, 'x')}}}};
  RoundTrip(db);
  // Three inline buckets: the metas, the freelist and one root leaf.
  EXPECT_EQ(std::filesystem::file_size(Path("db")), 4u * 4096);
}

TEST_F(BboltRoundTripTest, ManyBucketsInAnyOrderWithEdgeValues) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  Db db;
  std::vector<std::string> order;
  for (int b = 0; b < 40; ++b) {
    std::string name = "bucket-" + std::to_string(rng() % 100000) + "-" + std::to_string(b);
    order.push_back(name);
    Entries& entries = db[name];
    int n = b % 5 == 0 ? 0 : static_cast<int>(rng() % 400);
    for (int i = 0; i < n; ++i) {
      size_t len = 0;
      switch (rng() % 6) {
        case 0:
          len = 0;
          break;
        case 1:
          len = 4096 + rng() % 20000;
          break;  // an overflow run
        default:
          len = rng() % 300;
      }
      std::string value(len, '\0');
      for (auto& c : value) c = static_cast<char>(rng());
      entries.emplace_back(RevKey(i + 1, rng() % 3, rng() % 7 == 0), std::move(value));
    }
  }
  std::shuffle(order.begin(), order.end(), rng);
  RoundTrip(db, order);
}

TEST_F(BboltRoundTripTest, ValueOfEveryOverflowBoundary) {
  Db db;
  for (size_t len : {4064, 4065, 4096, 8160, 8161, 100000, 1 << 20}) {
    db["b"].emplace_back(RevKey(len, 0), std::string(len, static_cast<char>(len)));
  }
  db["b"].emplace_back(std::string(32768, 'z'), "max key");
  RoundTrip(db);
}

TEST_F(BboltRoundTripTest, ManyKeysBuildSeveralBranchLevels) {
  Db db;
  Entries& keys = db["key"];
  for (uint64_t i = 1; i <= 200000; ++i) keys.emplace_back(RevKey(i, 0, i % 1000 == 0), "");
  Entries& wide = db["wide"];
  for (uint64_t i = 1; i <= 3000; ++i)
    wide.emplace_back(std::string(1500, 'k') + RevKey(i, 0), "v");
  RoundTrip(db);
}

TEST_F(BboltRoundTripTest, ForEachStopsWithTheCallbacksError) {
  Db db{{"b", {{"a", "1"}, {"b", "2"}, {"c", "3"}}}};
  ASSERT_TRUE(WriteDb(Path("db"), db, 1).ok());
  auto reader = BboltReader::Open(Path("db"));
  ASSERT_TRUE(reader.ok());
  int calls = 0;
  Status s = reader->ForEach("b", [&](std::string_view, std::string_view) {
    return ++calls == 2 ? Status(Code::kAborted, "stop") : Status::Ok();
  });
  EXPECT_EQ(s.code(), Code::kAborted);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(reader->ForEach("missing", [](auto, auto) { return Status::Ok(); }).code(),
            Code::kNotFound);
}

TEST_F(BboltRoundTripTest, WriterRefusesWhatBboltWouldNotStore) {
  auto w = BboltWriter::Create(Path("db"));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Put("a", "1").code(), Code::kFailedPrecondition);
  auto fresh = [&]() {
    auto w = BboltWriter::Create(Path("db"));
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->BeginBucket("b").ok());
    EXPECT_TRUE((*w)->Put("m", "1").ok());
    return std::move(*w);
  };
  EXPECT_EQ(fresh()->Put("m", "2").code(), Code::kInvalidArgument);  // equal
  EXPECT_EQ(fresh()->Put("a", "2").code(), Code::kInvalidArgument);  // lower
  EXPECT_EQ(fresh()->Put("", "2").code(), Code::kInvalidArgument);
  EXPECT_EQ(fresh()->Put(std::string(32769, 'z'), "").code(), Code::kInvalidArgument);
  EXPECT_EQ(fresh()->BeginBucket("c").code(), Code::kFailedPrecondition);
  EXPECT_EQ(fresh()->Finish(1).status().code(), Code::kFailedPrecondition);

  auto w2 = fresh();
  EXPECT_TRUE(w2->Put("z", "").ok());
  EXPECT_TRUE(w2->EndBucket().ok());
  EXPECT_EQ(w2->BeginBucket("b").code(), Code::kInvalidArgument);  // twice
  // The first error is sticky.
  EXPECT_EQ(w2->BeginBucket("c").code(), Code::kInvalidArgument);
  EXPECT_EQ(w2->Finish(1).status().code(), Code::kInvalidArgument);
}

TEST_F(BboltRoundTripTest, KeysCompareAsUnsignedBytes) {
  Db db{{"b",
         {{"\x01", "a"},
          {"\x7f", "b"},
          {"\x80", "c"},
          {"\xff", "d"},
          {std::string("\xff\x00", 2), "e"}}}};
  RoundTrip(db);
}

TEST_F(BboltRoundTripTest, CreateNamesTheFileOnError) {
  auto w = BboltWriter::Create(Path("no/such/dir/db"));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Code::kIOError);
  EXPECT_NE(w.status().message().find("no/such/dir/db"), std::string::npos);
}

// Writes the writer's seeds for tests/fuzz/corpus/bbolt/ when
// ETCDD_BBOLT_SEED_DIR names a directory; skipped otherwise.
TEST_F(BboltRoundTripTest, WritesFuzzSeedsWhenAsked) {
  const char* dir = ::getenv("ETCDD_BBOLT_SEED_DIR");
  if (dir == nullptr) GTEST_SKIP() << "ETCDD_BBOLT_SEED_DIR not set";
  const std::string out = dir;
  ASSERT_TRUE(WriteDb(out + "/ours-empty.db", {}, 1).ok());
  Db small{{"alarm", {}}, {"key", {{RevKey(2, 0), "v"}, {RevKey(3, 0, true), ""}}}};
  ASSERT_TRUE(WriteDb(out + "/ours-inline.db", small, 2).ok());
  Db tree;
  for (uint64_t i = 1; i <= 300; ++i) tree["key"].emplace_back(RevKey(i, 0), "value");
  tree["key"].emplace_back(RevKey(301, 0), std::string(5000, 'x'));
  tree["meta"] = {{"consistent_index", std::string(8, '\0')}};
  ASSERT_TRUE(WriteDb(out + "/ours-branch.db", tree, 3).ok());
}

}  // namespace
}  // namespace etcdd::snap::testing
