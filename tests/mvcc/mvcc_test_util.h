// Helpers for lib/mvcc tests: a Store in a temporary directory and request
// builders.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "mvcc/store.h"

namespace etcdd::mvcc::testing {

inline std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "mvcc_test.XXXXXX").string();
  char* d = ::mkdtemp(tmpl.data());
  EXPECT_NE(d, nullptr);
  return tmpl;
}

inline etcdserverpb::RangeRequest RangeReq(const std::string& key, const std::string& end = "",
                                           int64_t rev = 0) {
  etcdserverpb::RangeRequest r;
  r.set_key(key);
  r.set_range_end(end);
  r.set_revision(rev);
  return r;
}

inline etcdserverpb::PutRequest PutReq(const std::string& key, const std::string& value,
                                       int64_t lease = 0) {
  etcdserverpb::PutRequest r;
  r.set_key(key);
  r.set_value(value);
  r.set_lease(lease);
  return r;
}

inline etcdserverpb::DeleteRangeRequest DelReq(const std::string& key,
                                               const std::string& end = "") {
  etcdserverpb::DeleteRangeRequest r;
  r.set_key(key);
  r.set_range_end(end);
  return r;
}

inline std::vector<std::string> Keys(const etcdserverpb::RangeResponse& r) {
  std::vector<std::string> out;
  for (const auto& kv : r.kvs()) out.push_back(kv.key());
  return out;
}

inline std::vector<std::string> Values(const etcdserverpb::RangeResponse& r) {
  std::vector<std::string> out;
  for (const auto& kv : r.kvs()) out.push_back(kv.value());
  return out;
}

// A compare of `target` (not VALUE) against `n` over [key, end).
inline etcdserverpb::Compare Cmp(const std::string& key,
                                 etcdserverpb::Compare::CompareTarget target,
                                 etcdserverpb::Compare::CompareResult result, int64_t n,
                                 const std::string& end = "") {
  etcdserverpb::Compare c;
  c.set_key(key);
  c.set_range_end(end);
  c.set_target(target);
  c.set_result(result);
  switch (target) {
    case etcdserverpb::Compare::VERSION:
      c.set_version(n);
      break;
    case etcdserverpb::Compare::CREATE:
      c.set_create_revision(n);
      break;
    case etcdserverpb::Compare::MOD:
      c.set_mod_revision(n);
      break;
    case etcdserverpb::Compare::LEASE:
      c.set_lease(n);
      break;
    default:
      break;
  }
  return c;
}

// A VALUE compare against `v` over [key, end).
inline etcdserverpb::Compare CmpValue(const std::string& key,
                                      etcdserverpb::Compare::CompareResult result,
                                      const std::string& v, const std::string& end = "") {
  etcdserverpb::Compare c;
  c.set_key(key);
  c.set_range_end(end);
  c.set_target(etcdserverpb::Compare::VALUE);
  c.set_result(result);
  c.set_value(v);
  return c;
}

inline constexpr int64_t kUnknownLease = 5000;

// A Store in a fresh temporary directory, removed afterwards. Write helpers
// run each request in its own committed WriteTxn.
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Every lease exists, as if granted, except kUnknownLease.
  static Options WithLeases(Options opts = Options()) {
    opts.lease_exists = [](int64_t lease) { return lease != kUnknownLease; };
    return opts;
  }

  void Reopen(const Options& opts = WithLeases()) {
    store_.reset();
    auto r = Store::Open(dir_, opts);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    store_ = std::move(r).value();
  }

  std::unique_ptr<Store::WriteTxn> Begin() {
    auto r = store_->BeginWrite();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  etcdserverpb::PutResponse Put(const etcdserverpb::PutRequest& req) {
    auto txn = Begin();
    auto r = txn->Put(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(txn->Commit().ok());
    return r.ok() ? *r : etcdserverpb::PutResponse();
  }
  etcdserverpb::PutResponse Put(const std::string& key, const std::string& value,
                                int64_t lease = 0) {
    return Put(PutReq(key, value, lease));
  }

  etcdserverpb::DeleteRangeResponse Del(const etcdserverpb::DeleteRangeRequest& req) {
    auto txn = Begin();
    auto r = txn->DeleteRange(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(txn->Commit().ok());
    return r.ok() ? *r : etcdserverpb::DeleteRangeResponse();
  }
  etcdserverpb::DeleteRangeResponse Del(const std::string& key, const std::string& end = "") {
    return Del(DelReq(key, end));
  }

  Result<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& req) {
    auto txn = Begin();
    auto r = txn->Txn(req);
    EXPECT_TRUE(txn->Commit().ok());
    return r;
  }

  Result<etcdserverpb::CompactionResponse> Compact(int64_t rev) {
    auto txn = Begin();
    etcdserverpb::CompactionRequest req;
    req.set_revision(rev);
    auto r = txn->Compact(req);
    EXPECT_TRUE(txn->Commit().ok());
    return r;
  }

  etcdserverpb::RangeResponse Get(const etcdserverpb::RangeRequest& req) {
    auto r = store_->Range(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : etcdserverpb::RangeResponse();
  }
  etcdserverpb::RangeResponse Get(const std::string& key, const std::string& end = "",
                                  int64_t rev = 0) {
    return Get(RangeReq(key, end, rev));
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace etcdd::mvcc::testing
