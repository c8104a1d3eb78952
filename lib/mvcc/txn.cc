// Txn with etcd 3.4's semantics (etcdserver/apply.go: Txn, compareToPath,
// applyCompare, checkRequests, applyTxn).
//
// A txn's path is the list of compare outcomes of the txn and of every nested
// txn on the branches taken, in pre-order; like etcd we evaluate all of them
// against the state before the txn, then check the ops on the path (puts,
// then ranges), then apply.
#include "mvcc/errors.h"
#include "mvcc/range.h"
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
Result<bool> EvalCompare(WriteState& w, const Compare& c, int64_t at_rev) {
  std::vector<KeyRevision> found;
  w.s->index.Visit(KeyRange::Make(c.key(), c.range_end()),
                   [&](const std::string&, const KeyIndex& ki) {
                     if (auto kr = ki.Get(at_rev)) found.push_back(*kr);
                   });
  if (found.empty()) {
    if (c.target() == Compare::VALUE) return false;
    return CompareKeyValue(c, KeyValue::default_instance());
  }
  const bool needs_value = c.target() == Compare::VALUE || c.target() == Compare::LEASE;
  KeyValue kv;
  for (const KeyRevision& kr : found) {
    if (needs_value) {
      RETURN_IF_ERROR(FetchKeyValue(w.txn, w.s->key_dbi, kr.mod, w.s->data_path, &kv));
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

Status ComputePath(WriteState& w, const TxnRequest& req, int64_t at_rev, std::vector<bool>* path) {
  bool ok = true;
  for (const Compare& c : req.compare()) {
    ASSIGN_OR_RETURN(ok, EvalCompare(w, c, at_rev));
    if (!ok) break;
  }
  path->push_back(ok);
  for (const RequestOp& op : ok ? req.success() : req.failure()) {
    if (op.has_request_txn()) RETURN_IF_ERROR(ComputePath(w, op.request_txn(), at_rev, path));
  }
  return Status::Ok();
}

// etcd checkRequests: runs `check` on every non-txn op on the path.
template <typename Check>
Status CheckRequests(const TxnRequest& req, const std::vector<bool>& path, size_t* pos,
                     Check check) {
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

Status ApplyTxn(WriteState& w, const Scope& sc, const TxnRequest& req,
                const std::vector<bool>& path, size_t* pos, TxnResponse* resp) {
  const bool ok = path[(*pos)++];
  resp->set_succeeded(ok);
  resp->mutable_header();  // etcd sends nested txns an empty header
  for (const RequestOp& op : ok ? req.success() : req.failure()) {
    etcdserverpb::ResponseOp* out = resp->add_responses();
    switch (op.request_case()) {
      case RequestOp::kRequestRange:
        RETURN_IF_ERROR(w.DoRange(sc, op.request_range(), out->mutable_response_range()));
        break;
      case RequestOp::kRequestPut:
        RETURN_IF_ERROR(w.DoPut(sc, op.request_put(), out->mutable_response_put()));
        break;
      case RequestOp::kRequestDeleteRange:
        RETURN_IF_ERROR(
            w.DoDeleteRange(sc, op.request_delete_range(), out->mutable_response_delete_range()));
        break;
      case RequestOp::kRequestTxn:
        RETURN_IF_ERROR(ApplyTxn(w, sc, op.request_txn(), path, pos, out->mutable_response_txn()));
        break;
      default:
        break;  // an empty op; validation rejects these
    }
  }
  return Status::Ok();
}

}  // namespace

Status WriteState::DoTxn(const Scope& sc, const TxnRequest& req, TxnResponse* resp) {
  const int64_t before = sc.begin_rev;
  std::vector<bool> path;
  RETURN_IF_ERROR(ComputePath(*this, req, before, &path));

  // Checked against the state before the txn, before anything is written.
  size_t pos = 0;
  RETURN_IF_ERROR(CheckRequests(req, path, &pos, [&](const RequestOp& op) -> Status {
    if (!op.has_request_put()) return Status::Ok();
    const auto& put = op.request_put();
    if (put.ignore_value() || put.ignore_lease()) {
      const KeyIndex* ki = s->index.Find(put.key());
      if (ki == nullptr || !ki->Get(before)) return ErrKeyNotFound();
    }
    return CheckLease(put.lease());
  }));
  pos = 0;
  RETURN_IF_ERROR(CheckRequests(req, path, &pos, [&](const RequestOp& op) -> Status {
    if (!op.has_request_range()) return Status::Ok();
    const int64_t r = op.request_range().revision();
    if (r == 0) return Status::Ok();
    if (r > before) return ErrFutureRev();
    if (r < compact_rev) return ErrCompacted();
    return Status::Ok();
  }));

  pos = 0;
  RETURN_IF_ERROR(ApplyTxn(*this, sc, req, path, &pos, resp));
  resp->mutable_header()->set_revision(ReadRev(sc));
  return Status::Ok();
}

}  // namespace etcdd::mvcc::internal
