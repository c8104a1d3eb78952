#include "server/api/recipes.h"

#include <future>

#include "base/key_range.h"
#include "mvcc/errors.h"
#include "recipes/requests.h"

namespace etcdd::server {

namespace pb = etcdserverpb;
namespace epb = v3electionpb;

namespace {

// etcd's session TTL when a Lock or Campaign names no lease (concurrency's
// defaultSessionTTL): the session grants one.
constexpr int64_t kDefaultSessionTtlSeconds = 60;

Status NotLeader() { return Status(Code::kUnknown, recipes::kErrElectionNotLeader); }
Status MissingLeaderKey() { return Status(Code::kUnknown, "\"leader\" field must be provided"); }

pb::RangeRequest Get(const std::string& key) {
  pb::RangeRequest r;
  r.set_key(key);
  return r;
}

// Runs an asynchronous EtcdServer request and waits for its answer.
template <typename Response, typename Start>
Result<Response> Await(Start start) {
  std::promise<Result<Response>> p;
  auto f = p.get_future();
  start(EtcdServer::Done<Response>([&p](Result<Response> r) { p.set_value(std::move(r)); }));
  return f.get();
}

}  // namespace

void CancelToken::Cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
}

bool CancelToken::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void CancelToken::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool CancelToken::WaitForWake() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return cancelled_ || woken_; });
  woken_ = false;
  return !cancelled_;
}

Result<pb::TxnResponse> Recipes::Txn(const pb::TxnRequest& req) {
  return Await<pb::TxnResponse>([&](auto done) { server_.Txn(req, std::move(done), who_); });
}

Result<pb::RangeResponse> Recipes::Range(const pb::RangeRequest& req) { return server_.Range(req, who_); }

Result<pb::DeleteRangeResponse> Recipes::Delete(const std::string& key) {
  pb::DeleteRangeRequest req;
  req.set_key(key);
  return Await<pb::DeleteRangeResponse>(
      [&](auto done) { server_.DeleteRange(req, std::move(done), who_); });
}

Status Recipes::WatchUntil(
    const std::string& key, const std::string& range_end, int64_t revision, CancelToken& cancel,
    const std::function<bool(const mvccpb::Event&, int64_t revision)>& on_event) {
  std::shared_ptr<watch::WatchStream> stream = hub_.NewStream([&cancel] { cancel.Wake(); });
  struct Closer {
    watch::WatchStream& s;
    ~Closer() { s.Close(); }
  } closer{*stream};
  pb::WatchCreateRequest create;
  create.set_key(key);
  create.set_range_end(range_end);
  create.set_start_revision(revision);
  stream->Create(create);
  for (;;) {
    watch::WatchMessage m;
    while (stream->Pop(&m)) {
      if (m.canceled) {
        if (m.compact_revision != 0) return mvcc::ErrCompacted();
        return Status(Code::kUnknown, "lost watcher: " + m.cancel_reason);
      }
      for (const auto& ev : m.events) {
        mvccpb::Event e;
        // Without the prev_kv another watcher may have asked for.
        if (!e.ParseFromArray(ev->bytes.data(), static_cast<int>(ev->size_without_prev_kv))) {
          return Status::Internal("undecodable watch event");
        }
        if (on_event(e, m.revision)) return Status::Ok();
      }
    }
    if (!cancel.WaitForWake()) return Status(Code::kCancelled, "context canceled");
  }
}

Result<int64_t> Recipes::SessionLease(int64_t lease) {
  if (lease != 0) return lease;
  pb::LeaseGrantRequest grant;
  grant.set_ttl(kDefaultSessionTtlSeconds);
  ASSIGN_OR_RETURN(auto granted, Await<pb::LeaseGrantResponse>([&](auto done) {
                     server_.LeaseGrant(grant, std::move(done), who_);
                   }));
  return granted.id();
}

Result<pb::ResponseHeader> Recipes::WaitDeletes(const std::string& prefix, int64_t max_create_rev,
                                                CancelToken& cancel) {
  const pb::RangeRequest last = recipes::LastCreatedUpTo(prefix, max_create_rev);
  for (;;) {
    ASSIGN_OR_RETURN(pb::RangeResponse resp, Range(last));
    if (resp.kvs_size() == 0) return resp.header();
    RETURN_IF_ERROR(WatchUntil(
        resp.kvs(0).key(), "", resp.header().revision(), cancel,
        [](const mvccpb::Event& e, int64_t) { return e.type() == mvccpb::Event::DELETE; }));
  }
}

Result<v3lockpb::LockResponse> Recipes::Lock(const v3lockpb::LockRequest& req,
                                             CancelToken& cancel) {
  ASSIGN_OR_RETURN(const int64_t lease, SessionLease(req.lease()));
  const std::string prefix = req.name() + "/";
  const std::string key = recipes::SessionKey(prefix, lease);
  const pb::TxnRequest t = recipes::LockTxn(prefix, key, lease);
  ASSIGN_OR_RETURN(pb::TxnResponse resp, Txn(t));
  int64_t my_rev = resp.header().revision();
  if (!resp.succeeded()) my_rev = resp.responses(0).response_range().kvs(0).create_revision();
  v3lockpb::LockResponse out;
  out.set_key(key);
  const auto& owner = resp.responses(1).response_range().kvs();
  if (owner.empty() || owner[0].create_revision() == my_rev) {
    *out.mutable_header() = resp.header();
    return out;
  }
  Result<pb::ResponseHeader> waited = WaitDeletes(prefix, my_rev - 1, cancel);
  // Our key may have gone with its lease while we waited (Jepsen's finding):
  // holding the lock then would overlap the next owner.
  Result<pb::RangeResponse> mine =
      waited.ok() ? Range(Get(key)) : Result<pb::RangeResponse>(waited.status());
  if (!mine.ok()) {
    (void)Delete(key);
    return mine.status();
  }
  if (mine->kvs_size() == 0) return Status(Code::kUnknown, recipes::kErrSessionExpired);
  *out.mutable_header() = mine->header();
  return out;
}

Result<v3lockpb::UnlockResponse> Recipes::Unlock(const v3lockpb::UnlockRequest& req) {
  ASSIGN_OR_RETURN(pb::DeleteRangeResponse resp, Delete(req.key()));
  v3lockpb::UnlockResponse out;
  *out.mutable_header() = resp.header();
  return out;
}

Result<epb::CampaignResponse> Recipes::Campaign(const epb::CampaignRequest& req,
                                                CancelToken& cancel) {
  ASSIGN_OR_RETURN(const int64_t lease, SessionLease(req.lease()));
  const std::string prefix = req.name() + "/";
  epb::CampaignResponse out;
  epb::LeaderKey* leader = out.mutable_leader();
  leader->set_name(req.name());
  leader->set_key(recipes::SessionKey(prefix, lease));
  leader->set_lease(lease);
  ASSIGN_OR_RETURN(pb::TxnResponse resp,
                   Txn(recipes::CampaignTxn(leader->key(), req.value(), lease)));
  leader->set_rev(resp.header().revision());
  auto resign = [&] {
    epb::ResignRequest r;
    *r.mutable_leader() = *leader;
    (void)Resign(r);
  };
  if (!resp.succeeded()) {
    const mvccpb::KeyValue& kv = resp.responses(0).response_range().kvs(0);
    leader->set_rev(kv.create_revision());
    if (kv.value() != req.value()) {
      epb::ProclaimRequest p;
      *p.mutable_leader() = *leader;
      p.set_value(req.value());
      if (auto proclaimed = Proclaim(p); !proclaimed.ok()) {
        resign();
        return proclaimed.status();
      }
    }
  }
  if (auto waited = WaitDeletes(prefix, leader->rev() - 1, cancel); !waited.ok()) {
    if (cancel.cancelled()) resign();
    return waited.status();
  }
  *out.mutable_header() = resp.header();
  return out;
}

Result<epb::ProclaimResponse> Recipes::Proclaim(const epb::ProclaimRequest& req) {
  if (!req.has_leader()) return MissingLeaderKey();
  const epb::LeaderKey& l = req.leader();
  ASSIGN_OR_RETURN(pb::TxnResponse resp,
                   Txn(recipes::ProclaimTxn(l.key(), l.rev(), req.value(), l.lease())));
  if (!resp.succeeded()) return NotLeader();
  epb::ProclaimResponse out;
  *out.mutable_header() = resp.header();
  return out;
}

Result<epb::LeaderResponse> Recipes::Leader(const epb::LeaderRequest& req) {
  ASSIGN_OR_RETURN(pb::RangeResponse resp, Range(recipes::FirstCreated(req.name() + "/")));
  if (resp.kvs_size() == 0) return Status(Code::kUnknown, recipes::kErrElectionNoLeader);
  epb::LeaderResponse out;
  *out.mutable_header() = resp.header();
  *out.mutable_kv() = resp.kvs(0);
  return out;
}

Status Recipes::Observe(const epb::LeaderRequest& req, CancelToken& cancel,
                        const std::function<bool(const epb::LeaderResponse&)>& send) {
  const std::string prefix = req.name() + "/";
  auto header_at = [&](int64_t revision) {
    pb::ResponseHeader h;
    server_.FillHeader(&h);
    h.set_revision(revision);
    return h;
  };
  for (;;) {
    ASSIGN_OR_RETURN(pb::RangeResponse first, Range(recipes::FirstCreated(prefix)));
    epb::LeaderResponse current;
    if (first.kvs_size() > 0) {
      *current.mutable_header() = first.header();
      *current.mutable_kv() = first.kvs(0);
    } else {
      // No leader: wait for the first put under the prefix (a delete would
      // make the loop spin, as etcd notes).
      RETURN_IF_ERROR(WatchUntil(prefix, PrefixRangeEnd(prefix), first.header().revision(), cancel,
                                 [&](const mvccpb::Event& e, int64_t) {
                                   if (e.type() != mvccpb::Event::PUT) return false;
                                   *current.mutable_header() = header_at(e.kv().mod_revision());
                                   *current.mutable_kv() = e.kv();
                                   return true;
                                 }));
    }
    if (!send(current)) return Status::Ok();
    // Follow this leader's key until it is deleted.
    bool closed = false;
    Status st = WatchUntil(current.kv().key(), "", current.header().revision() + 1, cancel,
                           [&](const mvccpb::Event& e, int64_t revision) {
                             if (e.type() == mvccpb::Event::DELETE) return true;
                             epb::LeaderResponse changed;
                             *changed.mutable_header() = header_at(revision);
                             *changed.mutable_kv() = e.kv();
                             closed = !send(changed);
                             return closed;
                           });
    if (st.code() == Code::kCancelled || closed) return Status::Ok();
    RETURN_IF_ERROR(st);
  }
}

Result<epb::ResignResponse> Recipes::Resign(const epb::ResignRequest& req) {
  if (!req.has_leader()) return MissingLeaderKey();
  ASSIGN_OR_RETURN(pb::TxnResponse resp,
                   Txn(recipes::ResignTxn(req.leader().key(), req.leader().rev())));
  epb::ResignResponse out;
  *out.mutable_header() = resp.header();
  return out;
}

}  // namespace etcdd::server
