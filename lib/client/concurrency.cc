#include "client/concurrency.h"

#include "base/key_range.h"
#include "client/watch.h"
#include "recipes/requests.h"

namespace etcdd::client {

namespace {

namespace pb = etcdserverpb;

Status Canceled() { return Status(Code::kCancelled, "context canceled"); }

// concurrency's waitDelete: watches `key` from `revision` until it is
// deleted.
Status WaitDelete(Client& client, const std::string& key, int64_t revision, std::stop_token stop) {
  Watcher watcher(client, false);
  std::stop_callback close_on_stop(stop, [&watcher] { watcher.Close(); });
  pb::WatchCreateRequest create;
  create.set_key(key);
  create.set_start_revision(revision);
  const int handle = watcher.Watch(create);
  WatchResponse wr;
  Status err;
  while (watcher.Next(handle, &wr)) {
    for (const auto& ev : wr.response.events()) {
      if (ev.type() == mvccpb::Event::DELETE) return Status::Ok();
    }
    if (!wr.err.ok()) err = wr.err;
  }
  if (!err.ok()) return err;
  if (stop.stop_requested()) return Canceled();
  return Status(Code::kUnavailable, "lost watcher waiting for delete");
}

// concurrency's waitDeletes: waits until no key under `prefix` was created
// at or before `max_create_revision`; returns the header of the read that
// found none.
Result<pb::ResponseHeader> WaitDeletes(Client& client, const std::string& prefix,
                                       int64_t max_create_revision, std::stop_token stop) {
  const pb::RangeRequest newest = recipes::LastCreatedUpTo(prefix, max_create_revision);
  while (true) {
    if (stop.stop_requested()) return Canceled();
    ASSIGN_OR_RETURN(pb::RangeResponse resp, client.Range(newest));
    if (resp.kvs().empty()) return resp.header();
    RETURN_IF_ERROR(WaitDelete(client, resp.kvs(0).key(), resp.header().revision(), stop));
  }
}

}  // namespace

// ---- Session

Session::Session(Client& client, int64_t lease)
    : client_(client), lease_(lease), keepalive_(std::make_unique<LeaseKeepAlive>(client, lease)) {}

Result<std::unique_ptr<Session>> Session::Create(Client& client, int ttl_seconds) {
  pb::LeaseGrantRequest grant;
  grant.set_ttl(ttl_seconds > 0 ? ttl_seconds : 60);
  ASSIGN_OR_RETURN(pb::LeaseGrantResponse resp, client.LeaseGrant(grant));
  return std::unique_ptr<Session>(new Session(client, resp.id()));
}

// ---- Mutex

Mutex::Mutex(Session& session, const std::string& name) : session_(session), prefix_(name + "/") {}

Status Mutex::Lock(std::stop_token stop) {
  if (stop.stop_requested()) return Canceled();
  Client& client = session_.client();
  key_ = recipes::SessionKey(prefix_, session_.lease());
  ASSIGN_OR_RETURN(pb::TxnResponse resp,
                   client.Txn(recipes::LockTxn(prefix_, key_, session_.lease())));
  revision_ = resp.header().revision();
  if (!resp.succeeded()) revision_ = resp.responses(0).response_range().kvs(0).create_revision();
  const auto& holder = resp.responses(1).response_range().kvs();
  if (holder.empty() || holder[0].create_revision() == revision_) {
    header_ = resp.header();
    return Status::Ok();
  }
  auto waited = WaitDeletes(client, prefix_, revision_ - 1, stop);
  // Our key may have gone with the session's lease while we waited (the
  // check etcd 3.5 added after Jepsen's report): then the lock is not ours.
  pb::RangeRequest mine;
  mine.set_key(key_);
  auto still = waited.ok() ? client.Range(mine) : Result<pb::RangeResponse>(waited.status());
  if (!still.ok()) {
    (void)Unlock();  // give up our place in the queue, as clientv3 does
    return still.status();
  }
  if (still->kvs().empty()) return Status(Code::kUnknown, recipes::kErrSessionExpired);
  header_ = still->header();
  return Status::Ok();
}

Status Mutex::Unlock() {
  pb::DeleteRangeRequest del;
  del.set_key(key_);
  auto resp = session_.client().DeleteRange(del);
  if (!resp.ok()) return resp.status();
  revision_ = -1;
  return Status::Ok();
}

// ---- Election

Election::Election(Session& session, const std::string& name)
    : session_(session), prefix_(name + "/") {}

Status Election::Campaign(const std::string& value, std::stop_token stop) {
  if (stop.stop_requested()) return Canceled();
  Client& client = session_.client();
  const std::string key = recipes::SessionKey(prefix_, session_.lease());
  ASSIGN_OR_RETURN(pb::TxnResponse resp,
                   client.Txn(recipes::CampaignTxn(key, value, session_.lease())));
  key_ = key;
  revision_ = resp.header().revision();
  leading_ = true;
  if (!resp.succeeded()) {
    const auto& kv = resp.responses(0).response_range().kvs(0);
    revision_ = kv.create_revision();
    if (kv.value() != value) {
      if (Status st = Proclaim(value); !st.ok()) {
        (void)Resign();
        return st;
      }
    }
  }
  auto waited = WaitDeletes(client, prefix_, revision_ - 1, stop);
  if (!waited.ok()) {
    if (stop.stop_requested()) {
      (void)Resign();
    } else {
      leading_ = false;
    }
    return waited.status();
  }
  return Status::Ok();
}

Status Election::Proclaim(const std::string& value) {
  const Status not_leader(Code::kFailedPrecondition, recipes::kErrElectionNotLeader);
  if (!leading_) return not_leader;
  ASSIGN_OR_RETURN(pb::TxnResponse resp, session_.client().Txn(recipes::ProclaimTxn(
                                             key_, revision_, value, session_.lease())));
  if (!resp.succeeded()) {
    key_.clear();
    return not_leader;
  }
  return Status::Ok();
}

Status Election::Resign() {
  if (!leading_) return Status::Ok();
  auto resp = session_.client().Txn(recipes::ResignTxn(key_, revision_));
  key_.clear();
  leading_ = false;
  return resp.ok() ? Status::Ok() : resp.status();
}

namespace {

// The first candidate to appear under `prefix` after `revision`, as the
// leader report clientv3's observe sends for it: the watch's header with the
// candidate's revision. Errors: Unavailable when the watch ends first.
Result<pb::RangeResponse> WaitForCandidate(Client& client, const std::string& prefix,
                                           int64_t revision, std::stop_token stop) {
  Watcher watcher(client, false);
  std::stop_callback close_on_stop(stop, [&watcher] { watcher.Close(); });
  pb::WatchCreateRequest create;
  create.set_key(prefix);
  create.set_range_end(PrefixRangeEnd(prefix));
  create.set_start_revision(revision);
  const int handle = watcher.Watch(create);
  WatchResponse wr;
  while (watcher.Next(handle, &wr) && wr.err.ok()) {
    for (const auto& ev : wr.response.events()) {
      if (ev.type() != mvccpb::Event::PUT) continue;
      pb::RangeResponse leader;
      *leader.mutable_header() = wr.response.header();
      leader.mutable_header()->set_revision(ev.kv().mod_revision());
      *leader.add_kvs() = ev.kv();
      return leader;
    }
  }
  return Status(Code::kUnavailable, "election: observation lost");
}

// Reports each new value of the leader's key until it is deleted (Ok) or the
// watch ends (Unavailable). A report is `read` with the watch's header and
// the new key-value (clientv3 reuses its GetResponse, count and all).
Status FollowLeader(Client& client, const pb::RangeResponse& leader, pb::RangeResponse read,
                    std::stop_token stop,
                    const std::function<Status(const pb::RangeResponse&)>& on_leader) {
  Watcher watcher(client, false);
  std::stop_callback close_on_stop(stop, [&watcher] { watcher.Close(); });
  pb::WatchCreateRequest create;
  create.set_key(leader.kvs(0).key());
  create.set_start_revision(leader.header().revision() + 1);
  const int handle = watcher.Watch(create);
  WatchResponse wr;
  while (watcher.Next(handle, &wr)) {
    for (const auto& ev : wr.response.events()) {
      if (ev.type() == mvccpb::Event::DELETE) return Status::Ok();
      *read.mutable_header() = wr.response.header();
      read.clear_kvs();
      *read.add_kvs() = ev.kv();
      RETURN_IF_ERROR(on_leader(read));
    }
  }
  return Status(Code::kUnavailable, "election: observation lost");
}

}  // namespace

Status Election::Observe(std::stop_token stop,
                         const std::function<Status(const pb::RangeResponse&)>& on_leader) {
  Client& client = session_.client();
  while (true) {
    auto read = client.Range(recipes::FirstCreated(prefix_));
    if (stop.stop_requested()) return Status::Ok();
    if (!read.ok()) return read.status();
    pb::RangeResponse leader;
    if (read->kvs().empty()) {
      auto first = WaitForCandidate(client, prefix_, read->header().revision(), stop);
      if (stop.stop_requested()) return Status::Ok();
      if (!first.ok()) return first.status();
      leader = std::move(first).value();
    } else {
      *leader.mutable_header() = read->header();
      *leader.add_kvs() = read->kvs(0);
    }
    RETURN_IF_ERROR(on_leader(leader));
    Status followed = FollowLeader(client, leader, read.value(), stop, on_leader);
    if (stop.stop_requested()) return Status::Ok();
    RETURN_IF_ERROR(followed);
  }
}

}  // namespace etcdd::client
