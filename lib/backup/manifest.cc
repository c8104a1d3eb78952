#include "backup/manifest.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace etcdd::backup {

namespace {

using nlohmann::json;

template <typename T>
json OrNull(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json MemberToJson(const MemberInfo& m) {
  return json{{"name", m.name},
              {"id", IdHex(m.id)},
              {"peer_urls", m.peer_urls},
              {"is_learner", m.is_learner}};
}

// A field with the wrong shape; thrown and caught only inside this file
// (ManifestFromJson), like the json::exception of a missing field.
struct BadField : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads a hex id field.
uint64_t HexField(const json& j, const char* key) {
  auto v = ParseIdHex(j.at(key).get<std::string>());
  if (!v) throw BadField(std::string("field ") + key + " is not a hex id");
  return *v;
}

template <typename T>
std::optional<T> Optional(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<T>();
}

Manifest ParseObject(const json& j) {
  Manifest m;
  m.format_version = j.at("format_version").get<int>();
  m.etcdd_version = j.at("etcdd_version").get<std::string>();
  auto created = ParseRfc3339(j.at("created").get<std::string>());
  if (!created) throw BadField("field created is not RFC 3339 UTC");
  m.created = *created;
  m.cluster_id = HexField(j, "cluster_id");
  for (const json& jm : j.at("members")) {
    m.members.push_back({jm.at("name").get<std::string>(), HexField(jm, "id"),
                         jm.at("peer_urls").get<std::vector<std::string>>(),
                         jm.at("is_learner").get<bool>()});
  }
  m.source_member_id = HexField(j, "source_member_id");
  m.revision = j.at("revision").get<int64_t>();
  m.raft_index = j.at("raft_index").get<uint64_t>();
  m.raft_term = j.at("raft_term").get<uint64_t>();
  m.compact_revision = Optional<int64_t>(j, "compact_revision");
  m.key_count = Optional<int64_t>(j, "key_count");
  m.hash_kv = Optional<uint32_t>(j, "hash_kv");
  m.snapshot_size = j.at("snapshot_size").get<uint64_t>();
  m.sha256 = j.at("sha256").get<std::string>();
  return m;
}

}  // namespace

Manifest BuildManifest(const ClusterFacts& cluster, const SnapshotFileFacts& file,
                       const std::string& etcdd_version, Seconds created) {
  Manifest m;
  m.etcdd_version = etcdd_version;
  m.created = created;
  m.cluster_id = cluster.cluster_id;
  m.members = cluster.members;
  m.source_member_id = cluster.source_member_id;
  m.revision = file.revision.value_or(cluster.revision);
  m.raft_index = cluster.raft_index;
  m.raft_term = cluster.raft_term;
  m.compact_revision = cluster.compact_revision;
  m.key_count = file.key_count ? file.key_count : cluster.key_count;
  m.hash_kv = cluster.hash_kv;
  m.snapshot_size = file.size;
  m.sha256 = file.sha256;
  return m;
}

std::string ManifestToJson(const Manifest& m) {
  json members = json::array();
  for (const auto& member : m.members) members.push_back(MemberToJson(member));
  json j = {{"format_version", m.format_version},
            {"etcdd_version", m.etcdd_version},
            {"created", FormatRfc3339(m.created)},
            {"cluster_id", IdHex(m.cluster_id)},
            {"members", members},
            {"source_member_id", IdHex(m.source_member_id)},
            {"revision", m.revision},
            {"raft_index", m.raft_index},
            {"raft_term", m.raft_term},
            {"compact_revision", OrNull(m.compact_revision)},
            {"key_count", OrNull(m.key_count)},
            {"hash_kv", OrNull(m.hash_kv)},
            {"snapshot_size", m.snapshot_size},
            {"sha256", m.sha256}};
  return j.dump(2) + "\n";
}

Result<Manifest> ManifestFromJson(std::string_view text, const std::string& where) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Corruption("bad manifest: not a JSON object", where);
  }
  if (!j.contains("format_version") || !j["format_version"].is_number_integer()) {
    return Status::Corruption("bad manifest: no format_version", where);
  }
  if (j["format_version"].get<int>() != kManifestFormatVersion) {
    return Status::FailedPrecondition(where + ": manifest format_version " +
                                      j["format_version"].dump() +
                                      " is not supported by this kvbackup (it reads " +
                                      std::to_string(kManifestFormatVersion) + ")");
  }
  try {
    return ParseObject(j);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("bad manifest: ") + e.what(), where);
  }
}

}  // namespace etcdd::backup
