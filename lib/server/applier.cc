#include "server/applier.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>

#include "base/go_text.h"
#include "server/ids.h"
#include "server/membership.h"
#include "serverpb/internal.pb.h"

namespace etcdd::server {

namespace {

// etcd's quota kvOverhead and leaseOverhead, bytes.
constexpr uint64_t kPutOverheadBytes = 256;
constexpr uint64_t kLeaseOverheadBytes = 64;

uint64_t PutCost(const etcdserverpb::PutRequest& put) {
  return put.key().size() + put.value().size() + kPutOverheadBytes;
}

// etcd's costTxn: nested txns are not charged.
uint64_t TxnCost(const etcdserverpb::TxnRequest& txn) {
  uint64_t branch[2] = {0, 0};
  int i = 0;
  for (const auto* ops : {&txn.success(), &txn.failure()}) {
    for (const auto& op : *ops) {
      if (op.has_request_put()) branch[i] += PutCost(op.request_put());
    }
    ++i;
  }
  return std::max(branch[0], branch[1]);
}

}  // namespace

uint64_t QuotaCost(const serverpb::InternalRequest& req) {
  if (req.has_put()) return PutCost(req.put());
  if (req.has_txn()) return TxnCost(req.txn());
  if (req.has_lease_grant()) return kLeaseOverheadBytes;
  return 0;
}

Applier::Applier(mvcc::Store& store, Leases& leases, auth::AuthStore& auth, AlarmStore& alarms,
                 uint64_t quota_bytes, raftpb::ConfState conf_state, serverpb::Members members,
                 int max_learners, WaitRegistry<ApplyResult>& waiters, Hooks hooks, Logger& logger)
    : store_(store),
      leases_(leases),
      auth_(auth),
      alarms_(alarms),
      quota_bytes_(quota_bytes),
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
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "etcdd-apply");
    Run();
  });
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
  if (s.ok()) s = auth_.Reload(store_);
  if (s.ok()) s = alarms_.Reload(store_);
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
  size_t tracked = 0;     // events of `txn` the lessor has seen
  bool no_space = false;  // a request hit ErrNoSpace with no NOSPACE alarm active
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
    if (auto* s = std::get_if<Status>(&r); s != nullptr && IsNoSpace(*s)) {
      no_space = no_space || !alarms_.Active(etcdserverpb::NOSPACE);
    }
    if (id != 0) results.emplace_back(id, std::move(r));
  }
  if (last == nullptr) return true;
  txn.SetConsistentIndex(last->index(), last->term());
  if (Status s = txn.Commit(); !s.ok()) {
    Fail("failed to commit tx", s);
    return false;
  }
  Publish(txn, prev_kv, last->index(), members_changed, std::move(results));
  if (no_space && hooks_.no_space) hooks_.no_space();
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
  if (Status s = CheckAlarms(req); !s.ok()) return s;
  if (req.has_auth()) {
    const auth::AuthInfo who{req.auth().username(), req.auth().revision()};
    if (Status s = CheckPermission(who, req); !s.ok()) return s;
  }
  // etcd's quotaApplierV3: a request past the quota is applied (every
  // member applies the same log) but answered ErrNoSpace.
  const uint64_t cost = QuotaCost(req);
  const bool fits = cost == 0 || store_.DbSizeBytes() + cost < quota_bytes_;
  ApplyResult r = ApplyRequest(txn, req, e.index());
  if (!fits && !std::holds_alternative<Status>(r)) return ErrNoSpace();
  return r;
}

ApplyResult Applier::ApplyRequest(mvcc::Store::WriteTxn& txn, const serverpb::InternalRequest& req,
                                  uint64_t index) {
  auto unwrap = [](auto r) -> ApplyResult {
    if (!r.ok()) return r.status();
    return std::move(r).value();
  };
  switch (req.request_case()) {
    case serverpb::InternalRequest::kAlarm:
      return ApplyAlarm(txn, req.alarm());
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
    default:
      return ApplyAuth(txn, req, index);
  }
  return Status::Internal("empty request");
}

Status Applier::CheckAlarms(const serverpb::InternalRequest& req) const {
  using R = serverpb::InternalRequest;
  const auto c = req.request_case();
  if (alarms_.Active(etcdserverpb::CORRUPT) &&
      (c == R::kPut || c == R::kDeleteRange || c == R::kTxn || c == R::kCompaction ||
       c == R::kLeaseGrant || c == R::kLeaseRevoke)) {
    return ErrCorrupt();
  }
  if (alarms_.Active(etcdserverpb::NOSPACE) &&
      (c == R::kPut || c == R::kLeaseGrant || (c == R::kTxn && QuotaCost(req) > 0))) {
    return ErrNoSpace();
  }
  return Status::Ok();
}

ApplyResult Applier::ApplyAlarm(mvcc::Store::WriteTxn& txn, const etcdserverpb::AlarmRequest& req) {
  etcdserverpb::AlarmResponse resp;
  const auto name = [](etcdserverpb::AlarmType t) { return etcdserverpb::AlarmType_Name(t); };
  switch (req.action()) {
    case etcdserverpb::AlarmRequest::GET:
      for (auto& m : alarms_.Get(req.alarm())) *resp.add_alarms() = std::move(m);
      break;
    case etcdserverpb::AlarmRequest::ACTIVATE: {
      bool first = false;
      auto m = alarms_.Activate(txn, req.memberid(), req.alarm(), &first);
      if (!m.ok()) return m.status();
      *resp.add_alarms() = *m;
      if (first) {
        logger_.Warn("alarm raised",
                     {{"alarm", name(req.alarm())}, {"from", IdToHex(req.memberid())}});
      }
      break;
    }
    case etcdserverpb::AlarmRequest::DEACTIVATE: {
      bool last = false;
      auto m = alarms_.Deactivate(txn, req.memberid(), req.alarm(), &last);
      if (!m.ok()) return m.status();
      if (!m->has_value()) break;
      *resp.add_alarms() = **m;
      if (last) {
        logger_.Warn("alarm disarmed",
                     {{"alarm", name(req.alarm())}, {"from", IdToHex(req.memberid())}});
      }
      break;
    }
    default:
      break;
  }
  return resp;
}

Status Applier::CheckPermission(const auth::AuthInfo& who,
                                const serverpb::InternalRequest& req) const {
  // etcd's checkLeasePuts: whoever attaches to or revokes a lease must be
  // able to write every key already attached to it.
  auto lease_keys_writable = [&](int64_t id) {
    auto info = leases_.Lookup(id);
    if (!info.ok()) return Status::Ok();
    for (const auto& key : info->keys) RETURN_IF_ERROR(auth_.CheckPut(who, key));
    return Status::Ok();
  };
  switch (req.request_case()) {
    case serverpb::InternalRequest::kPut: {
      const auto& put = req.put();
      RETURN_IF_ERROR(auth_.CheckPut(who, put.key()));
      if (put.lease() != 0) RETURN_IF_ERROR(lease_keys_writable(put.lease()));
      if (put.prev_kv()) RETURN_IF_ERROR(auth_.CheckRange(who, put.key(), ""));
      return Status::Ok();
    }
    case serverpb::InternalRequest::kDeleteRange: {
      const auto& del = req.delete_range();
      RETURN_IF_ERROR(auth_.CheckDeleteRange(who, del.key(), del.range_end()));
      if (del.prev_kv()) RETURN_IF_ERROR(auth_.CheckRange(who, del.key(), del.range_end()));
      return Status::Ok();
    }
    case serverpb::InternalRequest::kTxn:
      return auth_.CheckTxn(who, req.txn());
    case serverpb::InternalRequest::kLeaseRevoke:
      return lease_keys_writable(req.lease_revoke().id());
    default:
      return Status::Ok();  // Auth requests check in ApplyAuth
  }
}

ApplyResult Applier::ApplyAuth(mvcc::Store::WriteTxn& txn, const serverpb::InternalRequest& req,
                               uint64_t index) {
  const auth::AuthInfo who{req.auth().username(), req.auth().revision()};
  auto boxed = [](auto r) -> ApplyResult {
    if (!r.ok()) return r.status();
    using Response = std::decay_t<decltype(*r)>;
    return AuthResponse(std::make_shared<Response>(std::move(r).value()));
  };
  using R = serverpb::InternalRequest;
  switch (req.request_case()) {
    case R::kAuthEnable:
      return boxed(auth_.ApplyEnable(txn, who));
    case R::kAuthDisable:
      return boxed(auth_.ApplyDisable(txn, who));
    case R::kAuthenticate:
      return boxed(auth_.ApplyAuthenticate(req.authenticate().name(),
                                           req.authenticate().simple_token(), index));
    case R::kUserAdd:
      return boxed(auth_.ApplyUserAdd(txn, who, req.user_add()));
    case R::kUserDelete:
      return boxed(auth_.ApplyUserDelete(txn, who, req.user_delete()));
    case R::kUserChangePassword:
      return boxed(auth_.ApplyUserChangePassword(txn, who, req.user_change_password()));
    case R::kUserGrantRole:
      return boxed(auth_.ApplyUserGrantRole(txn, who, req.user_grant_role()));
    case R::kUserRevokeRole:
      return boxed(auth_.ApplyUserRevokeRole(txn, who, req.user_revoke_role()));
    case R::kUserGet:
      return boxed(auth_.ApplyUserGet(who, req.user_get()));
    case R::kUserList:
      return boxed(auth_.ApplyUserList(who));
    case R::kRoleAdd:
      return boxed(auth_.ApplyRoleAdd(txn, who, req.role_add()));
    case R::kRoleDelete:
      return boxed(auth_.ApplyRoleDelete(txn, who, req.role_delete()));
    case R::kRoleGrantPermission:
      return boxed(auth_.ApplyRoleGrantPermission(txn, who, req.role_grant_permission()));
    case R::kRoleRevokePermission:
      return boxed(auth_.ApplyRoleRevokePermission(txn, who, req.role_revoke_permission()));
    case R::kRoleGet:
      return boxed(auth_.ApplyRoleGet(who, req.role_get()));
    case R::kRoleList:
      return boxed(auth_.ApplyRoleList(who));
    default:
      return Status::Internal("unknown request");
  }
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
