// Randomized: batches of puts, deletes, txns and compactions (some batches
// aborted, the store sometimes reopened) against a naive model that keeps the
// whole key space at every revision. Every read at every readable revision
// must match the model. The seed is printed on failure.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "mvcc/errors.h"
#include "mvcc_test_util.h"

namespace etcdd::mvcc {
namespace {

using testing::PutReq;
using testing::RangeReq;
using testing::StoreTest;

struct ModelKv {
  std::string value;
  int64_t create = 0;
  int64_t mod = 0;
  int64_t version = 0;
};
using Space = std::map<std::string, ModelKv>;

class Model {
 public:
  Model() : states_(2) {}  // revisions 0 and 1: empty

  int64_t rev() const { return static_cast<int64_t>(states_.size()) - 1; }
  const Space& at(int64_t rev) const { return states_[static_cast<size_t>(rev)]; }

  // Applies `writes` (key -> value, nullopt = delete) as one revision if any
  // of them changes something.
  void Apply(const std::vector<std::pair<std::string, std::optional<std::string>>>& writes) {
    Space next = states_.back();
    const int64_t r = rev() + 1;
    bool changed = false;
    for (const auto& [key, value] : writes) {
      auto it = next.find(key);
      if (!value) {
        if (it != next.end()) {
          next.erase(it);
          changed = true;
        }
        continue;
      }
      ModelKv kv{*value, r, r, 1};
      if (it != next.end()) {
        kv.create = it->second.create;
        kv.version = it->second.version + 1;
      }
      next[key] = kv;
      changed = true;
    }
    if (changed) states_.push_back(std::move(next));
  }
  void Truncate(int64_t rev) { states_.resize(static_cast<size_t>(rev) + 1); }

 private:
  std::vector<Space> states_;
};

std::string KeyName(int i) { return "k" + std::to_string(i); }

class ModelTest : public StoreTest {
 protected:
  // Checks every readable revision, over the whole key space and two ranges.
  void CheckAll(const Model& model, int64_t compact) {
    ASSERT_EQ(store_->CurrentRevision(), model.rev());
    for (int64_t rev = std::max<int64_t>(compact, 1); rev <= model.rev(); ++rev) {
      CheckRange(model.at(rev), rev, "k", "l");
      CheckRange(model.at(rev), rev, "k3", "k6");
    }
    if (compact > 1) {
      auto r = store_->Range(RangeReq("k", "l", compact - 1));
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().message(), ErrCompacted().message());
    }
  }

  void CheckRange(const Space& space, int64_t rev, const std::string& key, const std::string& end) {
    auto r = store_->Range(RangeReq(key, end, rev));
    ASSERT_TRUE(r.ok()) << "rev " << rev << ": " << r.status().ToString();
    std::vector<std::string> got, want;
    for (const auto& kv : r->kvs()) {
      got.push_back(kv.key() + "=" + kv.value() + "@" + std::to_string(kv.create_revision()) + "/" +
                    std::to_string(kv.mod_revision()) + "/v" + std::to_string(kv.version()));
    }
    for (auto it = space.lower_bound(key); it != space.end() && it->first < end; ++it) {
      const ModelKv& kv = it->second;
      want.push_back(it->first + "=" + kv.value + "@" + std::to_string(kv.create) + "/" +
                     std::to_string(kv.mod) + "/v" + std::to_string(kv.version));
    }
    ASSERT_EQ(got, want) << "range [" << key << ", " << end << ") at revision " << rev;
  }
};

// One random request applied to both the WriteTxn and the model.
class RandomWriter {
 public:
  explicit RandomWriter(unsigned seed) : rng_(seed) {}

  int Pick(int n) { return static_cast<int>(rng_() % static_cast<unsigned>(n)); }

  // Compactions go to at most halfway between *compact and the current
  // revision, so plenty of history stays readable; *compact follows.
  void Step(Store::WriteTxn* txn, Model* model, int64_t* compact) {
    const int kind = Pick(20);
    if (kind < 13) {
      const std::string key = KeyName(Pick(8));
      const std::string value = NewValue();
      ASSERT_TRUE(txn->Put(PutReq(key, value)).ok());
      model->Apply({{key, value}});
    } else if (kind < 15) {
      const int a = Pick(8);
      const std::string from = KeyName(a), to = KeyName(a + 1 + Pick(2));
      ASSERT_TRUE(txn->DeleteRange(testing::DelReq(from, to)).ok());
      Writes dels;
      for (const auto& [key, kv] : model->at(model->rev())) {
        if (key >= from && key < to) dels.emplace_back(key, std::nullopt);
      }
      model->Apply(dels);
    } else if (kind < 18) {
      // A txn deleting one key and putting two others.
      const int a = Pick(8);
      const int b = (a + 1 + Pick(7)) % 8;
      const int c = (b + 1 + Pick(6)) % 8;
      etcdserverpb::TxnRequest t;
      *t.add_success()->mutable_request_delete_range() = testing::DelReq(KeyName(a));
      Writes writes = {{KeyName(a), std::nullopt}};
      for (int k : {b, c}) {
        if (k == a) continue;
        const std::string value = NewValue();
        *t.add_success()->mutable_request_put() = PutReq(KeyName(k), value);
        writes.emplace_back(KeyName(k), value);
      }
      ASSERT_TRUE(txn->Txn(t).ok());
      model->Apply(writes);
    } else if (Pick(2) == 0 && model->rev() > *compact + 3) {
      etcdserverpb::CompactionRequest req;
      req.set_revision(*compact + 1 + Pick(static_cast<int>((model->rev() - *compact) / 2)));
      ASSERT_TRUE(txn->Compact(req).ok());
      *compact = req.revision();
    }
  }

 private:
  using Writes = std::vector<std::pair<std::string, std::optional<std::string>>>;
  std::string NewValue() { return "v" + std::to_string(++values_); }

  std::mt19937 rng_;
  int values_ = 0;
};

TEST_F(ModelTest, RandomHistoryMatchesModel) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  RandomWriter writer(seed);
  Model model;
  int64_t compact = 0;
  for (int batch = 0; batch < 400; ++batch) {
    auto txn = Begin();
    ASSERT_NE(txn, nullptr);
    const int64_t begin_rev = model.rev();
    int64_t batch_compact = compact;
    for (int op = 0, ops = 1 + writer.Pick(4); op < ops; ++op) {
      ASSERT_NO_FATAL_FAILURE(writer.Step(txn.get(), &model, &batch_compact));
      ASSERT_EQ(txn->Revision(), model.rev());
    }
    if (writer.Pick(8) == 0) {  // abort
      txn.reset();
      model.Truncate(begin_rev);
    } else {
      ASSERT_TRUE(txn->Commit().ok());
      txn.reset();
      compact = batch_compact;
    }
    if (writer.Pick(10) == 0) Reopen();
    if (batch % 10 == 9) {
      ASSERT_NO_FATAL_FAILURE(CheckAll(model, compact));
    }
  }
  ASSERT_NO_FATAL_FAILURE(CheckAll(model, compact));
  Reopen();
  ASSERT_NO_FATAL_FAILURE(CheckAll(model, compact));
}

}  // namespace
}  // namespace etcdd::mvcc
