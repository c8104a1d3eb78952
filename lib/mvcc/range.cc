#include "mvcc/range.h"

#include <algorithm>
#include <cstdint>

#include "mvcc/errors.h"
#include "mvcc/lmdb_util.h"
#include "mvcc/read_view.h"

namespace etcdd::mvcc::internal {

using etcdserverpb::RangeRequest;
using etcdserverpb::RangeResponse;
using mvccpb::KeyValue;

Result<int64_t> ResolveReadRevision(int64_t requested, int64_t current, int64_t compact) {
  if (requested > current) return ErrFutureRev();
  const int64_t rev = requested <= 0 ? current : requested;
  if (rev < compact) return ErrCompacted();
  return rev;
}

size_t RevisionsToFetch(const RangeRequest& req) {
  if (req.count_only()) return 0;
  const bool filtered = req.min_mod_revision() != 0 || req.max_mod_revision() != 0 ||
                        req.min_create_revision() != 0 || req.max_create_revision() != 0;
  // etcd reads everything when it sorts or filters, else limit+1 for `more`.
  // (An order of NONE with a non-KEY target does not count as sorting here.)
  if (req.sort_order() != RangeRequest::NONE || filtered || req.limit() <= 0) return SIZE_MAX;
  return static_cast<size_t>(req.limit()) + 1;
}

int64_t CollectRevisions(const TreeIndex& index, const KeyRange& range, int64_t at_rev,
                         size_t max_out, std::vector<Revision>* out) {
  int64_t count = 0;
  index.Visit(range, [&](const std::string&, const KeyIndex& ki) {
    if (auto kr = ki.Get(at_rev)) {
      if (out->size() < max_out) out->push_back(kr->mod);
      ++count;
    }
  });
  return count;
}

Status FetchKeyValue(MDB_txn* txn, MDB_dbi key_dbi, Revision rev, const std::string& where,
                     KeyValue* kv) {
  RevKey key(rev, false);
  MDB_val k = lmdb::Val(key.view());
  MDB_val v;
  int rc = mdb_get(txn, key_dbi, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return Status::Corruption("key database lacks indexed revision " + std::to_string(rev.main) +
                                  "_" + std::to_string(rev.sub),
                              where);
  }
  if (rc != MDB_SUCCESS) return lmdb::FromRc(rc, "mdb_get(key)", where);
  if (!kv->ParseFromArray(v.mv_data, static_cast<int>(v.mv_size))) {
    return Status::Corruption("unparsable KeyValue at revision " + std::to_string(rev.main) + "_" +
                                  std::to_string(rev.sub),
                              where);
  }
  return Status::Ok();
}

namespace {

// Keeps the kvs for which keep() is true, in order (etcd pruneKVs).
template <typename Pred>
void Prune(google::protobuf::RepeatedPtrField<KeyValue>* kvs, Pred keep) {
  int j = 0;
  for (int i = 0; i < kvs->size(); ++i) {
    if (!keep(kvs->Get(i))) continue;
    if (i != j) kvs->SwapElements(i, j);
    ++j;
  }
  if (j < kvs->size()) kvs->DeleteSubrange(j, kvs->size() - j);
}

void ApplyFilters(const RangeRequest& req, google::protobuf::RepeatedPtrField<KeyValue>* kvs) {
  if (req.max_mod_revision() != 0) {
    Prune(kvs, [&](const KeyValue& kv) { return kv.mod_revision() <= req.max_mod_revision(); });
  }
  if (req.min_mod_revision() != 0) {
    Prune(kvs, [&](const KeyValue& kv) { return kv.mod_revision() >= req.min_mod_revision(); });
  }
  if (req.max_create_revision() != 0) {
    Prune(kvs,
          [&](const KeyValue& kv) { return kv.create_revision() <= req.max_create_revision(); });
  }
  if (req.min_create_revision() != 0) {
    Prune(kvs,
          [&](const KeyValue& kv) { return kv.create_revision() >= req.min_create_revision(); });
  }
}

// Strict "less" on the sort target.
bool TargetLess(RangeRequest::SortTarget target, const KeyValue& a, const KeyValue& b) {
  switch (target) {
    case RangeRequest::VERSION:
      return a.version() < b.version();
    case RangeRequest::CREATE:
      return a.create_revision() < b.create_revision();
    case RangeRequest::MOD:
      return a.mod_revision() < b.mod_revision();
    case RangeRequest::VALUE:
      return a.value() < b.value();
    default:
      return a.key() < b.key();
  }
}

// etcd sorts with Go's sort.Sort, which is unstable for large inputs; we sort
// stably, so ties keep key order (Go's result for up to 12 keys).
void ApplySort(const RangeRequest& req, google::protobuf::RepeatedPtrField<KeyValue>* kvs) {
  auto order = req.sort_order();
  const auto target = req.sort_target();
  if (target != RangeRequest::KEY && order == RangeRequest::NONE) order = RangeRequest::ASCEND;
  if (order == RangeRequest::NONE) return;
  // Results come in ascending key order already.
  if (target == RangeRequest::KEY && order == RangeRequest::ASCEND) return;
  if (order == RangeRequest::ASCEND) {
    std::stable_sort(
        kvs->pointer_begin(), kvs->pointer_end(),
        [&](const KeyValue* a, const KeyValue* b) { return TargetLess(target, *a, *b); });
  } else if (order == RangeRequest::DESCEND) {
    std::stable_sort(
        kvs->pointer_begin(), kvs->pointer_end(),
        [&](const KeyValue* a, const KeyValue* b) { return TargetLess(target, *b, *a); });
  }
}

}  // namespace

Status FinishRange(const RangeRequest& req, int64_t count, const std::vector<Revision>& revs,
                   MDB_txn* txn, MDB_dbi key_dbi, const std::string& where, RangeResponse* resp) {
  resp->set_count(count);
  if (revs.empty()) return Status::Ok();
  auto* kvs = resp->mutable_kvs();
  kvs->Reserve(static_cast<int>(revs.size()));
  // keys_only: values go as they are read (a range over the whole key space
  // must not hold every value at once), unless the sort needs them.
  const bool drop_values = req.keys_only() && req.sort_target() != RangeRequest::VALUE;
  for (const Revision& rev : revs) {
    KeyValue* kv = kvs->Add();
    RETURN_IF_ERROR(FetchKeyValue(txn, key_dbi, rev, where, kv));
    if (drop_values) {
      kv->clear_value();
      kv->mutable_value()->shrink_to_fit();
    }
  }
  ApplyFilters(req, kvs);
  ApplySort(req, kvs);
  if (req.limit() > 0 && kvs->size() > req.limit()) {
    kvs->DeleteSubrange(static_cast<int>(req.limit()), kvs->size() - static_cast<int>(req.limit()));
    resp->set_more(true);
  }
  if (req.keys_only()) {
    for (auto& kv : *kvs) kv.clear_value();
  }
  return Status::Ok();
}

Status ReadView::Range(const RangeRequest& req, RangeResponse* resp) const {
  ASSIGN_OR_RETURN(int64_t at, ResolveReadRevision(req.revision(), rev, compact_rev));
  std::vector<Revision> revs;
  int64_t count = 0;
  RETURN_IF_ERROR(WithIndex(at, [&](const TreeIndex& index) {
    count = CollectRevisions(index, KeyRange::Make(req.key(), req.range_end()), at,
                             RevisionsToFetch(req), &revs);
  }));
  resp->mutable_header()->set_revision(rev);
  return FinishRange(req, count, revs, txn, s->key_dbi, s->data_path, resp);
}

}  // namespace etcdd::mvcc::internal
