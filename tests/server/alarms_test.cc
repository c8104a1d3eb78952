// The alarm store over a real mvcc::Store: activation and deactivation as
// etcd's v3alarm.AlarmStore answers them, the records kept in the backend
// across a reopen, and a record that does not decode.
#include "server/alarms.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "../mvcc/mvcc_test_util.h"

namespace etcdd::server {
namespace {

namespace pb = etcdserverpb;

class AlarmStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = mvcc::testing::MakeTempDir();
    Open();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    store_.reset();
    auto s = mvcc::Store::Open(dir_, mvcc::Options{});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    alarms_ = std::make_unique<AlarmStore>();
    ASSERT_TRUE(alarms_->Reload(*store_).ok());
  }
  template <typename Fn>
  void Apply(Fn fn) {
    auto txn = store_->BeginWrite();
    ASSERT_TRUE(txn.ok());
    fn(**txn);
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  static std::vector<std::pair<uint64_t, int>> Listed(const std::vector<pb::AlarmMember>& v) {
    std::vector<std::pair<uint64_t, int>> out;
    for (const auto& m : v) out.emplace_back(m.memberid(), m.alarm());
    return out;
  }

  std::string dir_;
  std::unique_ptr<mvcc::Store> store_;
  std::unique_ptr<AlarmStore> alarms_;
};

TEST_F(AlarmStoreTest, ActivateIsIdempotentAndReportsTheFirstOfItsType) {
  Apply([&](mvcc::Store::WriteTxn& txn) {
    bool first = false;
    auto m = alarms_->Activate(txn, 7, pb::NOSPACE, &first);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->memberid(), 7u);
    EXPECT_TRUE(first);
    ASSERT_TRUE(alarms_->Activate(txn, 7, pb::NOSPACE, &first).ok());
    EXPECT_FALSE(first);  // already active: returned, not raised again
    ASSERT_TRUE(alarms_->Activate(txn, 3, pb::NOSPACE, &first).ok());
    EXPECT_FALSE(first);  // NOSPACE was already active (member 7's)
    ASSERT_TRUE(alarms_->Activate(txn, 9, pb::CORRUPT, &first).ok());
    EXPECT_TRUE(first);
  });
  EXPECT_TRUE(alarms_->Active(pb::NOSPACE));
  EXPECT_TRUE(alarms_->Has(3, pb::NOSPACE));
  EXPECT_FALSE(alarms_->Has(3, pb::CORRUPT));
  using L = std::vector<std::pair<uint64_t, int>>;
  EXPECT_EQ(Listed(alarms_->Get(pb::NONE)), (L{{3, 1}, {7, 1}, {9, 2}}));
  EXPECT_EQ(Listed(alarms_->Get(pb::CORRUPT)), (L{{9, 2}}));
}

TEST_F(AlarmStoreTest, DeactivateReportsTheLastOfItsTypeAndIgnoresUnknownOnes) {
  Apply([&](mvcc::Store::WriteTxn& txn) {
    bool first = false;
    ASSERT_TRUE(alarms_->Activate(txn, 7, pb::NOSPACE, &first).ok());
    ASSERT_TRUE(alarms_->Activate(txn, 8, pb::NOSPACE, &first).ok());
  });
  Apply([&](mvcc::Store::WriteTxn& txn) {
    bool last = true;
    auto none = alarms_->Deactivate(txn, 7, pb::CORRUPT, &last);
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
    EXPECT_FALSE(last);
    auto m = alarms_->Deactivate(txn, 7, pb::NOSPACE, &last);
    ASSERT_TRUE(m.ok() && m->has_value());
    EXPECT_EQ((*m)->memberid(), 7u);
    EXPECT_FALSE(last);  // member 8's remains
    ASSERT_TRUE(alarms_->Deactivate(txn, 8, pb::NOSPACE, &last).ok());
    EXPECT_TRUE(last);
  });
  EXPECT_FALSE(alarms_->Active(pb::NOSPACE));
  EXPECT_TRUE(alarms_->Get(pb::NONE).empty());
}

TEST_F(AlarmStoreTest, AlarmsSurviveAReopen) {
  Apply([&](mvcc::Store::WriteTxn& txn) {
    bool first = false;
    ASSERT_TRUE(alarms_->Activate(txn, 0xabc, pb::NOSPACE, &first).ok());
    ASSERT_TRUE(alarms_->Activate(txn, 0xdef, pb::NOSPACE, &first).ok());
    bool last = false;
    ASSERT_TRUE(alarms_->Deactivate(txn, 0xdef, pb::NOSPACE, &last).ok());
  });
  Open();
  EXPECT_EQ(Listed(alarms_->Get(pb::NONE)), (std::vector<std::pair<uint64_t, int>>{{0xabc, 1}}));
  auto raw = store_->GetMeta(AlarmMetaKey(0xabc, pb::NOSPACE));
  ASSERT_TRUE(raw.ok() && raw->has_value());
  pb::AlarmMember m;
  ASSERT_TRUE(m.ParseFromString(**raw));  // etcd's alarm bucket key
  EXPECT_EQ(m.memberid(), 0xabcu);
}

TEST_F(AlarmStoreTest, AnUndecodableRecordIsNamedAndChangesNothing) {
  Apply([&](mvcc::Store::WriteTxn& txn) {
    bool first = false;
    ASSERT_TRUE(alarms_->Activate(txn, 1, pb::NOSPACE, &first).ok());
    ASSERT_TRUE(txn.PutMeta(std::string(kAlarmMetaPrefix) + "garbage", "\xff").ok());
  });
  Status s = alarms_->Reload(*store_);
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
  EXPECT_NE(s.ToString().find("alarm/garbage"), std::string::npos) << s.ToString();
  EXPECT_TRUE(alarms_->Has(1, pb::NOSPACE));
}

TEST(AlarmErrors, AreEtcds) {
  EXPECT_EQ(ErrNoSpace().code(), Code::kResourceExhausted);
  EXPECT_EQ(ErrNoSpace().message(), "etcdserver: mvcc: database space exceeded");
  EXPECT_TRUE(IsNoSpace(ErrNoSpace()));
  EXPECT_EQ(ErrCorrupt().code(), Code::kDataLoss);
  EXPECT_EQ(ErrCorrupt().message(), "etcdserver: corrupt cluster");
}

}  // namespace
}  // namespace etcdd::server
