// Store::WriteTxn: Put, DeleteRange, Compact, metadata, rollback of a failed
// request, and Commit. Txn lives in txn.cc, the compaction of the key
// database in compaction.cc.
#include <mutex>

#include "mvcc/errors.h"
#include "mvcc/range.h"
#include "mvcc/read_view.h"
#include "mvcc/store_state.h"

namespace etcdd::mvcc {

using etcdserverpb::CompactionRequest;
using etcdserverpb::CompactionResponse;
using etcdserverpb::DeleteRangeRequest;
using etcdserverpb::DeleteRangeResponse;
using etcdserverpb::PutRequest;
using etcdserverpb::PutResponse;
using etcdserverpb::RangeRequest;
using etcdserverpb::RangeResponse;
using etcdserverpb::TxnRequest;
using etcdserverpb::TxnResponse;
using internal::Scope;
using internal::WriteState;
using mvccpb::Event;
using mvccpb::KeyValue;

namespace internal {

WriteState::~WriteState() {
  if (txn != nullptr) mdb_txn_abort(txn);
  if (!done && !events.empty()) {
    // Uncommitted revisions leave the index; readers never saw them.
    const int64_t committed = s->current_rev.load();
    std::unique_lock lock(s->mu);
    for (const Event& ev : events) {
      if (KeyIndex* ki = s->index.Find(ev.kv().key())) {
        ki->TruncateAfter(committed);
        s->index.EraseIfEmpty(ev.kv().key());
      }
    }
  }
  if (gate.owns_lock()) gate.unlock();
  s->writer_active.store(false);
}

Status WriteState::Usable() const {
  if (done) return Status::FailedPrecondition("mvcc: write transaction already committed");
  return broken;
}

Status WriteState::PutRevision(Revision rev, bool tombstone, const KeyValue& kv) {
  ++lmdb_writes;
  RevKey key(rev, tombstone);
  MDB_val k = lmdb::Val(key.view());
  MDB_val v{kv.ByteSizeLong(), nullptr};
  // Revisions only grow, so every write appends to the B+tree.
  int rc = mdb_put(txn, s->key_dbi, &k, &v, MDB_APPEND | MDB_RESERVE);
  if (rc != MDB_SUCCESS) return s->Rc(rc, "mdb_put(key)");
  kv.SerializeWithCachedSizesToArray(static_cast<uint8_t*>(v.mv_data));
  Record(s->key_dbi, key.view(), lmdb::View(v));
  return Status::Ok();
}

Status WriteState::WriteMeta(MDB_dbi dbi, std::string_view key, std::string_view value) {
  ++lmdb_writes;
  MDB_val k = lmdb::Val(key);
  MDB_val v = lmdb::Val(value);
  RETURN_IF_ERROR(s->Rc(mdb_put(txn, dbi, &k, &v, 0), "mdb_put(meta)"));
  Record(dbi, key, value);
  return Status::Ok();
}

Status WriteState::EraseMeta(MDB_dbi dbi, std::string_view key) {
  ++lmdb_writes;
  MDB_val k = lmdb::Val(key);
  int rc = mdb_del(txn, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::Ok();
  RETURN_IF_ERROR(s->Rc(rc, "mdb_del(meta)"));
  Record(dbi, key, std::nullopt);
  return Status::Ok();
}

Status WriteState::Rollback(const Scope& sc, Status cause) {
  {
    std::unique_lock lock(s->mu);
    for (size_t i = events.size(); i-- > sc.begin_events;) {
      const std::string& key = events[i].kv().key();
      if (KeyIndex* ki = s->index.Find(key)) {
        ki->TruncateAfter(sc.begin_rev);
        s->index.EraseIfEmpty(key);
      }
    }
  }
  events.resize(sc.begin_events);
  meta_ops.resize(sc.begin_meta);
  compactions.resize(sc.begin_compactions);
  compact_rev = sc.begin_compact_rev;
  rev = sc.begin_rev;
  if (lmdb_writes == sc.begin_lmdb_writes) return cause;
  // LMDB cannot undo part of a transaction (and after MDB_MAP_FULL the
  // transaction is unusable), so start a new one and write again everything
  // this WriteTxn did before the failed request.
  mdb_txn_abort(txn);
  txn = nullptr;
  int rc = mdb_txn_begin(s->env(), nullptr, 0, &txn);
  // The replay writes (and records) everything before `sc` again.
  recorded.clear();
  if (rc != MDB_SUCCESS) {
    txn = nullptr;
    broken = s->Rc(rc, "mdb_txn_begin");
  } else if (Status st = Replay(); !st.ok()) {
    broken = st.Annotate("mvcc: write transaction unusable after failed rollback");
  }
  return cause;
}

Status WriteState::Replay() {
  int64_t last_main = -1;
  int64_t sub = 0;
  KeyValue tomb;
  for (const Event& ev : events) {
    const int64_t main = ev.kv().mod_revision();
    sub = main == last_main ? sub + 1 : 0;
    last_main = main;
    if (ev.type() == Event::PUT) {
      RETURN_IF_ERROR(PutRevision(Revision{main, sub}, false, ev.kv()));
    } else {
      tomb.set_key(ev.kv().key());
      RETURN_IF_ERROR(PutRevision(Revision{main, sub}, true, tomb));
    }
  }
  for (const MetaOp& op : meta_ops) {
    RETURN_IF_ERROR(op.value ? WriteMeta(s->server_dbi, op.key, *op.value)
                             : EraseMeta(s->server_dbi, op.key));
  }
  for (int64_t c : compactions) RETURN_IF_ERROR(CompactBackend(c));
  return Status::Ok();
}

Status WriteState::DoPut(const Scope& sc, const PutRequest& req, PutResponse* resp) {
  const int64_t rev = WriteRev(sc);
  KeyIndex* ki = s->index.Find(req.key());
  const std::optional<KeyRevision> cur = ki ? ki->Get(rev) : std::nullopt;
  if ((req.ignore_value() || req.ignore_lease()) && !cur) return ErrKeyNotFound();
  KeyValue prev;
  if (cur && (req.prev_kv() || req.ignore_value() || req.ignore_lease())) {
    RETURN_IF_ERROR(FetchKeyValue(txn, s->key_dbi, cur->mod, s->data_path, &prev));
  }
  Event ev;
  ev.set_type(Event::PUT);
  KeyValue* kv = ev.mutable_kv();
  kv->set_key(req.key());
  kv->set_value(req.ignore_value() ? prev.value() : req.value());
  kv->set_create_revision(cur ? cur->created : rev);
  kv->set_mod_revision(rev);
  kv->set_version(cur ? cur->version + 1 : 1);
  kv->set_lease(req.ignore_lease() ? prev.lease() : req.lease());
  // etcd's watch fills prev_kv for every event but a creation, from the key
  // at mod_revision - 1 (v3rpc/watch.go); usually that is `cur`, already read.
  if (events_prev_kv && kv->create_revision() != rev) {
    if (const std::optional<KeyRevision> before = ki->Get(rev - 1)) {
      const bool have =
          cur->mod == before->mod && (req.prev_kv() || req.ignore_value() || req.ignore_lease());
      if (have) {
        *ev.mutable_prev_kv() = prev;
      } else {
        RETURN_IF_ERROR(
            FetchKeyValue(txn, s->key_dbi, before->mod, s->data_path, ev.mutable_prev_kv()));
      }
    }
  }
  const Revision r{rev, NextSub(sc)};
  RETURN_IF_ERROR(PutRevision(r, false, *kv));
  {
    std::unique_lock lock(s->mu);
    (ki != nullptr ? *ki : s->index.FindOrCreate(req.key())).Put(r);
  }
  events.push_back(std::move(ev));
  resp->mutable_header()->set_revision(rev);
  if (req.prev_kv() && cur) *resp->mutable_prev_kv() = std::move(prev);
  return Status::Ok();
}

Status WriteState::DoDeleteRange(const Scope& sc, const DeleteRangeRequest& req,
                                 DeleteRangeResponse* resp) {
  const int64_t read_rev = ReadRev(sc);
  // Pointers into the index stay valid: only this thread changes it, and a
  // tombstone never removes a key.
  std::vector<std::pair<const std::string*, Revision>> live;
  s->index.Visit(KeyRange::Make(req.key(), req.range_end()),
                 [&](const std::string& key, const KeyIndex& ki) {
                   if (auto kr = ki.Get(read_rev)) live.emplace_back(&key, kr->mod);
                 });
  if (req.prev_kv()) {
    for (const auto& [key, mod] : live) {
      RETURN_IF_ERROR(FetchKeyValue(txn, s->key_dbi, mod, s->data_path, resp->add_prev_kvs()));
    }
  }
  const int64_t rev = WriteRev(sc);
  std::vector<std::optional<KeyValue>> prevs;
  if (events_prev_kv) {
    RETURN_IF_ERROR(FetchPrevKvs(live, rev, req.prev_kv() ? resp : nullptr, &prevs));
  }
  const int64_t first_sub = NextSub(sc);
  KeyValue tomb;
  for (size_t i = 0; i < live.size(); ++i) {
    tomb.set_key(*live[i].first);
    RETURN_IF_ERROR(PutRevision(Revision{rev, first_sub + static_cast<int64_t>(i)}, true, tomb));
  }
  // The index changes only once every tombstone is in LMDB, under one lock.
  std::unique_lock lock(s->mu);
  for (size_t i = 0; i < live.size(); ++i) {
    const std::string& key = *live[i].first;
    s->index.Find(key)->Tombstone(Revision{rev, first_sub + static_cast<int64_t>(i)});
    Event& ev = events.emplace_back();
    ev.set_type(Event::DELETE);
    ev.mutable_kv()->set_key(key);
    ev.mutable_kv()->set_mod_revision(rev);
    if (i < prevs.size() && prevs[i]) *ev.mutable_prev_kv() = std::move(*prevs[i]);
  }
  lock.unlock();
  resp->set_deleted(static_cast<int64_t>(live.size()));
  resp->mutable_header()->set_revision(ReadRev(sc));
  return Status::Ok();
}

Status WriteState::FetchPrevKvs(const std::vector<std::pair<const std::string*, Revision>>& live,
                                int64_t rev, const DeleteRangeResponse* fetched,
                                std::vector<std::optional<KeyValue>>* out) {
  out->resize(live.size());
  for (size_t i = 0; i < live.size(); ++i) {
    // etcd's watch reads the key at mod_revision - 1. That is live[i] unless
    // an earlier op of the same txn wrote the key (validation forbids it).
    const std::optional<KeyRevision> before = s->index.Find(*live[i].first)->Get(rev - 1);
    if (!before) continue;
    KeyValue& kv = (*out)[i].emplace();
    if (fetched != nullptr && before->mod == live[i].second) {
      kv = fetched->prev_kvs(static_cast<int>(i));
    } else {
      RETURN_IF_ERROR(FetchKeyValue(txn, s->key_dbi, before->mod, s->data_path, &kv));
    }
  }
  return Status::Ok();
}

ReadView WriteState::View(int64_t read_rev) const {
  return ReadView{s, txn, read_rev, compact_rev, /*shared=*/false};
}

Status WriteState::DoRange(const Scope& sc, const RangeRequest& req, RangeResponse* resp) {
  return View(ReadRev(sc)).Range(req, resp);
}

}  // namespace internal

Result<std::unique_ptr<Store::WriteTxn>> Store::BeginWrite() {
  bool expected = false;
  if (!s_->writer_active.compare_exchange_strong(expected, true)) {
    return Status::FailedPrecondition("mvcc: another write transaction is open");
  }
  auto w = std::make_unique<WriteState>();
  w->s = s_.get();
  w->gate = std::unique_lock(s_->write_gate);
  w->record = s_->defrag_log != nullptr;
  int rc = mdb_txn_begin(s_->env(), nullptr, 0, &w->txn);
  if (rc != MDB_SUCCESS) {
    w->txn = nullptr;
    return s_->Rc(rc, "mdb_txn_begin");  // ~WriteState clears writer_active
  }
  w->rev = s_->current_rev.load();
  w->compact_rev = s_->compact_rev.load();
  return std::unique_ptr<WriteTxn>(new WriteTxn(std::move(w)));
}

Store::WriteTxn::WriteTxn(std::unique_ptr<WriteState> w) : w_(std::move(w)) {}
Store::WriteTxn::~WriteTxn() = default;

Status WriteState::CheckLease(int64_t lease) const {
  if (lease == 0 || (s->opts.lease_exists && s->opts.lease_exists(lease))) return Status::Ok();
  return ErrLeaseNotFound();
}

Result<PutResponse> Store::WriteTxn::Put(const PutRequest& req) {
  RETURN_IF_ERROR(w_->Usable());
  RETURN_IF_ERROR(w_->CheckLease(req.lease()));
  const Scope sc = w_->Open();
  PutResponse resp;
  if (Status st = w_->DoPut(sc, req, &resp); !st.ok()) return w_->Rollback(sc, st);
  w_->Close(sc);
  return resp;
}

Result<DeleteRangeResponse> Store::WriteTxn::DeleteRange(const DeleteRangeRequest& req) {
  RETURN_IF_ERROR(w_->Usable());
  const Scope sc = w_->Open();
  DeleteRangeResponse resp;
  if (Status st = w_->DoDeleteRange(sc, req, &resp); !st.ok()) return w_->Rollback(sc, st);
  w_->Close(sc);
  return resp;
}

Result<TxnResponse> Store::WriteTxn::Txn(const TxnRequest& req) {
  RETURN_IF_ERROR(w_->Usable());
  const Scope sc = w_->Open();
  TxnResponse resp;
  if (Status st = w_->DoTxn(sc, req, &resp); !st.ok()) return w_->Rollback(sc, st);
  w_->Close(sc);
  return resp;
}

Result<RangeResponse> Store::WriteTxn::Range(const RangeRequest& req) {
  RETURN_IF_ERROR(w_->Usable());
  RangeResponse resp;
  RETURN_IF_ERROR(w_->DoRange(w_->Open(), req, &resp));
  return resp;
}

Result<CompactionResponse> Store::WriteTxn::Compact(const CompactionRequest& req) {
  RETURN_IF_ERROR(w_->Usable());
  const int64_t c = req.revision();
  if (c <= w_->compact_rev) return ErrCompacted();
  if (c > w_->rev) return ErrFutureRev();
  const Scope sc = w_->Open();
  if (Status st = w_->CompactBackend(c); !st.ok()) return w_->Rollback(sc, st);
  w_->compactions.push_back(c);
  w_->compact_rev = c;
  CompactionResponse resp;
  resp.mutable_header()->set_revision(w_->rev);
  return resp;
}

Status Store::WriteTxn::PutMeta(std::string_view key, std::string_view value) {
  RETURN_IF_ERROR(w_->Usable());
  const Scope sc = w_->Open();
  if (Status st = w_->WriteMeta(w_->s->server_dbi, key, value); !st.ok()) {
    return w_->Rollback(sc, st);
  }
  w_->meta_ops.push_back({std::string(key), std::string(value)});
  return Status::Ok();
}

Status Store::WriteTxn::DeleteMeta(std::string_view key) {
  RETURN_IF_ERROR(w_->Usable());
  const Scope sc = w_->Open();
  if (Status st = w_->EraseMeta(w_->s->server_dbi, key); !st.ok()) return w_->Rollback(sc, st);
  w_->meta_ops.push_back({std::string(key), std::nullopt});
  return Status::Ok();
}

void Store::WriteTxn::SetConsistentIndex(uint64_t index, uint64_t term) {
  w_->consistent = {index, term};
}

int64_t Store::WriteTxn::Revision() const { return w_->rev; }

const std::vector<Event>& Store::WriteTxn::Events() const { return w_->events; }

void Store::WriteTxn::SetEventsPrevKv(bool on) { w_->events_prev_kv = on; }

Status Store::WriteTxn::Commit() {
  WriteState& w = *w_;
  RETURN_IF_ERROR(w.Usable());
  internal::StoreState& s = *w.s;
  if (w.consistent) {
    char buf[8];
    PutBigEndian64(w.consistent->first, buf);
    Status st = w.WriteMeta(s.meta_dbi, internal::kConsistentIndexKey, {buf, 8});
    PutBigEndian64(w.consistent->second, buf);
    if (st.ok()) st = w.WriteMeta(s.meta_dbi, internal::kTermKey, {buf, 8});
    if (!st.ok()) return w.broken = st;
  }
  const bool compacted = !w.compactions.empty();
  {
    // See StoreState: only a compaction needs readers held off during the
    // LMDB commit; otherwise publishing the revision afterwards suffices.
    std::unique_lock lock(s.mu, std::defer_lock);
    if (compacted) lock.lock();
    int rc = mdb_txn_commit(w.txn);
    w.txn = nullptr;
    if (rc != MDB_SUCCESS) return w.broken = s.Rc(rc, "mdb_txn_commit");
    if (w.record && !w.recorded.empty()) {
      // write_gate is held: the log is the one this WriteTxn began with.
      std::lock_guard log_lock(s.defrag_log->mu);
      auto& log = s.defrag_log->writes;
      log.insert(log.end(), std::make_move_iterator(w.recorded.begin()),
                 std::make_move_iterator(w.recorded.end()));
    }
    if (compacted) s.compact_rev.store(w.compact_rev, std::memory_order_release);
    if (w.consistent) {
      s.consistent_index.store(w.consistent->first);
      s.consistent_term.store(w.consistent->second);
    }
    s.current_rev.store(w.rev, std::memory_order_release);
  }
  w.done = true;
  if (compacted) internal::CompactIndex(&s, w.compact_rev);
  return Status::Ok();
}

}  // namespace etcdd::mvcc
