// etcd's backend schema: exact bytes of values taken from a snapshot saved by
// real etcd 3.4 (tests/fuzz/corpus/bbolt/etcd-small.db), and round trips.
#include "server/etcd_schema.h"

#include <gtest/gtest.h>

#include <string>

namespace etcdd::server::etcd_schema {
namespace {

using namespace std::string_literals;

TEST(EtcdSchemaTest, BucketsAreInBboltOrder) {
  for (size_t i = 1; i < kAllBuckets.size(); ++i) {
    EXPECT_LT(kAllBuckets[i - 1], kAllBuckets[i]);
  }
}

TEST(EtcdSchemaTest, MemberMatchesEtcd34Bytes) {
  // etcd-small.db, bucket "members".
  const std::string key = "55843c12d8346887";
  const std::string json =
      R"({"id":6162116241784072327,"peerURLs":["http://127.0.0.1:50553"],"name":"seed",)"
      R"("clientURLs":["http://127.0.0.1:41685"]})";
  serverpb::Member m;
  m.set_id(6162116241784072327ull);
  m.set_name("seed");
  m.add_peer_urls("http://127.0.0.1:50553");
  m.add_client_urls("http://127.0.0.1:41685");
  EXPECT_EQ(MemberKey(m.id()), key);
  EXPECT_EQ(EncodeMember(m), json);
  auto back = DecodeMember(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value().SerializeAsString(), m.SerializeAsString());
  auto id = DecodeMemberKey(key);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id.value(), m.id());
}

TEST(EtcdSchemaTest, MemberOmitEmptyAndLearner) {
  serverpb::Member m;
  m.set_id(1);
  m.set_is_learner(true);
  m.add_peer_urls("http://a:2380");
  // Unpublished learner: no name, no client URLs.
  EXPECT_EQ(EncodeMember(m), R"({"id":1,"peerURLs":["http://a:2380"],"isLearner":true})");
  serverpb::Member none;
  none.set_id(0xffffffffffffffffull);
  EXPECT_EQ(EncodeMember(none), R"({"id":18446744073709551615,"peerURLs":null})");
  EXPECT_EQ(MemberKey(0xffffffffffffffffull), "ffffffffffffffff");
  EXPECT_EQ(MemberKey(0x1a), "1a");
  EXPECT_EQ(MemberKey(0), "0");
  auto back = DecodeMember(EncodeMember(m));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back.value().is_learner());
  EXPECT_EQ(back.value().peer_urls(0), "http://a:2380");
}

TEST(EtcdSchemaTest, MemberNameUsesGoEscaping) {
  serverpb::Member m;
  m.set_id(2);
  m.set_name("a<b>&\"c\"\n\x01\xe2\x80\xa8\xff");
  m.add_peer_urls("http://x/?a=1&b=2");
  EXPECT_EQ(EncodeMember(m), R"({"id":2,"peerURLs":["http://x/?a=1\u0026b=2"],)"
                             R"("name":"a\u003cb\u003e\u0026\"c\"\n\u0001\u2028\ufffd"})");
}

TEST(EtcdSchemaTest, MemberDecodeErrors) {
  EXPECT_FALSE(DecodeMember("").ok());
  EXPECT_FALSE(DecodeMember("[]").ok());
  EXPECT_FALSE(DecodeMember(R"({"peerURLs":[]})").ok());
  EXPECT_FALSE(DecodeMember(R"({"id":-1})").ok());
  EXPECT_FALSE(DecodeMember(R"({"id":1,"peerURLs":"x"})").ok());
  EXPECT_FALSE(DecodeMember(R"({"id":1,"name":3})").ok());
  EXPECT_FALSE(DecodeMemberKey("").ok());
  EXPECT_FALSE(DecodeMemberKey("xyz").ok());
  EXPECT_FALSE(DecodeMemberKey("10000000000000000").ok());
  // Unknown fields are ignored, as encoding/json does.
  EXPECT_TRUE(DecodeMember(R"({"id":1,"future":{"x":1}})").ok());
}

TEST(EtcdSchemaTest, LeaseMatchesEtcd34Bytes) {
  // etcd-small.db, bucket "lease": a 300 s lease, never checkpointed.
  const std::string key = "\x68\x87\xa2\x4e\x5f\x29\x6e\x0b"s;
  const std::string value = "\x08\x8b\xdc\xa5\xf9\xe5\xc9\xe8\xc3\x68\x10\xac\x02"s;
  serverpb::LeaseRecord r;
  r.set_id(7532167359288143371);
  r.set_ttl(300);
  EXPECT_EQ(LeaseKey(r.id()), key);
  EXPECT_EQ(EncodeLease(r), value);
  auto back = DecodeLease(value);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value().id(), r.id());
  EXPECT_EQ(back.value().ttl(), 300);
  auto id = DecodeLeaseKey(key);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id.value(), r.id());
  EXPECT_FALSE(DecodeLeaseKey("1234567").ok());
  EXPECT_FALSE(DecodeLease("\xff").ok());
  r.set_remaining_ttl(7);
  EXPECT_EQ(EncodeLease(r), value + "\x18\x07");
}

TEST(EtcdSchemaTest, MetaEncodings) {
  EXPECT_EQ(EncodeUint64(12), "\0\0\0\0\0\0\0\x0c"s);  // consistent_index in etcd-small.db
  EXPECT_EQ(DecodeUint64("\0\0\0\0\0\0\0\x0c"s).value(), 12u);
  EXPECT_FALSE(DecodeUint64("abc").ok());
  // finishedCompactRev in etcd-overflow.db (compacted at 5).
  const std::string rev5 = "\0\0\0\0\0\0\0\x05_\0\0\0\0\0\0\0\0"s;
  EXPECT_EQ(EncodeCompactRevision(5), rev5);
  EXPECT_EQ(DecodeCompactRevision(rev5).value(), 5);
  EXPECT_FALSE(DecodeCompactRevision(rev5 + "t").ok());
  EXPECT_FALSE(DecodeCompactRevision("12345678").ok());
  EXPECT_EQ(EncodeAuthEnabled(true), "\x01");
  EXPECT_EQ(EncodeAuthEnabled(false), "\0"s);
  EXPECT_TRUE(DecodeAuthEnabled("\x01"));
  EXPECT_FALSE(DecodeAuthEnabled("\0"s));
  EXPECT_FALSE(DecodeAuthEnabled("\x01\x01"));
}

TEST(EtcdSchemaTest, ConfStateJsonAsEtcd35) {
  raftpb::ConfState cs;
  EXPECT_EQ(EncodeConfState(cs), R"({"auto_leave":false})");
  cs.add_voters(1);
  cs.add_voters(18446744073709551615ull);
  cs.add_learners(3);
  const std::string json =
      R"({"voters":[1,18446744073709551615],"learners":[3],"auto_leave":false})";
  EXPECT_EQ(EncodeConfState(cs), json);
  auto back = DecodeConfState(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value().SerializeAsString(), cs.SerializeAsString());
  EXPECT_FALSE(DecodeConfState(R"({"voters":[1],"voters_outgoing":[2]})").ok());
  EXPECT_FALSE(DecodeConfState(R"({"voters":[1],"auto_leave":true})").ok());
  EXPECT_FALSE(DecodeConfState(R"({"voters":["1"]})").ok());
  EXPECT_FALSE(DecodeConfState("nope").ok());
}

TEST(EtcdSchemaTest, HashIgnoresConsistentIndexAndTerm) {
  EXPECT_TRUE(HashIgnores("meta", "consistent_index"));
  EXPECT_TRUE(HashIgnores("meta", "term"));
  EXPECT_FALSE(HashIgnores("meta", "confState"));
  EXPECT_FALSE(HashIgnores("meta", "finishedCompactRev"));
  EXPECT_FALSE(HashIgnores("key", "consistent_index"));
}

}  // namespace
}  // namespace etcdd::server::etcd_schema
