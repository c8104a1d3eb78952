// Txn with etcd 3.4's semantics (etcdserver/apply.go: Txn, compareToPath,
// applyCompare, checkRequests, applyTxn), for the writer (WriteTxn::Txn) and
// for read-only txns on a snapshot (Store::ReadTxn), over one ReadView.
//
// A txn's path is the list of compare outcomes of the txn and of every nested
// txn on the branches taken, in pre-order; like etcd we evaluate all of them
// against the state before the txn, then check the ops on the path (puts,
// then ranges), then apply.
#include <mutex>
#include <shared_mutex>

#include "mvcc/errors.h"
#include "mvcc/range.h"
#include "mvcc/read_view.h"
#include "mvcc/store_state.h"

namespace etcdd::mvcc::internal {

using etcdserverpb::Compare;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;
using etcdserverpb::TxnResponse;
using mvccpb::KeyValue;

namespace {

int Sign(int64_t a, int64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

// etcd compareKV. A oneof getter of another case returns 0 / "", which is
// etcd's reading of a target value of the wrong kind.
bool CompareKeyValue(const Compare& c, const KeyValue& kv) {
  int result = 0;
  switch (c.target()) {
    case Compare::VALUE: {
      const int r = kv.value().compare(c.value());
      result = r < 0 ? -1 : (r > 0 ? 1 : 0);
      break;
    }
    case Compare::CREATE:
      result = Sign(kv.create_revision(), c.create_revision());
      break;
    case Compare::MOD:
      result = Sign(kv.mod_revision(), c.mod_revision());
      break;
    case Compare::VERSION:
      result = Sign(kv.version(), c.version());
      break;
    case Compare::LEASE:
      result = Sign(kv.lease(), c.lease());
      break;
    default:
      break;
  }
  switch (c.result()) {
    case Compare::EQUAL:
      return result == 0;
    case Compare::NOT_EQUAL:
      return result != 0;
    case Compare::GREATER:
      return result > 0;
    case Compare::LESS:
      return result < 0;
    default:
      return true;
  }
}

// etcd applyCompare: every key in range must satisfy the compare; an empty
// range compares a zero KeyValue, except that VALUE then fails.
Result<bool> EvalCompare(const ReadView& v, const Compare& c) {
  std::vector<KeyRevision> found;
  RETURN_IF_ERROR(v.WithIndex(v.rev, [&](const TreeIndex& index) {
    index.Visit(KeyRange::Make(c.key(), c.range_end()),
                [&](const std::string&, const KeyIndex& ki) {
                  if (auto kr = ki.Get(v.rev)) found.push_back(*kr);
                });
  }));
  if (found.empty()) {
    if (c.target() == Compare::VALUE) return false;
    return CompareKeyValue(c, KeyValue::default_instance());
  }
  const bool needs_value = c.target() == Compare::VALUE || c.target() == Compare::LEASE;
  KeyValue kv;
  for (const KeyRevision& kr : found) {
    if (needs_value) {
      RETURN_IF_ERROR(v.Fetch(kr.mod, &kv));
    } else {
      // The index knows create/mod/version; no need to read the value.
      kv.set_create_revision(kr.created);
      kv.set_mod_revision(kr.mod.main);
      kv.set_version(kr.version);
    }
    if (!CompareKeyValue(c, kv)) return false;
  }
  return true;
}

Status ComputePath(const ReadView& v, const TxnRequest& req, std::vector<bool>* path) {
  bool ok = true;
  for (const Compare& c : req.compare()) {
    ASSIGN_OR_RETURN(ok, EvalCompare(v, c));
    if (!ok) break;
  }
  path->push_back(ok);
  for (const RequestOp& op : ok ? req.success() : req.failure()) {
    if (op.has_request_txn()) RETURN_IF_ERROR(ComputePath(v, op.request_txn(), path));
  }
  return Status::Ok();
}

// etcd checkRequests: runs `check` on every non-txn op on the path.
template <typename Check>
Status CheckRequests(const TxnRequest& req, const std::vector<bool>& path, size_t* pos,
                     Check& check) {
  const bool ok = path[(*pos)++];
  for (const RequestOp& op : ok ? req.success() : req.failure()) {
    if (op.has_request_txn()) {
      RETURN_IF_ERROR(CheckRequests(op.request_txn(), path, pos, check));
    } else {
      RETURN_IF_ERROR(check(op));
    }
  }
  return Status::Ok();
}

// etcd applyTxn's walk: sets `succeeded` from the path and runs each op of the
// branch taken, run(const RequestOp&, ResponseOp*) doing the non-txn ones.
template <typename RunOp>
Status ApplyTxn(const TxnRequest& req, const std::vector<bool>& path, size_t* pos,
                TxnResponse* resp, RunOp& run) {
  const bool ok = path[(*pos)++];
  resp->set_succeeded(ok);
  resp->mutable_header();  // etcd sends nested txns an empty header
  for (const RequestOp& op : ok ? req.success() : req.failure()) {
    etcdserverpb::ResponseOp* out = resp->add_responses();
    if (op.has_request_txn()) {
      RETURN_IF_ERROR(ApplyTxn(op.request_txn(), path, pos, out->mutable_response_txn(), run));
    } else {
      RETURN_IF_ERROR(run(op, out));
    }
  }
  return Status::Ok();
}

// etcd's Txn on the state `before`: the path, check_put(const PutRequest&) on
// the puts of the path, the revisions of its ranges (checkRequestRange), then
// run as in ApplyTxn. Leaves resp's top-level header to the caller.
template <typename CheckPut, typename RunOp>
Status RunTxn(const ReadView& before, const TxnRequest& req, CheckPut check_put, RunOp run,
              TxnResponse* resp) {
  std::vector<bool> path;
  RETURN_IF_ERROR(ComputePath(before, req, &path));
  auto puts = [&](const RequestOp& op) -> Status {
    return op.has_request_put() ? check_put(op.request_put()) : Status::Ok();
  };
  size_t pos = 0;
  RETURN_IF_ERROR(CheckRequests(req, path, &pos, puts));
  auto ranges = [&](const RequestOp& op) -> Status {
    if (!op.has_request_range()) return Status::Ok();
    const int64_t r = op.request_range().revision();
    if (r == 0) return Status::Ok();
    if (r > before.rev) return ErrFutureRev();
    if (r < before.compact_rev) return ErrCompacted();
    return Status::Ok();
  };
  pos = 0;
  RETURN_IF_ERROR(CheckRequests(req, path, &pos, ranges));
  pos = 0;
  return ApplyTxn(req, path, &pos, resp, run);
}

}  // namespace

Status WriteState::DoTxn(const Scope& sc, const TxnRequest& req, TxnResponse* resp) {
  const int64_t before = sc.begin_rev;
  // Checked against the state before the txn, before anything is written.
  auto check_put = [&](const etcdserverpb::PutRequest& put) -> Status {
    if (put.ignore_value() || put.ignore_lease()) {
      const KeyIndex* ki = s->index.Find(put.key());
      if (ki == nullptr || !ki->Get(before)) return ErrKeyNotFound();
    }
    return CheckLease(put.lease());
  };
  auto run = [&](const RequestOp& op, etcdserverpb::ResponseOp* out) -> Status {
    switch (op.request_case()) {
      case RequestOp::kRequestRange:
        return DoRange(sc, op.request_range(), out->mutable_response_range());
      case RequestOp::kRequestPut:
        return DoPut(sc, op.request_put(), out->mutable_response_put());
      case RequestOp::kRequestDeleteRange:
        return DoDeleteRange(sc, op.request_delete_range(), out->mutable_response_delete_range());
      default:
        return Status::Ok();  // an empty op; validation rejects these
    }
  };
  RETURN_IF_ERROR(RunTxn(View(before), req, check_put, run, resp));
  resp->mutable_header()->set_revision(ReadRev(sc));
  return Status::Ok();
}

}  // namespace etcdd::mvcc::internal

namespace etcdd::mvcc {

using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;
using etcdserverpb::TxnResponse;

bool Store::IsReadOnly(const TxnRequest& req) {
  for (const auto* branch : {&req.success(), &req.failure()}) {
    for (const RequestOp& op : *branch) {
      if (op.has_request_range()) continue;
      if (op.has_request_txn() && IsReadOnly(op.request_txn())) continue;
      return false;  // a put, a delete, or an empty op (etcd counts it as a write)
    }
  }
  return true;
}

Result<TxnResponse> Store::ReadTxn(const TxnRequest& req) const {
  if (!IsReadOnly(req)) {
    return Status::FailedPrecondition("mvcc: ReadTxn given a txn that writes");
  }
  const internal::StoreState& s = *s_;
  auto no_puts = [](const etcdserverpb::PutRequest&) { return Status::Ok(); };
  for (;;) {
    internal::ReadView view{&s, nullptr, 0, -1, /*shared=*/true};
    lmdb::PooledReadTxn rtxn;
    {
      // As in Range: the LMDB snapshot is taken with the revisions, so no
      // compaction commit slips in between.
      std::shared_lock lock(s.mu);
      view.rev = s.current_rev.load(std::memory_order_acquire);
      view.compact_rev = s.compact_rev.load(std::memory_order_acquire);
      view.restores = s.restores.load(std::memory_order_acquire);
      ASSIGN_OR_RETURN(rtxn, s.Pool()->Acquire());
    }
    view.txn = rtxn.get();
    auto range = [&](const RequestOp& op, etcdserverpb::ResponseOp* out) {
      return view.Range(op.request_range(), out->mutable_response_range());
    };
    TxnResponse resp;
    Status st = internal::RunTxn(view, req, no_puts, range, &resp);
    if (st.ok()) {
      resp.mutable_header()->set_revision(view.rev);
      return resp;
    }
    // A compaction committed past a revision this snapshot reads, or a
    // RestoreFrom replaced the state, after it was taken: the index no longer
    // describes the snapshot. Read again on a newer one, where the up-front
    // checks give etcd's answer.
    const bool raced = st.code() == ErrCompacted().code() &&
                       st.message() == ErrCompacted().message() &&
                       (s.compact_rev.load(std::memory_order_acquire) != view.compact_rev ||
                        s.restores.load(std::memory_order_acquire) != view.restores);
    if (!raced) return st;
  }
}

}  // namespace etcdd::mvcc
