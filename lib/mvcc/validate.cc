#include "mvcc/validate.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mvcc/errors.h"

namespace etcdd::mvcc {

using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;
using Ops = google::protobuf::RepeatedPtrField<RequestOp>;

Status CheckRangeRequest(const etcdserverpb::RangeRequest& req) {
  if (req.key().empty()) return ErrEmptyKey();
  return Status::Ok();
}

Status CheckPutRequest(const etcdserverpb::PutRequest& req) {
  if (req.key().empty()) return ErrEmptyKey();
  if (req.ignore_value() && !req.value().empty()) return ErrValueProvided();
  if (req.ignore_lease() && req.lease() != 0) return ErrLeaseProvided();
  return Status::Ok();
}

Status CheckDeleteRequest(const etcdserverpb::DeleteRangeRequest& req) {
  if (req.key().empty()) return ErrEmptyKey();
  return Status::Ok();
}

namespace {

Status CheckTxnOps(const TxnRequest& req, int max_txn_ops);

Status CheckRequestOp(const RequestOp& op, int max_txn_ops) {
  switch (op.request_case()) {
    case RequestOp::kRequestRange:
      return CheckRangeRequest(op.request_range());
    case RequestOp::kRequestPut:
      return CheckPutRequest(op.request_put());
    case RequestOp::kRequestDeleteRange:
      return CheckDeleteRequest(op.request_delete_range());
    case RequestOp::kRequestTxn:
      return CheckTxnOps(op.request_txn(), max_txn_ops);
    default:
      return ErrKeyNotFound();  // etcd: an empty op is "key not found"
  }
}

// etcd checkTxnRequest.
Status CheckTxnOps(const TxnRequest& req, int max_txn_ops) {
  const int opc = std::max({req.compare_size(), req.success_size(), req.failure_size()});
  if (opc > max_txn_ops) return ErrTooManyOps();
  for (const auto& c : req.compare()) {
    if (c.key().empty()) return ErrEmptyKey();
  }
  for (const Ops* ops : {&req.success(), &req.failure()}) {
    for (const RequestOp& op : *ops) RETURN_IF_ERROR(CheckRequestOp(op, max_txn_ops - opc));
  }
  return Status::Ok();
}

// Key ranges deleted by a txn branch: [begin, end), a single key k being
// [k, k"\0"). A from-key delete (end "\0") contains no key, as in etcd,
// whose interval tree treats it as the empty interval [key, "\0").
class Deletes {
 public:
  void Add(const etcdserverpb::DeleteRangeRequest& d) {
    if (d.range_end().empty()) {
      ivs_.emplace_back(d.key(), d.key() + std::string(1, '\0'));
    } else {
      ivs_.emplace_back(d.key(), d.range_end());
    }
  }
  void Merge(const Deletes& o) { ivs_.insert(ivs_.end(), o.ivs_.begin(), o.ivs_.end()); }
  bool Contains(const std::string& k) const {
    return std::any_of(ivs_.begin(), ivs_.end(),
                       [&](const auto& iv) { return iv.first <= k && k < iv.second; });
  }

 private:
  std::vector<std::pair<std::string, std::string>> ivs_;
};

// etcd checkIntervals: fills the keys put and ranges deleted by `reqs`.
Status CheckIntervals(const Ops& reqs, std::set<std::string>* puts, Deletes* dels) {
  for (const RequestOp& op : reqs) {
    if (op.has_request_delete_range()) dels->Add(op.request_delete_range());
  }
  for (const RequestOp& op : reqs) {
    if (!op.has_request_txn()) continue;
    std::set<std::string> puts_then, puts_else;
    Deletes dels_then, dels_else;
    RETURN_IF_ERROR(CheckIntervals(op.request_txn().success(), &puts_then, &dels_then));
    RETURN_IF_ERROR(CheckIntervals(op.request_txn().failure(), &puts_else, &dels_else));
    for (const std::string& k : puts_then) {
      if (puts->count(k) != 0 || dels->Contains(k)) return ErrDuplicateKey();
      puts->insert(k);
    }
    for (const std::string& k : puts_else) {
      // then and else exclude each other: the same key in both is fine.
      if (puts->count(k) != 0 && puts_then.count(k) == 0) return ErrDuplicateKey();
      if (dels->Contains(k)) return ErrDuplicateKey();
      puts->insert(k);
    }
    dels->Merge(dels_then);
    dels->Merge(dels_else);
  }
  for (const RequestOp& op : reqs) {
    if (!op.has_request_put()) continue;
    const std::string& k = op.request_put().key();
    if (puts->count(k) != 0 || dels->Contains(k)) return ErrDuplicateKey();
    puts->insert(k);
  }
  return Status::Ok();
}

}  // namespace

Status CheckTxnRequest(const TxnRequest& req, int max_txn_ops) {
  RETURN_IF_ERROR(CheckTxnOps(req, max_txn_ops));
  for (const Ops* ops : {&req.success(), &req.failure()}) {
    std::set<std::string> puts;
    Deletes dels;
    RETURN_IF_ERROR(CheckIntervals(*ops, &puts, &dels));
  }
  return Status::Ok();
}

}  // namespace etcdd::mvcc
