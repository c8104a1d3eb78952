// The json format: Go's encoding/json of etcd's gogo response structs
// (etcdctl's printer_json.go). Field names and order follow the structs' json
// tags; every field is `omitempty`, so zero numbers, false, empty strings and
// lists, and absent messages are left out. A oneof is a Go interface field
// named after the oneof ("Response") holding a struct named after the member
// ("ResponseRange"), because those wrapper structs carry no json tags.
#include <string>

#include "cli/go_format.h"
#include "cli/go_json.h"
#include "cli/printer_internal.h"

namespace etcdd::cli::internal {

namespace {

using Json = nlohmann::ordered_json;

template <typename T>
void SetIfNonZero(Json& j, const char* name, const T& v) {
  if (v != T{}) j[name] = v;
}

void SetIfNonEmpty(Json& j, const char* name, const Json& v) {
  if (!v.empty()) j[name] = v;
}

Json HeaderJson(const etcdserverpb::ResponseHeader& h) {
  Json j = Json::object();
  SetIfNonZero(j, "cluster_id", h.cluster_id());
  SetIfNonZero(j, "member_id", h.member_id());
  SetIfNonZero(j, "revision", h.revision());
  SetIfNonZero(j, "raft_term", h.raft_term());
  return j;
}

Json KeyValueJson(const mvccpb::KeyValue& kv) {
  Json j = Json::object();
  if (!kv.key().empty()) j["key"] = Base64Encode(kv.key());
  SetIfNonZero(j, "create_revision", kv.create_revision());
  SetIfNonZero(j, "mod_revision", kv.mod_revision());
  SetIfNonZero(j, "version", kv.version());
  if (!kv.value().empty()) j["value"] = Base64Encode(kv.value());
  SetIfNonZero(j, "lease", kv.lease());
  return j;
}

Json KeyValuesJson(const google::protobuf::RepeatedPtrField<mvccpb::KeyValue>& kvs) {
  Json a = Json::array();
  for (const auto& kv : kvs) a.push_back(KeyValueJson(kv));
  return a;
}

Json StringsJson(const google::protobuf::RepeatedPtrField<std::string>& v) {
  Json a = Json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

Json RangeJson(const etcdserverpb::RangeResponse& r) {
  Json j = Json::object();
  if (r.has_header()) j["header"] = HeaderJson(r.header());
  SetIfNonEmpty(j, "kvs", KeyValuesJson(r.kvs()));
  SetIfNonZero(j, "more", r.more());
  SetIfNonZero(j, "count", r.count());
  return j;
}

Json PutJson(const etcdserverpb::PutResponse& r) {
  Json j = Json::object();
  if (r.has_header()) j["header"] = HeaderJson(r.header());
  if (r.has_prev_kv()) j["prev_kv"] = KeyValueJson(r.prev_kv());
  return j;
}

Json DeleteJson(const etcdserverpb::DeleteRangeResponse& r) {
  Json j = Json::object();
  if (r.has_header()) j["header"] = HeaderJson(r.header());
  SetIfNonZero(j, "deleted", r.deleted());
  SetIfNonEmpty(j, "prev_kvs", KeyValuesJson(r.prev_kvs()));
  return j;
}

Json TxnJson(const etcdserverpb::TxnResponse& r);

Json ResponseOpJson(const etcdserverpb::ResponseOp& op) {
  Json inner = Json::object();
  if (op.has_response_range()) inner["ResponseRange"] = RangeJson(op.response_range());
  if (op.has_response_put()) inner["ResponsePut"] = PutJson(op.response_put());
  if (op.has_response_delete_range()) {
    inner["ResponseDeleteRange"] = DeleteJson(op.response_delete_range());
  }
  if (op.has_response_txn()) inner["ResponseTxn"] = TxnJson(op.response_txn());
  Json j = Json::object();
  // An unset oneof is a nil interface: `"Response":null`.
  j["Response"] = inner.empty() ? Json() : inner;
  return j;
}

Json TxnJson(const etcdserverpb::TxnResponse& r) {
  Json j = Json::object();
  if (r.has_header()) j["header"] = HeaderJson(r.header());
  SetIfNonZero(j, "succeeded", r.succeeded());
  Json ops = Json::array();
  for (const auto& op : r.responses()) ops.push_back(ResponseOpJson(op));
  SetIfNonEmpty(j, "responses", ops);
  return j;
}

Json MemberJson(const etcdserverpb::Member& m) {
  Json j = Json::object();
  SetIfNonZero(j, "ID", m.id());
  SetIfNonZero(j, "name", m.name());
  SetIfNonEmpty(j, "peerURLs", StringsJson(m.peerurls()));
  SetIfNonEmpty(j, "clientURLs", StringsJson(m.clienturls()));
  SetIfNonZero(j, "isLearner", m.islearner());
  return j;
}

Json StatusJson(const etcdserverpb::StatusResponse& s) {
  Json j = Json::object();
  if (s.has_header()) j["header"] = HeaderJson(s.header());
  SetIfNonZero(j, "version", s.version());
  SetIfNonZero(j, "dbSize", s.dbsize());
  SetIfNonZero(j, "leader", s.leader());
  SetIfNonZero(j, "raftIndex", s.raftindex());
  SetIfNonZero(j, "raftTerm", s.raftterm());
  SetIfNonZero(j, "raftAppliedIndex", s.raftappliedindex());
  SetIfNonEmpty(j, "errors", StringsJson(s.errors()));
  SetIfNonZero(j, "dbSizeInUse", s.dbsizeinuse());
  SetIfNonZero(j, "isLearner", s.islearner());
  return j;
}

Json HashKVJson(const etcdserverpb::HashKVResponse& h) {
  Json j = Json::object();
  if (h.has_header()) j["header"] = HeaderJson(h.header());
  SetIfNonZero(j, "hash", h.hash());
  SetIfNonZero(j, "compact_revision", h.compact_revision());
  return j;
}

// clientv3's lease structs embed *pb.ResponseHeader: its fields are inlined
// in the struct's own object, and left out with a nil header.
Json InlinedHeaderJson(bool has_header, const etcdserverpb::ResponseHeader& h) {
  return has_header ? HeaderJson(h) : Json::object();
}

Json EventJson(const mvccpb::Event& e) {
  Json j = Json::object();
  SetIfNonZero(j, "type", static_cast<int>(e.type()));
  if (e.has_kv()) j["kv"] = KeyValueJson(e.kv());
  if (e.has_prev_kv()) j["prev_kv"] = KeyValueJson(e.prev_kv());
  return j;
}

// clientv3.WatchResponse: exported fields without json tags, none omitted.
Json WatchJson(const etcdserverpb::WatchResponse& r) {
  Json j = Json::object();
  j["Header"] = HeaderJson(r.header());
  Json events = Json::array();
  for (const auto& e : r.events()) events.push_back(EventJson(e));
  j["Events"] = r.has_header() ? events : Json();
  j["CompactRevision"] = r.compact_revision();
  j["Canceled"] = r.canceled();
  j["Created"] = r.created();
  return j;
}

Json MembersJson(const google::protobuf::RepeatedPtrField<etcdserverpb::Member>& members) {
  Json a = Json::array();
  for (const auto& m : members) a.push_back(MemberJson(m));
  return a;
}

// MemberRemove/Update/Promote/ListResponse share this shape.
template <typename Response>
Json MembershipJson(const Response& r) {
  Json j = Json::object();
  if (r.has_header()) j["header"] = HeaderJson(r.header());
  SetIfNonEmpty(j, "members", MembersJson(r.members()));
  return j;
}

class JsonPrinter : public Printer {
 public:
  explicit JsonPrinter(std::ostream& out) : out_(out) {}

  ExitStatus Get(const etcdserverpb::RangeResponse& r) override { return Print(RangeJson(r)); }
  ExitStatus Put(const etcdserverpb::PutResponse& r) override { return Print(PutJson(r)); }
  ExitStatus Del(const etcdserverpb::DeleteRangeResponse& r) override {
    return Print(DeleteJson(r));
  }
  ExitStatus Txn(const etcdserverpb::TxnResponse& r) override { return Print(TxnJson(r)); }
  ExitStatus MemberList(const etcdserverpb::MemberListResponse& r) override {
    return Print(MembershipJson(r));
  }
  ExitStatus MemberAdd(const etcdserverpb::MemberAddResponse& r) override {
    Json j = Json::object();
    if (r.has_header()) j["header"] = HeaderJson(r.header());
    if (r.has_member()) j["member"] = MemberJson(r.member());
    SetIfNonEmpty(j, "members", MembersJson(r.members()));
    return Print(j);
  }
  ExitStatus MemberRemove(uint64_t, const etcdserverpb::MemberRemoveResponse& r) override {
    return Print(MembershipJson(r));
  }
  ExitStatus MemberUpdate(uint64_t, const etcdserverpb::MemberUpdateResponse& r) override {
    return Print(MembershipJson(r));
  }
  ExitStatus MemberPromote(uint64_t, const etcdserverpb::MemberPromoteResponse& r) override {
    return Print(MembershipJson(r));
  }
  ExitStatus MoveLeader(uint64_t, uint64_t, const etcdserverpb::MoveLeaderResponse& r) override {
    Json j = Json::object();
    if (r.has_header()) j["header"] = HeaderJson(r.header());
    return Print(j);
  }
  ExitStatus Alarm(const etcdserverpb::AlarmResponse& r) override {
    Json j = Json::object();
    if (r.has_header()) j["header"] = HeaderJson(r.header());
    Json alarms = Json::array();
    for (const auto& a : r.alarms()) {
      Json m = Json::object();
      SetIfNonZero(m, "memberID", a.memberid());
      SetIfNonZero(m, "alarm", static_cast<int>(a.alarm()));
      alarms.push_back(m);
    }
    SetIfNonEmpty(j, "alarms", alarms);
    return Print(j);
  }
  ExitStatus Watch(const etcdserverpb::WatchResponse& r) override { return Print(WatchJson(r)); }
  ExitStatus Grant(const etcdserverpb::LeaseGrantResponse& r) override {
    Json j = InlinedHeaderJson(r.has_header(), r.header());
    j["ID"] = r.id();
    j["TTL"] = r.ttl();
    j["Error"] = r.error();
    return Print(j);
  }
  // clientv3.LeaseRevokeResponse is the protobuf struct itself.
  ExitStatus Revoke(int64_t, const etcdserverpb::LeaseRevokeResponse& r) override {
    Json j = Json::object();
    if (r.has_header()) j["header"] = HeaderJson(r.header());
    return Print(j);
  }
  ExitStatus KeepAlive(const etcdserverpb::LeaseKeepAliveResponse& r) override {
    Json j = InlinedHeaderJson(r.has_header(), r.header());
    j["ID"] = r.id();
    j["TTL"] = r.ttl();
    return Print(j);
  }
  // clientv3.LeaseTimeToLiveResponse has json tags but no omitempty; no keys
  // is a nil slice.
  ExitStatus TimeToLive(const etcdserverpb::LeaseTimeToLiveResponse& r, bool) override {
    Json j = InlinedHeaderJson(r.has_header(), r.header());
    j["id"] = r.id();
    j["ttl"] = r.ttl();
    j["granted-ttl"] = r.grantedttl();
    Json keys = Json::array();
    for (const auto& k : r.keys()) keys.push_back(Base64Encode(k));
    j["keys"] = r.keys().empty() ? Json() : keys;
    return Print(j);
  }
  // clientv3 copies the leases into a slice it always allocates.
  ExitStatus Leases(const etcdserverpb::LeaseLeasesResponse& r) override {
    Json j = InlinedHeaderJson(r.has_header(), r.header());
    Json leases = Json::array();
    for (const auto& l : r.leases()) leases.push_back(Json{{"id", l.id()}});
    j["leases"] = leases;
    return Print(j);
  }
  ExitStatus Health(const std::vector<EndpointHealth>& list) override {
    Json a = Json::array();
    for (const auto& h : list) {
      Json j = Json::object();
      j["endpoint"] = h.endpoint;
      j["health"] = h.health;
      j["took"] = h.took;
      if (!h.error.empty()) j["error"] = h.error;
      a.push_back(j);
    }
    return Print(a);
  }
  ExitStatus Status(const std::vector<EndpointStatus>& list) override {
    Json a = Json::array();
    for (const auto& e : list) {
      Json j = Json::object();
      j["Endpoint"] = e.endpoint;
      j["Status"] = StatusJson(e.status);
      a.push_back(j);
    }
    return Print(a);
  }
  ExitStatus HashKV(const std::vector<EndpointHashKV>& list) override {
    Json a = Json::array();
    for (const auto& h : list) {
      Json j = Json::object();
      j["Endpoint"] = h.endpoint;
      j["HashKV"] = HashKVJson(h.hash);
      a.push_back(j);
    }
    return Print(a);
  }

 private:
  ExitStatus Print(const Json& j) {
    out_ << GoJson(j) << "\n";
    return ExitStatus::Ok();
  }
  std::ostream& out_;
};

}  // namespace

std::unique_ptr<Printer> NewJsonPrinter(std::ostream& out) {
  return std::make_unique<JsonPrinter>(out);
}

}  // namespace etcdd::cli::internal
