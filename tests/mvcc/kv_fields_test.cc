// ParseIndexFields reads what the key index needs from a stored KeyValue,
// and refuses exactly the bytes that ParseFromArray refuses.
#include "mvcc/kv_fields.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "mvccpb/kv.pb.h"

namespace etcdd::mvcc::internal {
namespace {

mvccpb::KeyValue RandomKv(std::mt19937_64& rng) {
  mvccpb::KeyValue kv;
  kv.set_key(std::string(rng() % 40, static_cast<char>('a' + rng() % 26)));
  kv.set_value(std::string(rng() % 3000, 'v'));
  kv.set_create_revision(static_cast<int64_t>(rng() % 1000000));
  kv.set_mod_revision(static_cast<int64_t>(rng() % 1000000));
  kv.set_version(static_cast<int64_t>(rng() % 100));
  kv.set_lease(static_cast<int64_t>(rng()));
  return kv;
}

TEST(KvFieldsTest, ReadsKeyCreateRevisionAndVersion) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 500; ++i) {
    const mvccpb::KeyValue kv = RandomKv(rng);
    const std::string bytes = kv.SerializeAsString();
    IndexFields f;
    ASSERT_TRUE(ParseIndexFields(bytes, &f));
    EXPECT_EQ(f.key, kv.key());
    EXPECT_EQ(f.create_revision, kv.create_revision());
    EXPECT_EQ(f.version, kv.version());
  }
  IndexFields empty;
  EXPECT_TRUE(ParseIndexFields("", &empty));
  EXPECT_EQ(empty.key, "");
}

TEST(KvFieldsTest, RefusesWhatProtobufRefuses) {
  std::mt19937_64 rng(11);
  int refused = 0;
  for (int i = 0; i < 200; ++i) {
    std::string bytes = RandomKv(rng).SerializeAsString();
    // Truncations and single-byte damage.
    std::string cut = bytes.substr(0, rng() % bytes.size());
    std::string flipped = bytes;
    flipped[rng() % flipped.size()] ^= static_cast<char>(1 + rng() % 255);
    for (const std::string& b : {cut, flipped}) {
      mvccpb::KeyValue kv;
      const bool proto_ok = kv.ParseFromString(b);
      IndexFields f;
      EXPECT_EQ(ParseIndexFields(b, &f), proto_ok);
      refused += proto_ok ? 0 : 1;
    }
  }
  EXPECT_GT(refused, 50);
}

}  // namespace
}  // namespace etcdd::mvcc::internal
