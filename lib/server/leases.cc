#include "server/leases.h"

#include <cstdio>
#include <map>

#include "serverpb/internal.pb.h"

namespace etcdd::server {

namespace pb = etcdserverpb;

namespace {

lease::TimePoint Now() { return lease::Clock::now(); }

}  // namespace

Leases::Leases(lease::LessorOptions options) : lessor_(options) {}

std::string Leases::RecordKey(int64_t id) {
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(id));
  return kLeaseMetaPrefix + std::string(hex);
}

Status Leases::PutRecord(mvcc::Store::WriteTxn& txn, const lease::LeaseRecord& r) {
  serverpb::LeaseRecord rec;
  rec.set_id(r.id);
  rec.set_ttl(r.ttl);
  rec.set_remaining_ttl(r.remaining_ttl);
  return txn.PutMeta(RecordKey(r.id), rec.SerializeAsString());
}

Status Leases::Recover(const mvcc::Store& store) {
  ASSIGN_OR_RETURN(auto records, store.ListMeta(kLeaseMetaPrefix));
  std::map<int64_t, lease::RecoveredLease> leases;
  for (const auto& [key, value] : records) {
    serverpb::LeaseRecord rec;
    if (!rec.ParseFromString(value) || rec.id() == lease::kNoLease) {
      return Status::Corruption("undecodable lease record", key);
    }
    leases[rec.id()].record = {rec.id(), rec.ttl(), rec.remaining_ttl()};
  }
  // Every live key: the lease field says where it belongs.
  pb::RangeRequest all;
  all.set_key(std::string(1, '\0'));
  all.set_range_end(std::string(1, '\0'));
  all.set_keys_only(true);
  ASSIGN_OR_RETURN(pb::RangeResponse keys, store.Range(all));
  for (const auto& kv : keys.kvs()) {
    if (kv.lease() == lease::kNoLease) continue;
    auto it = leases.find(kv.lease());
    if (it == leases.end()) {
      return Status::Corruption(
          "key attached to lease " + std::to_string(kv.lease()) + " that has no record", kv.key());
    }
    it->second.keys.push_back(kv.key());
  }
  std::vector<lease::RecoveredLease> list;
  list.reserve(leases.size());
  for (auto& [id, l] : leases) list.push_back(std::move(l));
  std::lock_guard lock(mu_);
  return lessor_.Recover(list, Now());
}

bool Leases::Exists(int64_t id) const {
  std::lock_guard lock(mu_);
  return lessor_.Contains(id);
}

Result<pb::LeaseGrantResponse> Leases::ApplyGrant(mvcc::Store::WriteTxn& txn,
                                                  const pb::LeaseGrantRequest& req) {
  lease::LeaseRecord rec;
  {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(rec, lessor_.Grant(req.id(), req.ttl(), Now()));
  }
  Status s = PutRecord(txn, rec);
  if (!s.ok()) {
    std::lock_guard lock(mu_);
    (void)lessor_.Revoke(rec.id);  // the grant did not happen
    return s;
  }
  pb::LeaseGrantResponse resp;
  resp.set_id(rec.id);
  resp.set_ttl(rec.ttl);
  return resp;
}

Result<pb::LeaseRevokeResponse> Leases::ApplyRevoke(mvcc::Store::WriteTxn& txn,
                                                    const pb::LeaseRevokeRequest& req) {
  std::vector<std::string> keys;
  {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(lease::LeaseInfo info, lessor_.Lookup(req.id(), Now()));
    keys = std::move(info.keys);
  }
  // One revision for all the keys, as etcd's Revoke deletes them in one
  // write transaction.
  if (!keys.empty()) {
    pb::TxnRequest deletes;
    for (auto& k : keys) deletes.add_success()->mutable_request_delete_range()->set_key(k);
    RETURN_IF_ERROR(txn.Txn(deletes).status());
  }
  RETURN_IF_ERROR(txn.DeleteMeta(RecordKey(req.id())));
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(lessor_.Revoke(req.id()).status());
  return pb::LeaseRevokeResponse();
}

Result<pb::LeaseCheckpointResponse> Leases::ApplyCheckpoint(mvcc::Store::WriteTxn& txn,
                                                            const pb::LeaseCheckpointRequest& req) {
  for (const auto& cp : req.checkpoints()) {
    std::optional<lease::LeaseRecord> rec;
    {
      std::lock_guard lock(mu_);
      rec = lessor_.ApplyCheckpoint(cp.id(), cp.remaining_ttl(), Now());
    }
    if (rec) RETURN_IF_ERROR(PutRecord(txn, *rec));
  }
  return pb::LeaseCheckpointResponse();
}

size_t Leases::Track(const mvcc::Store::WriteTxn& txn, size_t from) {
  const auto& events = txn.Events();
  std::lock_guard lock(mu_);
  for (size_t i = from; i < events.size(); ++i) {
    const mvccpb::KeyValue& kv = events[i].kv();
    const int64_t old = lessor_.LeaseOf(kv.key());
    const int64_t now = events[i].type() == mvccpb::Event::PUT ? kv.lease() : lease::kNoLease;
    if (old == now) continue;
    if (now != lease::kNoLease) {
      // Moves the key from `old`. A put names only a live lease (the store
      // checks lease_exists), so this cannot fail.
      (void)lessor_.Attach(now, kv.key());
    } else {
      (void)lessor_.Detach(old, kv.key());
    }
  }
  return events.size();
}

Result<lease::RenewResult> Leases::Renew(int64_t id) {
  std::lock_guard lock(mu_);
  return lessor_.Renew(id, Now());
}

Result<lease::LeaseInfo> Leases::Lookup(int64_t id) const {
  std::lock_guard lock(mu_);
  return lessor_.Lookup(id, Now());
}

std::vector<lease::LeaseRecord> Leases::List() const {
  std::lock_guard lock(mu_);
  return lessor_.Leases();
}

std::vector<int64_t> Leases::IdsByExpiry() const {
  std::lock_guard lock(mu_);
  return lessor_.IdsByExpiry();
}

void Leases::Promote(std::chrono::milliseconds extend) {
  std::lock_guard lock(mu_);
  lessor_.Promote(extend, Now());
}

void Leases::Demote() {
  std::lock_guard lock(mu_);
  lessor_.Demote();
}

bool Leases::IsPrimary() const {
  std::lock_guard lock(mu_);
  return lessor_.is_primary();
}

std::vector<int64_t> Leases::Expired(size_t limit) {
  std::lock_guard lock(mu_);
  return lessor_.ExpiredLeases(Now(), limit);
}

std::vector<lease::LeaseCheckpoint> Leases::DueCheckpoints() {
  std::lock_guard lock(mu_);
  return lessor_.Checkpoints(Now());
}

}  // namespace etcdd::server
