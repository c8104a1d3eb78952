#include "server/etcd_snapshot.h"

#include <filesystem>
#include <map>
#include <memory>

#include "auth/store.h"
#include "base/crc32c.h"
#include "base/sha256.h"
#include "mvcc/revision.h"
#include "server/alarms.h"
#include "server/applier.h"
#include "server/etcd_schema.h"
#include "server/leases.h"
#include "serverpb/internal.pb.h"
#include "snap/bbolt_writer.h"
#include "snap/file_stream.h"

namespace etcdd::server {

namespace {

namespace es = etcd_schema;
using Entries = std::map<std::string, std::string, std::less<>>;

constexpr uint64_t kBboltTxid = 1;
constexpr size_t kReadChunkBytes = 1 << 20;
constexpr uint64_t kCancelPollEntries = 4096;

Status EmitBucket(EtcdBucketSink& sink, std::string_view name, const Entries& entries) {
  RETURN_IF_ERROR(sink.BeginBucket(name));
  for (const auto& [k, v] : entries) RETURN_IF_ERROR(sink.Put(k, v));
  return sink.EndBucket();
}

Result<serverpb::Members> ReadMembers(const mvcc::RawView& view) {
  serverpb::Members members;
  ASSIGN_OR_RETURN(auto raw, view.Get(mvcc::RawDb::kServer, kMembersMetaKey));
  if (raw && !members.ParseFromString(*raw)) {
    return Status::Corruption("undecodable members record", "server database key members");
  }
  return members;
}

Status EmitMembers(const mvcc::RawView& view, EtcdBucketSink& sink) {
  ASSIGN_OR_RETURN(serverpb::Members members, ReadMembers(view));
  Entries live, removed;
  for (const auto& m : members.members()) live[es::MemberKey(m.id())] = es::EncodeMember(m);
  for (uint64_t id : members.removed()) removed[es::MemberKey(id)] = std::string(es::kRemovedValue);
  RETURN_IF_ERROR(EmitBucket(sink, es::kMembersBucket, live));
  return EmitBucket(sink, es::kMembersRemovedBucket, removed);
}

// The `lease` bucket: server records "lease/<16 hex>" are in id order, which
// is also the order of the 8-byte big-endian keys, so they stream.
Status EmitLeases(const mvcc::RawView& view, EtcdBucketSink& sink) {
  RETURN_IF_ERROR(sink.BeginBucket(es::kLeaseBucket));
  RETURN_IF_ERROR(view.ForEach(mvcc::RawDb::kServer, kLeaseMetaPrefix,
                               [&](std::string_view key, std::string_view value) -> Status {
                                 auto rec = es::DecodeLease(value);
                                 if (!rec.ok()) {
                                   return Status::Corruption(
                                       "undecodable lease record",
                                       "server database key " + std::string(key));
                                 }
                                 return sink.Put(es::LeaseKey(rec.value().id()), value);
                               }));
  return sink.EndBucket();
}

// The `alarm` bucket: each key a serialized AlarmMember (the alarm
// record's value, server/alarms.h), each value empty.
Status EmitAlarms(const mvcc::RawView& view, EtcdBucketSink& sink) {
  Entries alarms;
  RETURN_IF_ERROR(view.ForEach(mvcc::RawDb::kServer, kAlarmMetaPrefix,
                               [&](std::string_view, std::string_view value) -> Status {
                                 alarms.emplace(value, "");
                                 return Status::Ok();
                               }));
  return EmitBucket(sink, es::kAlarmBucket, alarms);
}

// The auth store's records (auth/store.h), whose values are etcd's:
// `auth` (authEnabled once set, authRevision; 1 for a store that never
// changed, as a fresh etcd writes), `authRoles` and `authUsers` by name.
Status EmitAuth(const mvcc::RawView& view, EtcdBucketSink& sink) {
  Entries auth_entries = {{std::string(es::kAuthRevisionKey), es::EncodeUint64(1)}};
  ASSIGN_OR_RETURN(auto enabled, view.Get(mvcc::RawDb::kServer, auth::kAuthEnabledMetaKey));
  if (enabled) auth_entries[std::string(es::kAuthEnabledKey)] = std::move(*enabled);
  ASSIGN_OR_RETURN(auto revision, view.Get(mvcc::RawDb::kServer, auth::kAuthRevisionMetaKey));
  if (revision) auth_entries[std::string(es::kAuthRevisionKey)] = std::move(*revision);
  RETURN_IF_ERROR(EmitBucket(sink, es::kAuthBucket, auth_entries));
  for (auto [bucket, prefix] : {std::pair{es::kAuthRolesBucket, auth::kAuthRolesMetaPrefix},
                                std::pair{es::kAuthUsersBucket, auth::kAuthUsersMetaPrefix}}) {
    RETURN_IF_ERROR(sink.BeginBucket(bucket));
    const std::string_view p = prefix;
    RETURN_IF_ERROR(
        view.ForEach(mvcc::RawDb::kServer, p, [&](std::string_view key, std::string_view value) {
          return sink.Put(key.substr(p.size()), value);
        }));
    RETURN_IF_ERROR(sink.EndBucket());
  }
  return Status::Ok();
}

Status EmitMeta(const mvcc::RawView& view, EtcdBucketSink& sink) {
  Entries meta;
  for (std::string_view key :
       {es::kConsistentIndexKey, es::kTermKey, es::kScheduledCompactKey, es::kFinishedCompactKey}) {
    ASSIGN_OR_RETURN(auto v, view.Get(mvcc::RawDb::kMeta, key));
    if (v) meta.emplace(key, std::move(*v));
  }
  ASSIGN_OR_RETURN(auto cs_raw, view.Get(mvcc::RawDb::kServer, kConfStateMetaKey));
  if (cs_raw) {
    raftpb::ConfState cs;
    if (!cs.ParseFromString(*cs_raw)) {
      return Status::Corruption("undecodable ConfState record", "server database key confstate");
    }
    meta.emplace(es::kConfStateKey, es::EncodeConfState(cs));
  }
  return EmitBucket(sink, es::kMetaBucket, meta);
}

Status EmitKeys(const mvcc::RawView& view, EtcdBucketSink& sink) {
  RETURN_IF_ERROR(sink.BeginBucket(es::kKeyBucket));
  RETURN_IF_ERROR(view.ForEach(mvcc::RawDb::kKey, "", [&](std::string_view k, std::string_view v) {
    return sink.Put(k, v);
  }));
  return sink.EndBucket();
}

// Writes the buckets into a BboltWriter and counts what `snapshot status`
// reports.
class BboltSink final : public EtcdBucketSink {
 public:
  BboltSink(snap::BboltWriter& w, const std::function<bool()>& cancelled)
      : w_(w), cancelled_(cancelled) {}
  Status BeginBucket(std::string_view name) override {
    in_key_bucket_ = name == es::kKeyBucket;
    return w_.BeginBucket(name);
  }
  Status Put(std::string_view key, std::string_view value) override {
    if (++info_.total_keys % kCancelPollEntries == 0 && cancelled_ && cancelled_()) {
      return Status(Code::kCancelled, "context canceled");
    }
    if (in_key_bucket_ && key.size() >= 8) {
      info_.revision = static_cast<int64_t>(mvcc::GetBigEndian64(key.data()));
    }
    return w_.Put(key, value);
  }
  Status EndBucket() override { return w_.EndBucket(); }
  EtcdSnapshotInfo& info() { return info_; }

 private:
  snap::BboltWriter& w_;
  const std::function<bool()>& cancelled_;
  bool in_key_bucket_ = false;
  EtcdSnapshotInfo info_;
};

class HashSink final : public EtcdBucketSink {
 public:
  Status BeginBucket(std::string_view name) override {
    bucket_ = std::string(name);
    crc_ = Crc32c(crc_, name);
    return Status::Ok();
  }
  Status Put(std::string_view key, std::string_view value) override {
    if (es::HashIgnores(bucket_, key)) return Status::Ok();
    crc_ = Crc32c(Crc32c(crc_, key), value);
    return Status::Ok();
  }
  Status EndBucket() override { return Status::Ok(); }
  uint32_t crc() const { return crc_; }

 private:
  std::string bucket_;
  uint32_t crc_ = 0;
};

// SHA-256 of the first `bytes` of `path`, read in 1 MiB chunks.
Result<std::string> Sha256OfFile(const std::string& path, uint64_t bytes) {
  ASSIGN_OR_RETURN(snap::FileSource src, snap::FileSource::Open(path));
  if (src.size() != bytes) {
    return Status::Internal(path + ": size " + std::to_string(src.size()) + ", expected " +
                            std::to_string(bytes));
  }
  Sha256 sha;
  std::string chunk;
  for (;;) {
    RETURN_IF_ERROR(src.Next(kReadChunkBytes, &chunk));
    if (chunk.empty()) break;
    sha.Update(chunk);
  }
  const auto digest = sha.Final();
  return std::string(digest.begin(), digest.end());
}

}  // namespace

Status EmitEtcdBuckets(const mvcc::RawView& view, EtcdBucketSink& sink) {
  // bbolt's order: alarm, auth, authRoles, authUsers, cluster, key, lease,
  // members, members_removed, meta (etcd_schema::kAllBuckets).
  RETURN_IF_ERROR(EmitAlarms(view, sink));
  RETURN_IF_ERROR(EmitAuth(view, sink));
  RETURN_IF_ERROR(
      EmitBucket(sink, es::kClusterBucket,
                 {{std::string(es::kClusterVersionKey), std::string(es::kClusterVersion34)}}));
  RETURN_IF_ERROR(EmitKeys(view, sink));
  RETURN_IF_ERROR(EmitLeases(view, sink));
  RETURN_IF_ERROR(EmitMembers(view, sink));
  return EmitMeta(view, sink);
}

Result<EtcdSnapshotInfo> WriteEtcdSnapshot(const mvcc::RawView& view, const std::string& path,
                                           Env& env, const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(auto writer, snap::BboltWriter::Create(path, env));
  BboltSink sink(*writer, cancelled);
  RETURN_IF_ERROR(EmitEtcdBuckets(view, sink));
  ASSIGN_OR_RETURN(sink.info().db_bytes, writer->Finish(kBboltTxid));
  writer.reset();
  ASSIGN_OR_RETURN(std::string digest, Sha256OfFile(path, sink.info().db_bytes));
  ASSIGN_OR_RETURN(auto file, env.OpenFile(path, Env::OpenMode::kExisting));
  RETURN_IF_ERROR(file->WriteAt(sink.info().db_bytes, digest));
  RETURN_IF_ERROR(file->Sync());
  return sink.info();
}

ExportedEtcdSnapshot::~ExportedEtcdSnapshot() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

Result<uint32_t> EtcdBackendHash(const mvcc::RawView& view) {
  HashSink sink;
  RETURN_IF_ERROR(EmitEtcdBuckets(view, sink));
  return sink.crc();
}

}  // namespace etcdd::server
