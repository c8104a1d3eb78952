#include "server/etcd_schema.h"

#include <nlohmann/json.hpp>

#include "base/go_text.h"
#include "mvcc/revision.h"

namespace etcdd::server::etcd_schema {

namespace {

using Json = nlohmann::json;

void AppendStringArray(const google::protobuf::RepeatedPtrField<std::string>& v, std::string* out) {
  if (v.empty()) {
    out->append("null");  // a nil Go slice
    return;
  }
  out->push_back('[');
  for (int i = 0; i < v.size(); ++i) {
    if (i > 0) out->push_back(',');
    *out += GoJsonString(v[i]);
  }
  out->push_back(']');
}

void AppendUintArray(const google::protobuf::RepeatedField<uint64_t>& v, std::string* out) {
  out->push_back('[');
  for (int i = 0; i < v.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append(std::to_string(v[i]));
  }
  out->push_back(']');
}

Result<Json> ParseObject(std::string_view text, const char* what) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(std::string(what) + ": not a JSON object");
  }
  return j;
}

// Copies the JSON array of strings j[name] (absent or null: nothing) into
// `out`. Errors: InvalidArgument for another type.
Status GetStrings(const Json& j, const char* name,
                  google::protobuf::RepeatedPtrField<std::string>* out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return Status::InvalidArgument(std::string(name) + " is not an array");
  for (const Json& e : *it) {
    if (!e.is_string()) return Status::InvalidArgument(std::string(name) + " holds a non-string");
    out->Add(e.get<std::string>());
  }
  return Status::Ok();
}

Status GetUints(const Json& j, const char* name, google::protobuf::RepeatedField<uint64_t>* out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return Status::InvalidArgument(std::string(name) + " is not an array");
  for (const Json& e : *it) {
    if (!e.is_number_unsigned()) {
      return Status::InvalidArgument(std::string(name) + " holds a non-integer");
    }
    out->Add(e.get<uint64_t>());
  }
  return Status::Ok();
}

// j[name] as a bool (absent or null: false). Errors: InvalidArgument.
Result<bool> GetBool(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return false;
  if (!it->is_boolean()) return Status::InvalidArgument(std::string(name) + " is not a bool");
  return it->get<bool>();
}

}  // namespace

bool HashIgnores(std::string_view bucket, std::string_view key) {
  return bucket == kMetaBucket && (key == kConsistentIndexKey || key == kTermKey);
}

std::string EncodeUint64(uint64_t v) {
  std::string b(8, '\0');
  mvcc::PutBigEndian64(v, b.data());
  return b;
}

Result<uint64_t> DecodeUint64(std::string_view b) {
  if (b.size() != 8) return Status::InvalidArgument("not an 8-byte big-endian integer");
  return mvcc::GetBigEndian64(b.data());
}

std::string EncodeCompactRevision(int64_t main) {
  return std::string(mvcc::RevKey({main, 0}, false).view());
}

Result<int64_t> DecodeCompactRevision(std::string_view b) {
  mvcc::Revision rev;
  bool tombstone = false;
  if (!mvcc::DecodeRevKey(b, &rev, &tombstone) || tombstone) {
    return Status::InvalidArgument("not a 17-byte revision");
  }
  return rev.main;
}

std::string EncodeAuthEnabled(bool enabled) { return std::string(1, enabled ? '\x01' : '\x00'); }

bool DecodeAuthEnabled(std::string_view b) { return b == std::string_view("\x01", 1); }

std::string MemberKey(uint64_t id) { return IdToHex(id); }

Result<uint64_t> DecodeMemberKey(std::string_view key) {
  auto id = ParseGoUint64(key, 16);
  if (!id.ok()) return Status::InvalidArgument("member key: " + id.status().message());
  return id.value();
}

std::string EncodeMember(const serverpb::Member& m) {
  std::string out = "{\"id\":" + std::to_string(m.id()) + ",\"peerURLs\":";
  AppendStringArray(m.peer_urls(), &out);
  if (m.is_learner()) out.append(",\"isLearner\":true");
  if (!m.name().empty()) {
    out.append(",\"name\":");
    out += GoJsonString(m.name());
  }
  if (!m.client_urls().empty()) {
    out.append(",\"clientURLs\":");
    AppendStringArray(m.client_urls(), &out);
  }
  out.push_back('}');
  return out;
}

Result<serverpb::Member> DecodeMember(std::string_view json) {
  ASSIGN_OR_RETURN(Json j, ParseObject(json, "member"));
  serverpb::Member m;
  auto id = j.find("id");
  if (id == j.end() || !id->is_number_unsigned()) {
    return Status::InvalidArgument("member: id missing or not an unsigned integer");
  }
  m.set_id(id->get<uint64_t>());
  RETURN_IF_ERROR(GetStrings(j, "peerURLs", m.mutable_peer_urls()));
  RETURN_IF_ERROR(GetStrings(j, "clientURLs", m.mutable_client_urls()));
  ASSIGN_OR_RETURN(bool learner, GetBool(j, "isLearner"));
  m.set_is_learner(learner);
  auto name = j.find("name");
  if (name != j.end() && !name->is_null()) {
    if (!name->is_string()) return Status::InvalidArgument("member: name is not a string");
    m.set_name(name->get<std::string>());
  }
  return m;
}

std::string LeaseKey(int64_t id) { return EncodeUint64(static_cast<uint64_t>(id)); }

Result<int64_t> DecodeLeaseKey(std::string_view key) {
  ASSIGN_OR_RETURN(uint64_t id, DecodeUint64(key));
  return static_cast<int64_t>(id);
}

std::string EncodeLease(const serverpb::LeaseRecord& lease) { return lease.SerializeAsString(); }

Result<serverpb::LeaseRecord> DecodeLease(std::string_view b) {
  serverpb::LeaseRecord r;
  if (!r.ParseFromArray(b.data(), static_cast<int>(b.size()))) {
    return Status::InvalidArgument("lease: not a leasepb.Lease");
  }
  return r;
}

std::string EncodeConfState(const raftpb::ConfState& cs) {
  std::string out = "{";
  if (!cs.voters().empty()) {
    out.append("\"voters\":");
    AppendUintArray(cs.voters(), &out);
    out.push_back(',');
  }
  if (!cs.learners().empty()) {
    out.append("\"learners\":");
    AppendUintArray(cs.learners(), &out);
    out.push_back(',');
  }
  out.append("\"auto_leave\":false}");
  return out;
}

Result<raftpb::ConfState> DecodeConfState(std::string_view json) {
  ASSIGN_OR_RETURN(Json j, ParseObject(json, "confState"));
  raftpb::ConfState cs;
  RETURN_IF_ERROR(GetUints(j, "voters", cs.mutable_voters()));
  RETURN_IF_ERROR(GetUints(j, "learners", cs.mutable_learners()));
  google::protobuf::RepeatedField<uint64_t> outgoing, next;
  RETURN_IF_ERROR(GetUints(j, "voters_outgoing", &outgoing));
  RETURN_IF_ERROR(GetUints(j, "learners_next", &next));
  ASSIGN_OR_RETURN(bool auto_leave, GetBool(j, "auto_leave"));
  if (!outgoing.empty() || !next.empty() || auto_leave) {
    return Status::InvalidArgument("confState: joint configurations are not supported");
  }
  return cs;
}

}  // namespace etcdd::server::etcd_schema
