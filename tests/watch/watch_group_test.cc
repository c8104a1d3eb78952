// WatcherGroup (the synced watchers' index: keys in a hash map, ranges in an
// interval treap) checked against a brute-force model under random adds and
// removes of single-key, range and from-key watchers, many sharing a key or
// a range. Prints its seed on failure.
#include "watch/watch_group.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace etcdd::watch::internal {
namespace {

Watcher MakeWatcher(const std::string& key, const std::string& end, bool from_key) {
  Watcher w;
  w.key_len = static_cast<uint32_t>(key.size());
  w.end_len = static_cast<uint32_t>(end.size());
  w.bytes = std::make_unique<char[]>(key.size() + end.size() + 1);
  std::memcpy(w.bytes.get(), key.data(), key.size());
  std::memcpy(w.bytes.get() + key.size(), end.data(), end.size());
  w.from_key = from_key;
  return w;
}

std::set<Watcher*> Matches(const WatcherGroup& g, const std::string& key) {
  std::set<Watcher*> out;
  g.ForEachMatch(key, [&](Watcher* w) { EXPECT_TRUE(out.insert(w).second) << "called twice"; });
  return out;
}

TEST(WatcherGroup, MatchesKeysRangesAndFromKey) {
  WatcherGroup g;
  Watcher a = MakeWatcher("a", "", false);
  Watcher a2 = MakeWatcher("a", "", false);
  Watcher ab = MakeWatcher("a", "c", false);
  Watcher b_on = MakeWatcher("b", "", true);
  for (Watcher* w : {&a, &a2, &ab, &b_on}) g.Add(w);
  EXPECT_EQ(g.size(), 4u);
  EXPECT_EQ(Matches(g, "a"), (std::set<Watcher*>{&a, &a2, &ab}));
  EXPECT_EQ(Matches(g, "b"), (std::set<Watcher*>{&ab, &b_on}));
  EXPECT_EQ(Matches(g, "c"), (std::set<Watcher*>{&b_on}));
  EXPECT_EQ(Matches(g, std::string("\0", 1)), (std::set<Watcher*>{}));
  // Removing the first watcher of a key keeps the others findable (the map
  // key pointed into its bytes).
  g.Remove(&a);
  EXPECT_EQ(Matches(g, "a"), (std::set<Watcher*>{&a2, &ab}));
  g.Remove(&ab);
  g.Remove(&b_on);
  EXPECT_EQ(Matches(g, "b"), (std::set<Watcher*>{}));
  g.Remove(&a2);
  EXPECT_EQ(g.size(), 0u);
}

TEST(WatcherGroup, RandomAgainstModel) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  auto key = [&] {
    // Few distinct bytes so that keys, ranges and bounds collide often.
    std::string k(1 + rng() % 3, 'a');
    for (char& c : k) c = static_cast<char>('a' + rng() % 4);
    return k;
  };
  std::deque<Watcher> storage;
  std::vector<Watcher*> live;
  WatcherGroup g;
  for (int step = 0; step < 4000; ++step) {
    if (live.empty() || rng() % 5 < 3) {
      const int kind = static_cast<int>(rng() % 3);
      std::string k = key();
      std::string end;
      if (kind == 1) {
        end = key();
        if (end <= k) end = k + std::string(1 + rng() % 2, 'b');
      }
      storage.push_back(MakeWatcher(k, end, kind == 2));
      g.Add(&storage.back());
      live.push_back(&storage.back());
    } else {
      size_t i = rng() % live.size();
      g.Remove(live[i]);
      live[i] = live.back();
      live.pop_back();
    }
    ASSERT_EQ(g.size(), live.size());
    if (step % 10 != 0) continue;
    const std::string probe = key();
    std::set<Watcher*> want;
    for (Watcher* w : live) {
      if (w->Contains(probe)) want.insert(w);
    }
    ASSERT_EQ(Matches(g, probe), want) << "step " << step << " key " << probe;
  }
  size_t drained = 0;
  g.Drain([&](Watcher* w) {
    EXPECT_EQ(w->prev, nullptr);
    EXPECT_EQ(w->next, nullptr);
    ++drained;
  });
  EXPECT_EQ(drained, live.size());
  EXPECT_EQ(g.size(), 0u);
}

TEST(WatcherList, FifoWithRemovalFromTheMiddle) {
  Watcher a, b, c;
  WatcherList l;
  l.PushBack(&a);
  l.PushBack(&b);
  l.PushBack(&c);
  l.Remove(&b);
  EXPECT_EQ(l.size(), 2u);
  EXPECT_EQ(l.PopFront(), &a);
  l.PushFront(&b);
  EXPECT_EQ(l.PopFront(), &b);
  EXPECT_EQ(l.PopFront(), &c);
  EXPECT_EQ(l.PopFront(), nullptr);
  EXPECT_TRUE(l.empty());
}

}  // namespace
}  // namespace etcdd::watch::internal
