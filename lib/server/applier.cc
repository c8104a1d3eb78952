#include "server/applier.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>

#include "base/go_text.h"
#include "server/ids.h"
#include "server/membership.h"
#include "serverpb/internal.pb.h"

namespace etcdd::server {

Applier::Applier(mvcc::Store& store, Leases& leases, raftpb::ConfState conf_state,
                 serverpb::Members members, int max_learners, WaitRegistry<ApplyResult>& waiters,
                 Hooks hooks, Logger& logger)
    : store_(store),
      leases_(leases),
      conf_state_(std::move(conf_state)),
      members_(std::move(members)),
      max_learners_(max_learners),
      waiters_(waiters),
      hooks_(std::move(hooks)),
      logger_(logger) {
  applied_ = store_.ConsistentIndex();
}

Applier::~Applier() { Stop(); }

void Applier::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Applier::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Applier::Enqueue(std::vector<raftpb::Entry> entries) {
  {
    std::lock_guard lock(mu_);
    if (queue_.empty()) {
      queue_ = std::move(entries);
    } else {
      queue_.insert(queue_.end(), std::make_move_iterator(entries.begin()),
                    std::make_move_iterator(entries.end()));
    }
  }
  cv_.notify_one();
}

void Applier::EnqueueSnapshot(raftpb::Snapshot snap) {
  {
    std::lock_guard lock(mu_);
    snapshot_ = std::move(snap);
  }
  cv_.notify_one();
}

void Applier::Fail(std::string_view what, const Status& cause) {
  if (hooks_.fatal) {
    hooks_.fatal(what, cause);
  } else {
    logger_.Log(LogLevel::kFatal, what, {{"error", cause.message()}});
  }
}

bool Applier::InstallSnapshot(const raftpb::Snapshot& snap) {
  const uint64_t index = snap.metadata().index();
  const std::string path = hooks_.snapshot_path(index);
  Status s = store_.RestoreFrom(path);
  if (s.ok()) s = store_.Sync();
  auto cs = s.ok() ? store_.GetMeta(kConfStateMetaKey) : Result<std::optional<std::string>>(s);
  auto ms = s.ok() ? store_.GetMeta(kMembersMetaKey) : Result<std::optional<std::string>>(s);
  serverpb::Members members;
  if (s.ok() && (!cs.ok() || !ms.ok() || !*cs || !*ms || !conf_state_.ParseFromString(**cs) ||
                 !members.ParseFromString(**ms))) {
    s = Status::Corruption("snapshot without a member list or conf state", path);
  }
  if (s.ok()) s = leases_.Recover(store_);
  if (s.ok() && store_.ConsistentIndex() != index) {
    s = Status::Corruption("snapshot data is at index " + std::to_string(store_.ConsistentIndex()) +
                               ", not " + std::to_string(index),
                           path);
  }
  if (!s.ok()) {
    // etcd: lg.Panic("failed to restore mvcc store", ...)
    Fail("failed to restore mvcc store", s);
    return false;
  }
  ::unlink(path.c_str());  // installed and synced: the backend holds it now
  {
    std::lock_guard lock(members_mu_);
    members_ = members;
  }
  {
    std::lock_guard lock(mu_);
    applied_ = index;
  }
  applied_cv_.notify_all();
  logger_.Info("restored the backend from the leader's snapshot",
               {{"snapshot-index", index}, {"revision", store_.CurrentRevision()}});
  if (hooks_.restored) hooks_.restored();
  if (hooks_.members_changed) hooks_.members_changed(members);
  return true;
}

bool Applier::WaitApplied(uint64_t index, std::chrono::steady_clock::time_point deadline) {
  if (applied_.load() >= index) return true;
  std::unique_lock lock(mu_);
  return applied_cv_.wait_until(lock, deadline, [&] { return applied_.load() >= index; });
}

void Applier::Run() {
  // How often proposers whose request timed out are answered.
  constexpr auto kExpiryInterval = std::chrono::milliseconds(100);
  auto next_expiry = std::chrono::steady_clock::now() + kExpiryInterval;
  for (;;) {
    std::vector<raftpb::Entry> batch;
    std::optional<raftpb::Snapshot> snap;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_expiry,
                     [&] { return stop_ || !queue_.empty() || snapshot_.has_value(); });
      if (stop_ && queue_.empty() && !snapshot_) return;  // everything queued is applied
      batch.swap(queue_);
      snap.swap(snapshot_);
    }
    // Entries queued before the snapshot are older than it, and are skipped
    // once it is installed; the ConfChanges among them are still reported.
    // After a fatal error nothing more is applied: the backend no longer
    // follows the log.
    if (snap && !InstallSnapshot(*snap)) return;
    if (!batch.empty() && !ApplyBatch(batch)) return;
    auto now = std::chrono::steady_clock::now();
    if (now >= next_expiry) {
      waiters_.Expire(now, Status::Unavailable("etcdserver: request timed out"));
      next_expiry = now + kExpiryInterval;
    }
  }
}

bool Applier::ApplyBatch(std::vector<raftpb::Entry>& batch) {
  // The applied state can no longer follow the log; etcd's backend logs
  // "failed to commit tx" fatally.
  auto txn_or = store_.BeginWrite();
  if (!txn_or.ok()) {
    Fail("failed to commit tx", txn_or.status());
    return false;
  }
  auto& txn = **txn_or;
  const bool prev_kv = hooks_.events_need_prev_kv && hooks_.events_need_prev_kv();
  txn.SetEventsPrevKv(prev_kv);
  uint64_t consistent = store_.ConsistentIndex();
  std::vector<std::pair<uint64_t, ApplyResult>> results;
  const raftpb::Entry* last = nullptr;
  bool members_changed = false;
  size_t tracked = 0;  // events of `txn` the lessor has seen
  for (const auto& e : batch) {
    raftpb::ConfChange cc;
    if (e.type() == raftpb::ENTRY_CONF_CHANGE && !cc.ParseFromString(e.data())) {
      Fail("failed to unmarshal conf change",
           Status::Corruption("undecodable conf change", "entry " + std::to_string(e.index())));
      return false;
    }
    if (e.index() <= consistent) {
      // Applied before a restart; Raft still needs it.
      if (e.type() == raftpb::ENTRY_CONF_CHANGE) hooks_.conf_change(cc);
      continue;
    }
    last = &e;
    if (e.type() == raftpb::ENTRY_CONF_CHANGE) {
      Status fatal;
      ApplyResult r = ApplyConfChange(txn, cc, &fatal);
      if (!fatal.ok()) {
        Fail("failed to save member to backend", fatal);
        return false;
      }
      members_changed = members_changed || !std::holds_alternative<Status>(r);
      if (cc.id() != 0) results.emplace_back(cc.id(), std::move(r));
      continue;
    }
    uint64_t id = 0;
    ApplyResult r = ApplyNormal(txn, e, &id);
    tracked = leases_.Track(txn, tracked);
    if (id != 0) results.emplace_back(id, std::move(r));
  }
  if (last == nullptr) return true;
  txn.SetConsistentIndex(last->index(), last->term());
  if (Status s = txn.Commit(); !s.ok()) {
    Fail("failed to commit tx", s);
    return false;
  }
  Publish(txn, prev_kv, last->index(), members_changed, std::move(results));
  return true;
}

void Applier::Publish(const mvcc::Store::WriteTxn& txn, bool prev_kv, uint64_t index,
                      bool members_changed, std::vector<std::pair<uint64_t, ApplyResult>> results) {
  // Watchers hear of the batch before its proposers are answered, so a
  // client that saw its write acknowledged and then watches from "now"
  // does not get that write again.
  if (hooks_.committed) hooks_.committed(txn.Events(), txn.Revision(), prev_kv);
  {
    std::lock_guard lock(mu_);
    applied_ = index;
  }
  applied_cv_.notify_all();
  if (members_changed && hooks_.members_changed) hooks_.members_changed(Members());
  for (auto& [id, r] : results) waiters_.Trigger(id, std::move(r));
  if (hooks_.applied) hooks_.applied(index);
}

ApplyResult Applier::ApplyNormal(mvcc::Store::WriteTxn& txn, const raftpb::Entry& e, uint64_t* id) {
  if (e.data().empty()) return Status::Ok();  // a new leader's empty entry
  serverpb::InternalRequest req;
  if (!req.ParseFromString(e.data())) {
    logger_.Error("skipping undecodable entry", {{"index", e.index()}});
    return Status::Internal("undecodable entry");
  }
  *id = req.id();
  auto unwrap = [](auto r) -> ApplyResult {
    if (!r.ok()) return r.status();
    return std::move(r).value();
  };
  switch (req.request_case()) {
    case serverpb::InternalRequest::kPut:
      return unwrap(txn.Put(req.put()));
    case serverpb::InternalRequest::kDeleteRange:
      return unwrap(txn.DeleteRange(req.delete_range()));
    case serverpb::InternalRequest::kTxn:
      return unwrap(txn.Txn(req.txn()));
    case serverpb::InternalRequest::kCompaction:
      return unwrap(txn.Compact(req.compaction()));
    case serverpb::InternalRequest::kPublish:
      return ApplyPublish(txn, req.publish());
    case serverpb::InternalRequest::kLeaseGrant:
      return unwrap(leases_.ApplyGrant(txn, req.lease_grant()));
    case serverpb::InternalRequest::kLeaseRevoke:
      return unwrap(leases_.ApplyRevoke(txn, req.lease_revoke()));
    case serverpb::InternalRequest::kLeaseCheckpoint:
      return unwrap(leases_.ApplyCheckpoint(txn, req.lease_checkpoint()));
    case serverpb::InternalRequest::REQUEST_NOT_SET:
      break;
  }
  return Status::Internal("empty request");
}

ApplyResult Applier::ApplyConfChange(mvcc::Store::WriteTxn& txn, const raftpb::ConfChange& cc,
                                     Status* fatal) {
  serverpb::ConfChangeContext ctx;
  Status valid = ctx.ParseFromString(cc.context())
                     ? ValidateConfChange(Members(), cc, ctx, max_learners_)
                     : Status::InvalidArgument("undecodable conf change context");
  if (!valid.ok()) {
    raftpb::ConfChange refused = cc;
    refused.set_node_id(0);
    hooks_.conf_change(refused);
    logger_.Warn("refused configuration change", {{"type", raftpb::ConfChangeType_Name(cc.type())},
                                                  {"member-id", IdToHex(cc.node_id())},
                                                  {"error", valid.message()}});
    return valid;
  }
  serverpb::Members updated = Members();
  ApplyToMembers(updated, cc, ctx);
  // The ConfState mirrors the member list: voters and learners.
  conf_state_.clear_voters();
  conf_state_.clear_learners();
  for (const auto& m : updated.members()) {
    (m.is_learner() ? conf_state_.mutable_learners() : conf_state_.mutable_voters())->Add(m.id());
  }
  Status s = txn.PutMeta(kConfStateMetaKey, conf_state_.SerializeAsString());
  if (s.ok()) s = txn.PutMeta(kMembersMetaKey, updated.SerializeAsString());
  if (!s.ok()) {
    *fatal = s;
    return s;
  }
  hooks_.conf_change(cc);
  logger_.Info("applied configuration change",
               {{"type", raftpb::ConfChangeType_Name(cc.type())},
                {"member-id", IdToHex(cc.node_id())},
                {"peer-urls", ctx.member().peer_urls_size() > 0 ? ctx.member().peer_urls(0) : ""}});
  std::lock_guard lock(members_mu_);
  members_ = updated;
  return updated;
}

serverpb::Members Applier::Members() const {
  std::lock_guard lock(members_mu_);
  return members_;
}

Status Applier::ApplyPublish(mvcc::Store::WriteTxn& txn, const serverpb::Member& attrs) {
  serverpb::Members updated = Members();
  for (auto& m : *updated.mutable_members()) {
    if (m.id() != attrs.id()) continue;
    m.set_name(attrs.name());
    *m.mutable_client_urls() = attrs.client_urls();
  }
  // A member removed meanwhile is simply not updated, as in etcd.
  RETURN_IF_ERROR(txn.PutMeta(kMembersMetaKey, updated.SerializeAsString()));
  std::lock_guard lock(members_mu_);
  members_ = std::move(updated);
  return Status::Ok();
}

}  // namespace etcdd::server
