#include "recipes/requests.h"

#include <cstdio>

#include "base/key_range.h"

namespace etcdd::recipes {

namespace pb = etcdserverpb;

namespace {

pb::Compare CreateRevisionIs(const std::string& key, int64_t revision) {
  pb::Compare c;
  c.set_key(key);
  c.set_target(pb::Compare::CREATE);
  c.set_result(pb::Compare::EQUAL);
  c.set_create_revision(revision);
  return c;
}

void AddPut(pb::RequestOp* op, const std::string& key, const std::string& value, int64_t lease) {
  pb::PutRequest* put = op->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
}

pb::RangeRequest ByCreate(const std::string& prefix, pb::RangeRequest::SortOrder order) {
  pb::RangeRequest r;
  r.set_key(prefix);
  r.set_range_end(PrefixRangeEnd(prefix));
  r.set_sort_target(pb::RangeRequest::CREATE);
  r.set_sort_order(order);
  r.set_limit(1);
  return r;
}

}  // namespace

std::string SessionKey(const std::string& prefix, int64_t lease) {
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%llx", static_cast<unsigned long long>(lease));
  return prefix + hex;
}

pb::RangeRequest FirstCreated(const std::string& prefix) {
  return ByCreate(prefix, pb::RangeRequest::ASCEND);
}

pb::RangeRequest LastCreatedUpTo(const std::string& prefix, int64_t max_create_revision) {
  pb::RangeRequest r = ByCreate(prefix, pb::RangeRequest::DESCEND);
  r.set_max_create_revision(max_create_revision);
  return r;
}

pb::TxnRequest LockTxn(const std::string& prefix, const std::string& key, int64_t lease) {
  pb::TxnRequest t;
  *t.add_compare() = CreateRevisionIs(key, 0);
  AddPut(t.add_success(), key, "", lease);
  *t.add_success()->mutable_request_range() = FirstCreated(prefix);
  t.add_failure()->mutable_request_range()->set_key(key);
  *t.add_failure()->mutable_request_range() = FirstCreated(prefix);
  return t;
}

pb::TxnRequest CampaignTxn(const std::string& key, const std::string& value, int64_t lease) {
  pb::TxnRequest t;
  *t.add_compare() = CreateRevisionIs(key, 0);
  AddPut(t.add_success(), key, value, lease);
  t.add_failure()->mutable_request_range()->set_key(key);
  return t;
}

pb::TxnRequest ProclaimTxn(const std::string& key, int64_t revision, const std::string& value,
                           int64_t lease) {
  pb::TxnRequest t;
  *t.add_compare() = CreateRevisionIs(key, revision);
  AddPut(t.add_success(), key, value, lease);
  return t;
}

pb::TxnRequest ResignTxn(const std::string& key, int64_t revision) {
  pb::TxnRequest t;
  *t.add_compare() = CreateRevisionIs(key, revision);
  t.add_success()->mutable_request_delete_range()->set_key(key);
  return t;
}

}  // namespace etcdd::recipes
