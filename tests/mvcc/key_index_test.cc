// KeyIndex and TreeIndex, after etcd's mvcc/key_index_test.go.
#include "mvcc/key_index.h"

#include <gtest/gtest.h>

#include <vector>

namespace etcdd::mvcc {
namespace {

std::vector<int64_t> Mains(const Generation& g) {
  std::vector<int64_t> out;
  for (const auto& r : g.revs) out.push_back(r.main);
  return out;
}

// put(2) put(4) del(6) put(8) put(10) del(12) put(14) put(16), etcd's example.
KeyIndex Example() {
  KeyIndex ki;
  ki.Put({2, 0});
  ki.Put({4, 0});
  EXPECT_TRUE(ki.Tombstone({6, 0}));
  ki.Put({8, 0});
  ki.Put({10, 0});
  EXPECT_TRUE(ki.Tombstone({12, 0}));
  ki.Put({14, 0});
  ki.Put({14, 1});
  ki.Put({16, 0});
  return ki;
}

TEST(KeyIndexTest, GetFollowsGenerations) {
  KeyIndex ki = Example();
  EXPECT_FALSE(ki.Get(1));
  auto at = [&](int64_t rev) { return ki.Get(rev); };
  ASSERT_TRUE(at(2));
  EXPECT_EQ(at(2)->mod, (Revision{2, 0}));
  EXPECT_EQ(at(2)->created, 2);
  EXPECT_EQ(at(2)->version, 1);
  EXPECT_EQ(at(5)->mod, (Revision{4, 0}));
  EXPECT_EQ(at(5)->version, 2);
  EXPECT_FALSE(at(6));  // tombstone
  EXPECT_FALSE(at(7));
  EXPECT_EQ(at(9)->created, 8);
  EXPECT_EQ(at(9)->version, 1);
  EXPECT_EQ(at(11)->version, 2);
  EXPECT_FALSE(at(12));
  EXPECT_FALSE(at(13));
  EXPECT_EQ(at(14)->mod, (Revision{14, 1}));
  EXPECT_EQ(at(14)->version, 2);
  EXPECT_EQ(at(100)->mod, (Revision{16, 0}));
  EXPECT_EQ(at(100)->version, 3);
  EXPECT_EQ(at(100)->created, 14);
}

TEST(KeyIndexTest, TombstoneOnDeletedKeyFails) {
  KeyIndex ki;
  ki.Put({2, 0});
  EXPECT_TRUE(ki.Tombstone({3, 0}));
  EXPECT_FALSE(ki.Tombstone({4, 0}));
  EXPECT_EQ(ki.generation_count(), 2u);
}

TEST(KeyIndexTest, CompactKeepsValueAtRevision) {
  struct Case {
    int64_t at;
    std::vector<std::vector<int64_t>> gens;
  };
  // Expected generations after compacting the example at `at`.
  const std::vector<Case> cases = {
      {1, {{2, 4, 6}, {8, 10, 12}, {14, 14, 16}, {}}},
      {2, {{2, 4, 6}, {8, 10, 12}, {14, 14, 16}, {}}},
      {4, {{4, 6}, {8, 10, 12}, {14, 14, 16}, {}}},
      {5, {{4, 6}, {8, 10, 12}, {14, 14, 16}, {}}},
      {6, {{8, 10, 12}, {14, 14, 16}, {}}},
      {8, {{8, 10, 12}, {14, 14, 16}, {}}},
      {11, {{10, 12}, {14, 14, 16}, {}}},
      {12, {{14, 14, 16}, {}}},
      {14, {{14, 16}, {}}},
      {15, {{14, 16}, {}}},
      {16, {{16}, {}}},
  };
  for (const Case& c : cases) {
    KeyIndex ki = Example();
    // The example ends with an open generation: close it so that the last
    // one is empty, as in etcd's test.
    ASSERT_TRUE(ki.Tombstone({17, 0}));
    ki.Compact(c.at);
    ASSERT_EQ(ki.generation_count(), c.gens.size()) << "at " << c.at;
    for (size_t i = 0; i < c.gens.size(); ++i) {
      std::vector<int64_t> want = c.gens[i];
      if (i + 2 == c.gens.size()) want.push_back(17);
      EXPECT_EQ(Mains(ki.generation(i)), want) << "at " << c.at << " gen " << i;
    }
  }
}

TEST(KeyIndexTest, CompactingPastTombstoneEmptiesKey) {
  KeyIndex ki;
  ki.Put({2, 0});
  ki.Put({3, 0});
  ASSERT_TRUE(ki.Tombstone({4, 0}));
  ki.Compact(3);
  EXPECT_FALSE(ki.Empty());
  EXPECT_EQ(Mains(ki.generation(0)), (std::vector<int64_t>{3, 4}));
  ki.Compact(4);
  EXPECT_TRUE(ki.Empty());
}

TEST(KeyIndexTest, CompactKeepsVersionAndCreated) {
  KeyIndex ki;
  for (int64_t r = 2; r <= 6; ++r) ki.Put({r, 0});
  ki.Compact(5);
  EXPECT_EQ(Mains(ki.generation(0)), (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(ki.Get(6)->version, 5);
  EXPECT_EQ(ki.Get(5)->version, 4);
  EXPECT_EQ(ki.Get(6)->created, 2);
}

TEST(KeyIndexTest, TruncateAfterUndoesPutsAndTombstones) {
  KeyIndex ki;
  ki.Put({2, 0});
  ki.Put({3, 0});
  ASSERT_TRUE(ki.Tombstone({4, 0}));
  ki.Put({5, 0});
  ki.Put({5, 1});
  ki.TruncateAfter(3);
  EXPECT_EQ(ki.generation_count(), 1u);
  EXPECT_EQ(Mains(ki.generation(0)), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ki.Get(10)->version, 2);
  ki.TruncateAfter(1);
  EXPECT_TRUE(ki.Empty());
}

TEST(KeyIndexTest, RestoredGenerationContinuesVersions) {
  KeyIndex ki;
  ki.Restore(2, {7, 0}, 4);
  ki.Put({9, 0});
  EXPECT_EQ(ki.Get(9)->version, 5);
  EXPECT_EQ(ki.Get(9)->created, 2);
  EXPECT_EQ(ki.Get(8)->version, 4);
  EXPECT_FALSE(ki.Get(6));
}

TEST(TreeIndexTest, VisitRangeForms) {
  TreeIndex index;
  for (const char* k : {"a", "b", "c", "d"}) index.FindOrCreate(k).Put({1, 0});
  auto keys = [&](std::string_view key, std::string_view end) {
    std::vector<std::string> out;
    index.Visit(KeyRange::Make(key, end),
                [&](const std::string& k, const KeyIndex&) { out.push_back(k); });
    return out;
  };
  EXPECT_EQ(keys("b", ""), (std::vector<std::string>{"b"}));
  EXPECT_EQ(keys("bb", ""), (std::vector<std::string>{}));
  EXPECT_EQ(keys("b", "d"), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(keys("b", std::string_view("\0", 1)), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_EQ(keys(std::string_view("\0", 1), std::string_view("\0", 1)),
            (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(keys("c", "b"), (std::vector<std::string>{}));
}

}  // namespace
}  // namespace etcdd::mvcc
