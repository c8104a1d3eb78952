// Store::HashKV: etcd's HashByRev.
#include <gtest/gtest.h>

#include <random>

#include "base/crc32c.h"
#include "mvcc/errors.h"
#include "mvcc/revision.h"
#include "snapshot_test_util.h"

namespace etcdd::mvcc {
namespace {

using testing::ApplyRandom;
using testing::TempStore;

uint32_t Hash(TempStore& s, int64_t rev = 0) {
  auto r = s->HashKV(rev);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->first : 0;
}

// Expects equal hashes and compact revisions at every revision both serve.
void ExpectSameHashes(TempStore& a, TempStore& b) {
  ASSERT_EQ(a->CurrentRevision(), b->CurrentRevision());
  for (int64_t rev = 0; rev <= a->CurrentRevision(); ++rev) {
    auto ha = a->HashKV(rev);
    auto hb = b->HashKV(rev);
    ASSERT_EQ(ha.ok(), hb.ok()) << "revision " << rev;
    if (ha.ok()) {
      EXPECT_EQ(*ha, *hb) << "revision " << rev;
    }
  }
}

TEST(HashKVTest, EtcdsEncoding) {
  TempStore s;
  // Nothing stored: the CRC-32C of etcd's bucket name alone.
  auto empty = s->HashKV(0);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->first, Crc32c(0, "key"));
  EXPECT_EQ(empty->second, -1);  // etcd's compactMainRev before any compaction

  s.Put("a", "1");  // 2
  s.Del("a");       // 3
  mvccpb::KeyValue kv;
  kv.set_key("a");
  kv.set_value("1");
  kv.set_create_revision(2);
  kv.set_mod_revision(2);
  kv.set_version(1);
  mvccpb::KeyValue tomb;
  tomb.set_key("a");
  uint32_t want = Crc32c(0, "key");
  want = Crc32c(want, RevKey(Revision{2, 0}, false).view());
  want = Crc32c(want, kv.SerializeAsString());
  EXPECT_EQ(Hash(s, 2), want);
  // Tombstones count, with their 't'.
  want = Crc32c(want, RevKey(Revision{3, 0}, true).view());
  want = Crc32c(want, tomb.SerializeAsString());
  EXPECT_EQ(Hash(s, 3), want);
  EXPECT_EQ(Hash(s, 0), want);
}

// The CRC-32C etcd computes over these stored revisions, in this order.
struct Stored {
  Revision rev;
  mvccpb::KeyValue kv;  // a tombstone if only the key is set
};
uint32_t Expected(const std::vector<Stored>& entries) {
  uint32_t crc = Crc32c(0, "key");
  for (const Stored& e : entries) {
    const bool tombstone = e.kv.mod_revision() == 0;
    crc = Crc32c(crc, RevKey(e.rev, tombstone).view());
    crc = Crc32c(crc, e.kv.SerializeAsString());
  }
  return crc;
}
Stored Put(int64_t mod, const std::string& key, const std::string& value, int64_t created,
           int64_t version) {
  Stored e{Revision{mod, 0}, {}};
  e.kv.set_key(key);
  e.kv.set_value(value);
  e.kv.set_create_revision(created);
  e.kv.set_mod_revision(mod);
  e.kv.set_version(version);
  return e;
}
Stored Tombstone(int64_t mod, const std::string& key) {
  Stored e{Revision{mod, 0}, {}};
  e.kv.set_key(key);
  return e;
}

TEST(HashKVTest, CompactedRevisionsCountOnlyWhileLive) {
  TempStore s;
  s.Put("a", "1");  // 2
  s.Put("a", "2");  // 3
  s.Put("b", "1");  // 4
  s.Compact(3);     // keeps a@3
  s.Put("a", "3");  // 5
  s.Del("a");       // 6
  s.Del("b");       // 7
  const Stored a3 = Put(3, "a", "2", 2, 2);
  const Stored b4 = Put(4, "b", "1", 4, 1);
  const Stored a5 = Put(5, "a", "3", 2, 3);
  // At 4, a@3 is a's value: hashed.
  EXPECT_EQ(Hash(s, 4), Expected({a3, b4}));
  // At 5, a@3 (at or below the compact revision) is no longer live: skipped
  // although still stored, as etcd skips it.
  EXPECT_EQ(Hash(s, 5), Expected({b4, a5}));
  EXPECT_EQ(Hash(s, 6), Expected({b4, a5, Tombstone(6, "a")}));
  // etcd's rule: when no key is live, nothing below the compact revision is
  // skipped.
  EXPECT_EQ(Hash(s, 7), Expected({a3, b4, a5, Tombstone(6, "a"), Tombstone(7, "b")}));
}

TEST(HashKVTest, ErrorsAsEtcd) {
  TempStore s;
  s.Put("a", "1");  // 2
  s.Put("a", "2");  // 3
  s.Put("a", "3");  // 4
  auto future = s->HashKV(5);
  EXPECT_EQ(future.status().code(), Code::kOutOfRange);
  EXPECT_EQ(future.status().message(), ErrFutureRev().message());
  s.Compact(3);
  for (int64_t rev : {1, 2, 3}) {
    auto r = s->HashKV(rev);
    EXPECT_EQ(r.status().code(), Code::kOutOfRange) << rev;
    EXPECT_EQ(r.status().message(), ErrCompacted().message()) << rev;
  }
  auto r = s->HashKV(4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->second, 3);
  EXPECT_EQ(*s->HashKV(0), *r);
  EXPECT_EQ(*s->HashKV(-1), *r);  // negative: current, as Range
}

TEST(HashKVTest, SameOperationsSameHashWhateverTheBatching) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  TempStore a;
  TempStore b;
  ApplyRandom(&a, seed, 150, /*batch=*/1);
  ApplyRandom(&b, seed, 150, /*batch=*/7);
  EXPECT_EQ(a->CompactRevision(), b->CompactRevision());
  ExpectSameHashes(a, b);
  // Also after reopening (index rebuilt from disk).
  b.Reopen();
  ExpectSameHashes(a, b);
}

TEST(HashKVTest, DiffersWhenTheDataDiffers) {
  TempStore a;
  TempStore b;
  for (TempStore* s : {&a, &b}) {
    s->Put("a", "1");  // 2
    s->Put("b", "1");  // 3
  }
  a.Put("c", "x");  // 4
  b.Put("c", "y");  // 4
  EXPECT_EQ(Hash(a, 3), Hash(b, 3));
  EXPECT_NE(Hash(a, 4), Hash(b, 4));
  EXPECT_NE(Hash(a), Hash(b));
  // Every revision counts, not only the latest values.
  TempStore c;
  c.Put("a", "1");
  c.Put("b", "0");
  c.Put("b", "1");
  c.Put("c", "x");
  EXPECT_NE(Hash(a), Hash(c));
}

TEST(HashKVTest, CompactionDropsWhatItRemovesWheneverItRan) {
  // x compacts right away, y after later writes: same compact revision, same
  // hashes.
  TempStore x;
  TempStore y;
  for (TempStore* s : {&x, &y}) {
    s->Put("a", "1");  // 2
    s->Put("a", "2");  // 3
    s->Put("b", "1");  // 4
    s->Del("b");       // 5
    s->Put("c", "1");  // 6
  }
  const uint32_t uncompacted = Hash(x);
  x.Compact(5);
  for (TempStore* s : {&x, &y}) {
    s->Put("a", "3");  // 7
    s->Put("c", "2");  // 8
  }
  y.Compact(5);
  ExpectSameHashes(x, y);
  EXPECT_EQ(x->HashKV(0)->second, 5);

  // Compaction removed a@2, b@4 and b@5 from what is hashed; a@3 (live at 5
  // but overwritten at 7) is skipped at revisions where it is not live.
  TempStore z;  // never compacted
  z.Put("a", "1");
  z.Put("a", "2");
  z.Put("b", "1");
  z.Del("b");
  z.Put("c", "1");
  EXPECT_EQ(Hash(z), uncompacted);
  z.Put("a", "3");
  z.Put("c", "2");
  EXPECT_NE(Hash(x), Hash(z));
  EXPECT_EQ(z->HashKV(0)->second, -1);
}

}  // namespace
}  // namespace etcdd::mvcc
