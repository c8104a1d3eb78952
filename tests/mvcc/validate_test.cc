// mvcc/validate.h against etcd's v3rpc/key.go checks.
#include "mvcc/validate.h"

#include <gtest/gtest.h>

namespace etcdd::mvcc {
namespace {

using etcdserverpb::DeleteRangeRequest;
using etcdserverpb::PutRequest;
using etcdserverpb::RangeRequest;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;

void ExpectError(const Status& st, const std::string& message) {
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  EXPECT_EQ(st.message(), message);
}

const char kEmptyKey[] = "etcdserver: key is not provided";
const char kDuplicate[] = "etcdserver: duplicate key given in txn request";

RequestOp Put(const std::string& key) {
  RequestOp op;
  op.mutable_request_put()->set_key(key);
  return op;
}
RequestOp Del(const std::string& key, const std::string& end = "") {
  RequestOp op;
  op.mutable_request_delete_range()->set_key(key);
  op.mutable_request_delete_range()->set_range_end(end);
  return op;
}
RequestOp Nested(const TxnRequest& t) {
  RequestOp op;
  *op.mutable_request_txn() = t;
  return op;
}

TEST(ValidateTest, EmptyKeys) {
  ExpectError(CheckRangeRequest(RangeRequest()), kEmptyKey);
  ExpectError(CheckPutRequest(PutRequest()), kEmptyKey);
  ExpectError(CheckDeleteRequest(DeleteRangeRequest()), kEmptyKey);
  RangeRequest r;
  r.set_key("a");
  EXPECT_TRUE(CheckRangeRequest(r).ok());
}

TEST(ValidateTest, PutIgnoreFlags) {
  PutRequest p;
  p.set_key("a");
  p.set_ignore_value(true);
  EXPECT_TRUE(CheckPutRequest(p).ok());
  p.set_value("v");
  ExpectError(CheckPutRequest(p), "etcdserver: value is provided");
  p.clear_value();
  p.set_ignore_lease(true);
  p.set_lease(5);
  ExpectError(CheckPutRequest(p), "etcdserver: lease is provided");
}

TEST(ValidateTest, TooManyOps) {
  TxnRequest t;
  for (int i = 0; i < 3; ++i) *t.add_success() = Put("k" + std::to_string(i));
  EXPECT_TRUE(CheckTxnRequest(t, 3).ok());
  ExpectError(CheckTxnRequest(t, 2), "etcdserver: too many operations in txn request");
  TxnRequest c;
  for (int i = 0; i < 3; ++i) c.add_compare()->set_key("k");
  ExpectError(CheckTxnRequest(c, 2), "etcdserver: too many operations in txn request");
  // A nested txn gets what its parent leaves: 3 - 2.
  TxnRequest inner;
  *inner.add_success() = Put("x");
  *inner.add_success() = Put("y");
  TxnRequest outer;
  *outer.add_success() = Nested(inner);
  *outer.add_success() = Put("z");
  ExpectError(CheckTxnRequest(outer, 3), "etcdserver: too many operations in txn request");
  EXPECT_TRUE(CheckTxnRequest(outer, 4).ok());
  EXPECT_TRUE(CheckTxnRequest(outer, kDefaultMaxTxnOps).ok());
}

TEST(ValidateTest, TxnKeysAndEmptyOps) {
  TxnRequest t;
  t.add_compare();
  ExpectError(CheckTxnRequest(t, 128), kEmptyKey);
  TxnRequest u;
  *u.add_failure() = Put("");
  ExpectError(CheckTxnRequest(u, 128), kEmptyKey);
  TxnRequest e;
  e.add_success();
  ExpectError(CheckTxnRequest(e, 128), "etcdserver: key not found");
}

TEST(ValidateTest, DuplicatePuts) {
  TxnRequest t;
  *t.add_success() = Put("a");
  *t.add_success() = Put("a");
  ExpectError(CheckTxnRequest(t, 128), kDuplicate);
  // Success and failure are separate.
  TxnRequest s;
  *s.add_success() = Put("a");
  *s.add_failure() = Put("a");
  EXPECT_TRUE(CheckTxnRequest(s, 128).ok());
}

TEST(ValidateTest, PutInsideDeletedRange) {
  TxnRequest t;
  *t.add_success() = Del("a", "c");
  *t.add_success() = Put("b");
  ExpectError(CheckTxnRequest(t, 128), kDuplicate);
  TxnRequest single;
  *single.add_success() = Put("b");
  *single.add_success() = Del("b");
  ExpectError(CheckTxnRequest(single, 128), kDuplicate);
  TxnRequest outside;
  *outside.add_success() = Del("a", "c");
  *outside.add_success() = Put("c");
  EXPECT_TRUE(CheckTxnRequest(outside, 128).ok());
  // etcd 3.4 quirk: a from-key delete conflicts with nothing.
  TxnRequest from_key;
  *from_key.add_success() = Del("a", std::string(1, '\0'));
  *from_key.add_success() = Put("b");
  EXPECT_TRUE(CheckTxnRequest(from_key, 128).ok());
}

TEST(ValidateTest, NestedTxns) {
  TxnRequest inner;
  *inner.add_success() = Put("a");
  *inner.add_failure() = Put("a");
  TxnRequest outer;
  *outer.add_success() = Nested(inner);
  EXPECT_TRUE(CheckTxnRequest(outer, 128).ok());
  *outer.add_success() = Put("a");
  ExpectError(CheckTxnRequest(outer, 128), kDuplicate);

  TxnRequest two;
  *two.add_success() = Nested(inner);
  *two.add_success() = Nested(inner);
  ExpectError(CheckTxnRequest(two, 128), kDuplicate);

  TxnRequest del_inner;
  *del_inner.add_success() = Del("a");
  TxnRequest del_then_put;
  *del_then_put.add_success() = Nested(del_inner);
  *del_then_put.add_success() = Put("a");
  ExpectError(CheckTxnRequest(del_then_put, 128), kDuplicate);
}

}  // namespace
}  // namespace etcdd::mvcc
