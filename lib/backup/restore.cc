#include "backup/restore.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <future>

#include "auth/store.h"
#include "backup/archive.h"
#include "backup/inspect.h"
#include "backup/snapshot_digest.h"
#include "base/file.h"
#include "base/go_text.h"
#include "mvcc/import.h"
#include "mvcc/revision.h"
#include "mvcc/store.h"
#include "raftpb/raft.pb.h"
#include "server/alarms.h"
#include "server/applier.h"
#include "server/etcd_schema.h"
#include "server/ids.h"
#include "server/leases.h"
#include "snap/bbolt_reader.h"
#include "wal/wal.h"

namespace etcdd::backup {

namespace fs = std::filesystem;
namespace schema = server::etcd_schema;

namespace {

// The Raft term and index the restored cluster starts at: one entry per
// member, as etcd's restore commits the members' ConfChanges.
constexpr uint64_t kStartTerm = 1;

std::string JoinUrls(const std::vector<Url>& urls) {
  std::string out;
  for (const auto& u : urls) out += (out.empty() ? "" : ",") + u.ToString();
  return out;
}

// etcd's ServerConfig.VerifyBootstrap and the restore flag rules.
Status CheckOptions(const RestoreOptions& o) {
  auto self = o.initial_cluster.find(o.name);
  if (self == o.initial_cluster.end()) {
    return Status::InvalidArgument("couldn't find local name \"" + o.name +
                                   "\" in the initial cluster configuration");
  }
  std::vector<std::string> have, want;
  for (const auto& u : self->second) have.push_back(u.ToString());
  for (const auto& u : o.initial_advertise_peer_urls) want.push_back(u.ToString());
  std::sort(have.begin(), have.end());
  std::sort(want.begin(), want.end());
  if (have != want) {
    return Status::InvalidArgument("--initial-cluster has " + o.name + "=" +
                                   JoinUrls(self->second) +
                                   " but missing from --initial-advertise-peer-urls=" +
                                   JoinUrls(o.initial_advertise_peer_urls));
  }
  if (o.bump_revision > 0 && !o.mark_compacted) {
    return Status::InvalidArgument("--mark-compacted required if --bump-revision > 0");
  }
  return Status::Ok();
}

// A directory the restore may create: absent, or an empty directory.
Status CheckTarget(const std::string& flag, const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return Status::Ok();
  if (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec)) {
    return Status::FailedPrecondition(flag + " \"" + dir + "\" exists and is not empty");
  }
  return Status::Ok();
}

// The length of the bbolt part of the file: all of it, or all but the
// SHA-256 trailer (etcd's restore: a size of 32 modulo 512 means the digest
// is there). Errors: InvalidArgument for a file without a digest unless
// `skip`; NotFound; IOError.
Result<uint64_t> BboltBytes(const std::string& path, bool skip, bool* has_digest) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) {
      return Status::NotFound("snapshot file " + path + " does not exist");
    }
    return Status::IOError("stat " + path, ec.value());
  }
  *has_digest = size % 512 == kSha256Size;
  if (*has_digest) return size - kSha256Size;
  if (!skip) return Status::InvalidArgument("snapshot missing hash but --skip-hash-check=false");
  return size;
}

// A record of bucket `bucket` that does not decode.
Status BadRecord(const std::string& path, std::string_view bucket, std::string_view key,
                 const Status& why) {
  return Status::Corruption(
      "bucket " + std::string(bucket) + " key " + GoQuote(key) + ": " + why.message(), path);
}

}  // namespace

namespace {

// What the buckets other than `key` tell the restore.
struct SnapshotFacts {
  mvcc::ImportMeta meta;  // compaction marks only
  int64_t last_revision = 0;
  uint64_t leases = 0;
  std::vector<std::string> learners;  // names of the snapshot's learners
  bool auth_enabled = false;
};

// Calls fn for each record of `bucket`; a bucket the file lacks is empty.
Status EachRecord(const snap::BboltReader& db, std::string_view bucket,
                  const snap::BboltReader::KeyValueFn& fn) {
  Status s = db.ForEach(bucket, fn);
  return s.code() == Code::kNotFound ? Status::Ok() : s;
}

Status ImportKeys(const snap::BboltReader& db, const std::string& path, mvcc::Importer* im,
                  SnapshotFacts* facts) {
  Status s = db.ForEach(schema::kKeyBucket, [&](std::string_view k, std::string_view v) {
    Status put = im->PutRevision(k, v);
    if (!put.ok()) return BadRecord(path, schema::kKeyBucket, k, put);
    mvcc::Revision rev;
    bool tombstone = false;
    mvcc::DecodeRevKey(k, &rev, &tombstone);
    facts->last_revision = rev.main;
    return Status::Ok();
  });
  if (s.code() == Code::kNotFound) {
    return Status::Corruption("not an etcd snapshot: it has no \"key\" bucket", path);
  }
  return s;
}

Status ReadMeta(const snap::BboltReader& db, const std::string& path, SnapshotFacts* facts) {
  return EachRecord(db, schema::kMetaBucket, [&](std::string_view k, std::string_view v) {
    int64_t* mark = k == schema::kFinishedCompactKey    ? &facts->meta.finished_compact_revision
                    : k == schema::kScheduledCompactKey ? &facts->meta.scheduled_compact_revision
                                                        : nullptr;
    if (mark == nullptr) return Status::Ok();
    auto rev = schema::DecodeCompactRevision(v);
    if (!rev.ok()) return BadRecord(path, schema::kMetaBucket, k, rev.status());
    *mark = *rev;
    return Status::Ok();
  });
}

Status ImportLeases(const snap::BboltReader& db, const std::string& path, mvcc::Importer* im,
                    SnapshotFacts* facts) {
  return EachRecord(db, schema::kLeaseBucket, [&](std::string_view k, std::string_view v) {
    auto lease = schema::DecodeLease(v);
    if (!lease.ok()) return BadRecord(path, schema::kLeaseBucket, k, lease.status());
    ++facts->leases;
    return im->PutServerMeta(server::Leases::RecordKey(lease->id()), lease->SerializeAsString());
  });
}

Status ReadMembers(const snap::BboltReader& db, const std::string& path, SnapshotFacts* facts) {
  RETURN_IF_ERROR(
      EachRecord(db, schema::kMembersBucket, [&](std::string_view k, std::string_view v) {
        auto m = schema::DecodeMember(v);
        if (!m.ok()) return BadRecord(path, schema::kMembersBucket, k, m.status());
        if (m->is_learner()) facts->learners.push_back(m->name());
        return Status::Ok();
      }));
  return Status::Ok();
}

// The auth buckets become the auth store's records (auth/store.h), whose
// values are etcd's: users, roles, whether auth is on, its revision.
Status ImportAuth(const snap::BboltReader& db, const std::string& path, mvcc::Importer* im,
                  SnapshotFacts* facts) {
  RETURN_IF_ERROR(EachRecord(db, schema::kAuthBucket, [&](std::string_view k, std::string_view v) {
    if (k == schema::kAuthEnabledKey) {
      facts->auth_enabled = schema::DecodeAuthEnabled(v);
      return im->PutServerMeta(auth::kAuthEnabledMetaKey, v);
    }
    if (k == schema::kAuthRevisionKey) {
      if (v.size() != 8)
        return BadRecord(path, schema::kAuthBucket, k, Status::InvalidArgument("not 8 bytes"));
      return im->PutServerMeta(auth::kAuthRevisionMetaKey, v);
    }
    return Status::Ok();
  }));
  RETURN_IF_ERROR(
      EachRecord(db, schema::kAuthUsersBucket, [&](std::string_view k, std::string_view v) {
        authpb::User u;
        if (!u.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
          return BadRecord(path, schema::kAuthUsersBucket, k,
                           Status::InvalidArgument("undecodable authpb.User"));
        }
        return im->PutServerMeta(std::string(auth::kAuthUsersMetaPrefix) + std::string(k), v);
      }));
  return EachRecord(db, schema::kAuthRolesBucket, [&](std::string_view k, std::string_view v) {
    authpb::Role r;
    if (!r.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      return BadRecord(path, schema::kAuthRolesBucket, k,
                       Status::InvalidArgument("undecodable authpb.Role"));
    }
    return im->PutServerMeta(std::string(auth::kAuthRolesMetaPrefix) + std::string(k), v);
  });
}

// The `alarm` bucket becomes the alarm records (server/alarms.h): etcd's
// restore keeps the bucket, so a restored member starts with the alarms
// the snapshot had, raised by the old members' ids, until disarmed.
Status ImportAlarms(const snap::BboltReader& db, const std::string& path, mvcc::Importer* im) {
  return EachRecord(db, schema::kAlarmBucket, [&](std::string_view k, std::string_view) {
    etcdserverpb::AlarmMember m;
    if (!m.ParseFromArray(k.data(), static_cast<int>(k.size()))) {
      return BadRecord(path, schema::kAlarmBucket, k,
                       Status::InvalidArgument("undecodable etcdserverpb.AlarmMember"));
    }
    return im->PutServerMeta(server::AlarmMetaKey(m.memberid(), m.alarm()), m.SerializeAsString());
  });
}

// The new cluster's members (learners of the snapshot stay learners) and
// its Raft configuration. Errors: InvalidArgument if no member would vote.
Status NewMembership(const RestoreOptions& o, const SnapshotFacts& facts, RestoreResult* r,
                     raftpb::ConfState* cs) {
  r->members =
      server::InitialClusterMembers(o.initial_cluster, o.initial_cluster_token, &r->cluster_id);
  for (auto& m : *r->members.mutable_members()) {
    const bool learner =
        std::find(facts.learners.begin(), facts.learners.end(), m.name()) != facts.learners.end();
    m.set_is_learner(learner);
    if (learner) {
      cs->add_learners(m.id());
    } else {
      cs->add_voters(m.id());
    }
    if (m.name() == o.name) r->member_id = m.id();
  }
  if (cs->voters_size() == 0) {
    return Status::InvalidArgument(
        "every member of --initial-cluster was a learner in the snapshot");
  }
  return Status::Ok();
}

}  // namespace

namespace {

// The directories a restore builds under temporary names, removed unless
// committed, so that a failure leaves nothing at the targets.
class Staging {
 public:
  Staging(const std::string& data_dir, const std::string& separate_wal_dir)
      : data_dir_(data_dir), wal_dir_(separate_wal_dir) {}
  ~Staging() {
    if (committed_) return;
    std::error_code ec;
    fs::remove_all(TmpData(), ec);
    if (!wal_dir_.empty()) fs::remove_all(TmpWal(), ec);
    if (wal_renamed_) fs::remove_all(wal_dir_, ec);
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  std::string TmpData() const { return data_dir_ + ".restore-tmp"; }
  std::string TmpWal() const {
    return wal_dir_.empty() ? TmpData() + "/member/wal" : wal_dir_ + ".restore-tmp";
  }
  std::string TmpBackend() const { return TmpData() + "/member/db"; }

  // Removes what a killed restore left, and creates the data dir.
  Status Prepare() {
    std::error_code ec;
    fs::remove_all(TmpData(), ec);
    if (!wal_dir_.empty()) fs::remove_all(TmpWal(), ec);
    RETURN_IF_ERROR(CreateDirs(TmpData() + "/member"));
    ::chmod(TmpData().c_str(), 0700);
    return Status::Ok();
  }

  // Renames the directories into place and makes the renames durable.
  Status Commit() {
    if (!wal_dir_.empty()) {
      RETURN_IF_ERROR(Rename(TmpWal(), wal_dir_));
      wal_renamed_ = true;
    }
    RETURN_IF_ERROR(Rename(TmpData(), data_dir_));
    committed_ = true;
    return Status::Ok();
  }

 private:
  static Status Rename(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return Status::IOError("rename " + from + " to " + to, errno);
    }
    return SyncDir(DirName(to));
  }

  std::string data_dir_;
  std::string wal_dir_;  // empty: the WAL lives in the data dir
  bool wal_renamed_ = false;
  bool committed_ = false;
};

// Fills the backend in `dir` from the snapshot's buckets, with the new
// membership, then opens it once (every record checked, a scheduled
// compaction run). Sets r's revisions, leases and revision fields.
Status BuildBackend(const RestoreOptions& o, const snap::BboltReader& db, uint64_t db_bytes,
                    const std::string& dir, RestoreResult* r) {
  mvcc::Options opts;
  opts.map_size_bytes = std::max<uint64_t>(opts.map_size_bytes, 2 * db_bytes);
  ASSIGN_OR_RETURN(auto im, mvcc::Importer::Create(dir, opts));
  SnapshotFacts facts;
  RETURN_IF_ERROR(ImportKeys(db, o.snapshot_path, im.get(), &facts));
  RETURN_IF_ERROR(ReadMeta(db, o.snapshot_path, &facts));
  RETURN_IF_ERROR(ImportLeases(db, o.snapshot_path, im.get(), &facts));
  RETURN_IF_ERROR(ReadMembers(db, o.snapshot_path, &facts));
  RETURN_IF_ERROR(ImportAuth(db, o.snapshot_path, im.get(), &facts));
  RETURN_IF_ERROR(ImportAlarms(db, o.snapshot_path, im.get()));
  raftpb::ConfState cs;
  RETURN_IF_ERROR(NewMembership(o, facts, r, &cs));
  RETURN_IF_ERROR(im->PutServerMeta(server::kMembersMetaKey, r->members.SerializeAsString()));
  RETURN_IF_ERROR(im->PutServerMeta(server::kConfStateMetaKey, cs.SerializeAsString()));
  mvcc::ImportMeta meta = facts.meta;
  meta.consistent_index = r->members.members_size();
  meta.term = kStartTerm;
  if (o.mark_compacted) {
    // etcdutl: the last revision, raised by the bump, becomes a scheduled
    // compaction (run by the Open below).
    meta.scheduled_compact_revision =
        std::max(facts.last_revision, meta.finished_compact_revision) +
        static_cast<int64_t>(o.bump_revision);
  }
  RETURN_IF_ERROR(im->Finish(meta));
  r->revisions = im->revisions();
  r->leases = facts.leases;
  r->auth_enabled = facts.auth_enabled;
  im.reset();
  ASSIGN_OR_RETURN(auto store, mvcc::Store::Open(dir, opts));
  r->revision = store->CurrentRevision();
  r->compact_revision = std::max<int64_t>(store->CompactRevision(), 0);
  return Status::Ok();
}

// A WAL whose log starts at the backend: metadata (member and cluster id),
// the HardState and a snapshot marker at the backend's consistent index.
Status WriteWal(const std::string& dir, const RestoreResult& r, Logger& logger) {
  serverpb::WalMetadata md;
  md.set_member_id(r.member_id);
  md.set_cluster_id(r.cluster_id);
  ASSIGN_OR_RETURN(auto wal, wal::Wal::Create(dir, md.SerializeAsString(), logger));
  const uint64_t index = r.members.members_size();
  raftpb::HardState hs;
  hs.set_term(kStartTerm);
  hs.set_commit(index);
  RETURN_IF_ERROR(wal->Save(hs, {}));
  return wal->SaveSnapshot({index, kStartTerm});
}

}  // namespace

Status ParseRestoreUrls(std::string_view initial_cluster, std::string_view advertise_peer_urls,
                        RestoreOptions* opts) {
  ASSIGN_OR_RETURN(opts->initial_cluster, ParseInitialCluster(initial_cluster));
  ASSIGN_OR_RETURN(opts->initial_advertise_peer_urls, ParseUrls(advertise_peer_urls));
  return Status::Ok();
}

Result<RestoreResult> RestoreEtcdSnapshot(const RestoreOptions& o, Logger& logger) {
  RETURN_IF_ERROR(CheckOptions(o));
  RestoreResult r;
  r.data_dir = o.data_dir.empty() ? o.name + ".etcd" : o.data_dir;
  r.wal_dir = o.wal_dir.empty() ? r.data_dir + "/member/wal" : o.wal_dir;
  RETURN_IF_ERROR(CheckTarget("data-dir", r.data_dir));
  if (!o.wal_dir.empty()) RETURN_IF_ERROR(CheckTarget("wal-dir", r.wal_dir));
  bool has_digest = false;
  ASSIGN_OR_RETURN(const uint64_t db_bytes,
                   BboltBytes(o.snapshot_path, o.skip_hash_check, &has_digest));
  ASSIGN_OR_RETURN(auto db, snap::BboltReader::Open(o.snapshot_path, db_bytes));
  Staging staging(r.data_dir, o.wal_dir);
  RETURN_IF_ERROR(staging.Prepare());
  // The digest is checked on the other core while the backend is built in
  // the staging directory, which a mismatch throws away.
  std::future<Status> digest;
  if (has_digest && !o.skip_hash_check) {
    digest = std::async(std::launch::async,
                        [&o] { return CheckSnapshotDigest(o.snapshot_path).status(); });
  }
  Status built = BuildBackend(o, db, db_bytes, staging.TmpBackend(), &r);
  if (digest.valid()) RETURN_IF_ERROR(digest.get());
  RETURN_IF_ERROR(built);
  RETURN_IF_ERROR(WriteWal(staging.TmpWal(), r, logger));
  RETURN_IF_ERROR(staging.Commit());
  return r;
}

Result<RestoreResult> RestoreBackup(const std::string& path,
                                    const std::optional<EncryptionKey>& key, RestoreOptions opts,
                                    Logger& logger) {
  const std::string data_dir = opts.data_dir.empty() ? opts.name + ".etcd" : opts.data_dir;
  RETURN_IF_ERROR(CheckOptions(opts));
  RETURN_IF_ERROR(CheckTarget("data-dir", data_dir));
  ASSIGN_OR_RETURN(auto opened, OpenBackup(Env::Default(), path, key, DirName(data_dir)));
  opts.snapshot_path = opened.snapshot_path;
  return RestoreEtcdSnapshot(opts, logger);
}

}  // namespace etcdd::backup
