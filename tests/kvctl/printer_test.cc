// The printers print what etcdctl 3.4 prints. Every expected string below was
// printed by etcdctl against etcd 3.4 for a response with the same fields.
#include "cli/printer.h"

#include <gtest/gtest.h>

#include <sstream>

namespace etcdd::cli {
namespace {

constexpr uint64_t kCluster = 324952591200643719ULL;
constexpr uint64_t kMember = 3319814642761637952ULL;  // 2e1259d415f2a040

struct Output {
  int exit_code;
  std::string out;
  std::string err;
};

template <typename Fn>
Output Print(const std::string& format, Fn fn, bool hex = false, bool value_only = false) {
  std::ostringstream out, err;
  auto printer = NewPrinter({format, hex, value_only}, out, err);
  if (!printer.ok()) return {printer.status().exit_code(), "", printer.status().message()};
  ExitStatus st = fn(*printer.value());
  return {st.exit_code(), out.str(), st.ok() ? err.str() : st.message()};
}

void SetHeader(etcdserverpb::ResponseHeader* h, int64_t revision) {
  h->set_cluster_id(kCluster);
  h->set_member_id(kMember);
  h->set_revision(revision);
  h->set_raft_term(2);
}

void AddKv(google::protobuf::RepeatedPtrField<mvccpb::KeyValue>* kvs, const std::string& key,
           const std::string& value, int64_t rev) {
  auto* kv = kvs->Add();
  kv->set_key(key);
  kv->set_value(value);
  kv->set_create_revision(rev);
  kv->set_mod_revision(rev);
  kv->set_version(1);
}

etcdserverpb::RangeResponse TwoKeys() {
  etcdserverpb::RangeResponse r;
  SetHeader(r.mutable_header(), 3);
  AddKv(r.mutable_kvs(), "foo", "bar", 2);
  AddKv(r.mutable_kvs(), "foo2", "b<a>r&", 3);
  r.set_count(2);
  return r;
}

TEST(Printer, GetInEveryFormat) {
  auto get = [](Printer& p) { return p.Get(TwoKeys()); };
  EXPECT_EQ(Print("simple", get).out, "foo\nbar\nfoo2\nb<a>r&\n");
  EXPECT_EQ(Print("simple", get, false, true).out, "bar\nb<a>r&\n");
  EXPECT_EQ(Print("simple", get, true).out,
            "\\x66\\x6f\\x6f\n\\x62\\x61\\x72\n\\x66\\x6f\\x6f\\x32\n"
            "\\x62\\x3c\\x61\\x3e\\x72\\x26\n");
  EXPECT_EQ(Print("json", get).out,
            "{\"header\":{\"cluster_id\":324952591200643719,\"member_id\":3319814642761637952,"
            "\"revision\":3,\"raft_term\":2},\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":2,"
            "\"mod_revision\":2,\"version\":1,\"value\":\"YmFy\"},{\"key\":\"Zm9vMg==\","
            "\"create_revision\":3,\"mod_revision\":3,\"version\":1,\"value\":\"YjxhPnIm\"}],"
            "\"count\":2}\n");
  EXPECT_EQ(Print("fields", get).out,
            "\"ClusterID\" : 324952591200643719\n\"MemberID\" : 3319814642761637952\n"
            "\"Revision\" : 3\n\"RaftTerm\" : 2\n"
            "\"Key\" : \"foo\"\n\"CreateRevision\" : 2\n\"ModRevision\" : 2\n\"Version\" : 1\n"
            "\"Value\" : \"bar\"\n\"Lease\" : 0\n"
            "\"Key\" : \"foo2\"\n\"CreateRevision\" : 3\n\"ModRevision\" : 3\n\"Version\" : 1\n"
            "\"Value\" : \"b<a>r&\"\n\"Lease\" : 0\n"
            "\"More\" : false\n\"Count\" : 2\n");
  EXPECT_EQ(Print("protobuf", get).out, TwoKeys().SerializeAsString());
  Output table = Print("table", get);
  EXPECT_EQ(table.exit_code, 4);
  EXPECT_EQ(table.err, "table not supported as output format");
  EXPECT_EQ(table.out, "");
}

TEST(Printer, UnknownFormat) {
  Output o = Print("yaml", [](Printer& p) { return p.Get(TwoKeys()); });
  EXPECT_EQ(o.exit_code, 4);
  EXPECT_EQ(o.err, "unsupported output format");
}

TEST(Printer, PutAndDelete) {
  etcdserverpb::PutResponse put;
  SetHeader(put.mutable_header(), 4);
  EXPECT_EQ(Print("simple", [&](Printer& p) { return p.Put(put); }).out, "OK\n");
  auto* prev = put.mutable_prev_kv();
  prev->set_key("x");
  prev->set_value("y");
  prev->set_create_revision(4);
  prev->set_mod_revision(4);
  prev->set_version(1);
  EXPECT_EQ(Print("simple", [&](Printer& p) { return p.Put(put); }).out, "OK\nx\ny\n");
  EXPECT_EQ(Print("fields", [&](Printer& p) { return p.Put(put); }).out,
            "\"ClusterID\" : 324952591200643719\n\"MemberID\" : 3319814642761637952\n"
            "\"Revision\" : 4\n\"RaftTerm\" : 2\n\"PrevKey\" : \"x\"\n"
            "\"PrevCreateRevision\" : 4\n\"PrevModRevision\" : 4\n\"PrevVersion\" : 1\n"
            "\"PrevValue\" : \"y\"\n\"PrevLease\" : 0\n");

  etcdserverpb::DeleteRangeResponse del;
  SetHeader(del.mutable_header(), 5);
  del.set_deleted(1);
  AddKv(del.mutable_prev_kvs(), "foo2", "b<a>r&", 3);
  EXPECT_EQ(Print("simple", [&](Printer& p) { return p.Del(del); }).out, "1\nfoo2\nb<a>r&\n");
  EXPECT_EQ(Print("json", [&](Printer& p) { return p.Del(del); }).out,
            "{\"header\":{\"cluster_id\":324952591200643719,\"member_id\":3319814642761637952,"
            "\"revision\":5,\"raft_term\":2},\"deleted\":1,\"prev_kvs\":[{\"key\":\"Zm9vMg==\","
            "\"create_revision\":3,\"mod_revision\":3,\"version\":1,\"value\":\"YjxhPnIm\"}]}\n");
}

etcdserverpb::TxnResponse SampleTxn() {
  etcdserverpb::TxnResponse r;
  SetHeader(r.mutable_header(), 5);
  r.set_succeeded(true);
  auto* range = r.add_responses()->mutable_response_range();
  range->mutable_header()->set_revision(4);
  AddKv(range->mutable_kvs(), "foo", "bar", 2);
  range->set_count(1);
  auto* put = r.add_responses()->mutable_response_put();
  put->mutable_header()->set_revision(5);
  auto* prev = put->mutable_prev_kv();
  prev->set_key("x");
  prev->set_value("y");
  prev->set_create_revision(4);
  prev->set_mod_revision(4);
  prev->set_version(1);
  r.add_responses()->mutable_response_delete_range()->mutable_header()->set_revision(5);
  return r;
}

TEST(Printer, Txn) {
  auto txn = [](Printer& p) { return p.Txn(SampleTxn()); };
  EXPECT_EQ(Print("simple", txn).out, "SUCCESS\n\nfoo\nbar\n\nOK\nx\ny\n\n0\n");
  EXPECT_EQ(Print("json", txn).out,
            "{\"header\":{\"cluster_id\":324952591200643719,\"member_id\":3319814642761637952,"
            "\"revision\":5,\"raft_term\":2},\"succeeded\":true,\"responses\":[{\"Response\":{"
            "\"ResponseRange\":{\"header\":{\"revision\":4},\"kvs\":[{\"key\":\"Zm9v\","
            "\"create_revision\":2,\"mod_revision\":2,\"version\":1,\"value\":\"YmFy\"}],"
            "\"count\":1}}},{\"Response\":{\"ResponsePut\":{\"header\":{\"revision\":5},"
            "\"prev_kv\":{\"key\":\"eA==\",\"create_revision\":4,\"mod_revision\":4,"
            "\"version\":1,\"value\":\"eQ==\"}}}},{\"Response\":{\"ResponseDeleteRange\":{"
            "\"header\":{\"revision\":5}}}}]}\n");
  etcdserverpb::TxnResponse failed;
  SetHeader(failed.mutable_header(), 5);
  EXPECT_EQ(Print("simple", [&](Printer& p) { return p.Txn(failed); }).out, "FAILURE\n");
}

etcdserverpb::MemberListResponse OneMember() {
  etcdserverpb::MemberListResponse r;
  r.mutable_header()->set_cluster_id(kCluster);
  r.mutable_header()->set_member_id(kMember);
  r.mutable_header()->set_raft_term(2);
  auto* m = r.add_members();
  m->set_id(kMember);
  m->set_name("default");
  m->add_peerurls("http://127.0.0.1:23800");
  m->add_clienturls("http://127.0.0.1:23790");
  return r;
}

TEST(Printer, MemberList) {
  auto list = [](Printer& p) { return p.MemberList(OneMember()); };
  EXPECT_EQ(Print("simple", list).out,
            "2e1259d415f2a040, started, default, http://127.0.0.1:23800, "
            "http://127.0.0.1:23790, false\n");
  EXPECT_EQ(Print("json", list).out,
            "{\"header\":{\"cluster_id\":324952591200643719,\"member_id\":3319814642761637952,"
            "\"raft_term\":2},\"members\":[{\"ID\":3319814642761637952,\"name\":\"default\","
            "\"peerURLs\":[\"http://127.0.0.1:23800\"],\"clientURLs\":["
            "\"http://127.0.0.1:23790\"]}]}\n");
  EXPECT_EQ(Print("fields", list).out,
            "\"ClusterID\" : 324952591200643719\n\"MemberID\" : 3319814642761637952\n"
            "\"Revision\" : 0\n\"RaftTerm\" : 2\n\"ID\" : 3319814642761637952\n"
            "\"Name\" : \"default\"\n\"PeerURL\" : \"http://127.0.0.1:23800\"\n"
            "\"ClientURL\" : \"http://127.0.0.1:23790\"\n\"IsLearner\" : false\n\n");
}

EndpointStatus SampleStatus() {
  EndpointStatus e{"127.0.0.1:23790", {}};
  SetHeader(e.status.mutable_header(), 5);
  e.status.set_version("3.4.23");
  e.status.set_dbsize(20480);
  e.status.set_leader(kMember);
  e.status.set_raftindex(8);
  e.status.set_raftterm(2);
  e.status.set_raftappliedindex(8);
  e.status.set_dbsizeinuse(16384);
  return e;
}

TEST(Printer, EndpointStatus) {
  auto status = [](Printer& p) { return p.Status({SampleStatus()}); };
  EXPECT_EQ(Print("simple", status).out,
            "127.0.0.1:23790, 2e1259d415f2a040, 3.4.23, 20 kB, true, false, 2, 8, 8, \n");
  EXPECT_EQ(Print("json", status).out,
            "[{\"Endpoint\":\"127.0.0.1:23790\",\"Status\":{\"header\":{\"cluster_id\":"
            "324952591200643719,\"member_id\":3319814642761637952,\"revision\":5,"
            "\"raft_term\":2},\"version\":\"3.4.23\",\"dbSize\":20480,\"leader\":"
            "3319814642761637952,\"raftIndex\":8,\"raftTerm\":2,\"raftAppliedIndex\":8,"
            "\"dbSizeInUse\":16384}}]\n");
  EXPECT_EQ(Print("fields", status).out,
            "\"ClusterID\" : 324952591200643719\n\"MemberID\" : 3319814642761637952\n"
            "\"Revision\" : 5\n\"RaftTerm\" : 2\n\"Version\" : \"3.4.23\"\n"
            "\"DBSize\" : 20480\n\"Leader\" : 3319814642761637952\n\"IsLearner\" : false\n"
            "\"RaftIndex\" : 8\n\"RaftTerm\" : 2\n\"RaftAppliedIndex\" : 8\n\"Errors\" : []\n"
            "\"Endpoint\" : \"127.0.0.1:23790\"\n\n");
  EXPECT_EQ(Print("table", status).out,
            "+-----------------+------------------+---------+---------+-----------+------------"
            "+-----------+------------+--------------------+--------+\n"
            "|    ENDPOINT     |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER "
            "| RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |\n"
            "+-----------------+------------------+---------+---------+-----------+------------"
            "+-----------+------------+--------------------+--------+\n"
            "| 127.0.0.1:23790 | 2e1259d415f2a040 |  3.4.23 |   20 kB |      true |      false "
            "|         2 |          8 |                  8 |        |\n"
            "+-----------------+------------------+---------+---------+-----------+------------"
            "+-----------+------------+--------------------+--------+\n");
  EXPECT_EQ(Print("protobuf", status).err, "protobuf not supported as output format");
}

TEST(Printer, EndpointHealth) {
  std::vector<EndpointHealth> list = {{"127.0.0.1:23790", true, "1.693109ms", ""},
                                      {"127.0.0.1:1", false, "", "context deadline exceeded"}};
  auto health = [&](Printer& p) { return p.Health(list); };
  Output simple = Print("simple", health);
  EXPECT_EQ(simple.out, "");
  EXPECT_EQ(simple.err,
            "127.0.0.1:23790 is healthy: successfully committed proposal: took = 1.693109ms\n"
            "127.0.0.1:1 is unhealthy: failed to commit proposal: context deadline exceeded\n");
  EXPECT_EQ(Print("json", health).out,
            "[{\"endpoint\":\"127.0.0.1:23790\",\"health\":true,\"took\":\"1.693109ms\"},"
            "{\"endpoint\":\"127.0.0.1:1\",\"health\":false,\"took\":\"\",\"error\":"
            "\"context deadline exceeded\"}]\n");
  EXPECT_EQ(Print("fields", health).out,
            "\"Endpoint\" : \"127.0.0.1:23790\"\n\"Health\" : true\n\"Took\" : 1.693109ms\n"
            "\"Error\" : \n\n\"Endpoint\" : \"127.0.0.1:1\"\n\"Health\" : false\n"
            "\"Took\" : \n\"Error\" : context deadline exceeded\n\n");
}

constexpr uint64_t kNewMember = 0x15fef7014879e66ULL;  // 15 hex digits: padded to 16

etcdserverpb::MemberAddResponse LearnerAdded() {
  etcdserverpb::MemberAddResponse r;
  SetHeader(r.mutable_header(), 0);
  r.mutable_member()->set_id(kNewMember);
  r.mutable_member()->add_peerurls("http://127.0.0.1:1");
  r.mutable_member()->set_islearner(true);
  *r.add_members() = r.member();
  *r.add_members() = OneMember().members(0);
  return r;
}

TEST(Printer, MemberAdd) {
  auto add = [](Printer& p) { return p.MemberAdd(LearnerAdded()); };
  EXPECT_EQ(Print("simple", add).out,
            "Member  15fef7014879e66 added to cluster  48276a8f75b6a87\n");
  EXPECT_EQ(Print("json", add).out,
            "{\"header\":{\"cluster_id\":324952591200643719,\"member_id\":3319814642761637952,"
            "\"raft_term\":2},\"member\":{\"ID\":99060981485248102,\"peerURLs\":["
            "\"http://127.0.0.1:1\"],\"isLearner\":true},\"members\":[{\"ID\":"
            "99060981485248102,\"peerURLs\":[\"http://127.0.0.1:1\"],\"isLearner\":true},{"
            "\"ID\":3319814642761637952,\"name\":\"default\",\"peerURLs\":["
            "\"http://127.0.0.1:23800\"],\"clientURLs\":[\"http://127.0.0.1:23790\"]}]}\n");
  EXPECT_EQ(Print("protobuf", add).out, LearnerAdded().SerializeAsString());
  for (const char* format : {"fields", "table"}) {
    Output o = Print(format, add);
    EXPECT_EQ(o.exit_code, 4);
    EXPECT_EQ(o.out, "");
    EXPECT_EQ(o.err, std::string(format) + " not supported as output format");
  }
}

TEST(Printer, MemberRemoveUpdatePromote) {
  etcdserverpb::MemberRemoveResponse removed;
  SetHeader(removed.mutable_header(), 0);
  *removed.add_members() = OneMember().members(0);
  etcdserverpb::MemberUpdateResponse updated;
  updated.ParseFromString(removed.SerializeAsString());
  etcdserverpb::MemberPromoteResponse promoted;
  promoted.ParseFromString(removed.SerializeAsString());
  auto remove = [&](Printer& p) { return p.MemberRemove(kNewMember, removed); };
  auto update = [&](Printer& p) { return p.MemberUpdate(kMember, updated); };
  auto promote = [&](Printer& p) { return p.MemberPromote(kMember, promoted); };
  EXPECT_EQ(Print("simple", remove).out,
            "Member  15fef7014879e66 removed from cluster  48276a8f75b6a87\n");
  EXPECT_EQ(Print("simple", update).out,
            "Member 2e1259d415f2a040 updated in cluster  48276a8f75b6a87\n");
  EXPECT_EQ(Print("simple", promote).out,
            "Member 2e1259d415f2a040 promoted in cluster  48276a8f75b6a87\n");
  // The same shape as member list's.
  const std::string json = Print("json", [](Printer& p) { return p.MemberList(OneMember()); }).out;
  EXPECT_EQ(Print("json", remove).out, json);
  EXPECT_EQ(Print("json", update).out, json);
  EXPECT_EQ(Print("json", promote).out, json);
  EXPECT_EQ(Print("protobuf", remove).out, removed.SerializeAsString());
  EXPECT_EQ(Print("protobuf", promote).out, promoted.SerializeAsString());
  EXPECT_EQ(Print("fields", update).exit_code, 4);
  EXPECT_EQ(Print("table", promote).err, "table not supported as output format");
}

TEST(Printer, EndpointHashKV) {
  EndpointHashKV e{"127.0.0.1:23790", {}};
  SetHeader(e.hash.mutable_header(), 4);
  e.hash.set_hash(3628877040U);
  e.hash.set_compact_revision(-1);
  auto hashkv = [&](Printer& p) { return p.HashKV({e}); };
  EXPECT_EQ(Print("simple", hashkv).out, "127.0.0.1:23790, 3628877040\n");
  EXPECT_EQ(Print("json", hashkv).out,
            "[{\"Endpoint\":\"127.0.0.1:23790\",\"HashKV\":{\"header\":{\"cluster_id\":"
            "324952591200643719,\"member_id\":3319814642761637952,\"revision\":4,"
            "\"raft_term\":2},\"hash\":3628877040,\"compact_revision\":-1}}]\n");
  EXPECT_EQ(Print("fields", hashkv).out,
            "\"ClusterID\" : 324952591200643719\n\"MemberID\" : 3319814642761637952\n"
            "\"Revision\" : 4\n\"RaftTerm\" : 2\n\"Endpoint\" : \"127.0.0.1:23790\"\n"
            "\"Hash\" : 3628877040\n\n");
  EXPECT_EQ(Print("table", hashkv).out,
            "+-----------------+------------+\n"
            "|    ENDPOINT     |    HASH    |\n"
            "+-----------------+------------+\n"
            "| 127.0.0.1:23790 | 3628877040 |\n"
            "+-----------------+------------+\n");
  EXPECT_EQ(Print("protobuf", hashkv).err, "protobuf not supported as output format");
}

TEST(Printer, MoveLeader) {
  const etcdserverpb::MoveLeaderResponse r;  // etcd sends no header
  auto move = [&](Printer& p) { return p.MoveLeader(kMember, kNewMember, r); };
  EXPECT_EQ(Print("simple", move).out,
            "Leadership transferred from 2e1259d415f2a040 to 15fef7014879e66\n");
  EXPECT_EQ(Print("json", move).out, "{}\n");
  Output pb = Print("protobuf", move);
  EXPECT_EQ(pb.exit_code, 0);
  EXPECT_EQ(pb.out, "");
  EXPECT_EQ(Print("fields", move).err, "fields not supported as output format");
  EXPECT_EQ(Print("table", move).exit_code, 4);
}

}  // namespace
}  // namespace etcdd::cli
